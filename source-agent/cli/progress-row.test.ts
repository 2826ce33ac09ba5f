// The progress renderer's text and the console's handling of an open row, byte for byte.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleOutput } from './console-output.js';
import { AppendedBar, clock, displayWidth, LiveRow, rowText } from './progress-row.js';
import { SendOutput } from './send-output.js';

const MiB = 1024 * 1024;
const spec = { label: 'appvms/work.img', total: 100, totalBytes: 100 * MiB };

describe('rowText', () => {
  it('shows MB, percentage, rate, ETA and the name', () => {
    assert.equal(
      rowText(spec, { done: 25, bytes: 12.34 * MiB, elapsedSeconds: 2 }, 80),
      '     12.3MB |  25%   13 MB/s  ETA 0:06 | appvms/work.img',
    );
  });

  it('has no rate or ETA before the first unit is done', () => {
    assert.equal(rowText(spec, { done: 0, bytes: 0, elapsedSeconds: 0.5 }, 80), '      0.0MB |   0%    - MB/s  ETA -:-- | appvms/work.img');
  });

  it('cuts the name from the left to stay inside the window', () => {
    const row = rowText({ ...spec, label: `vm/${'x'.repeat(60)}-end.img` }, { done: 1, bytes: 0, elapsedSeconds: 1 }, 60);
    assert.equal(displayWidth(row), 59);
    assert.match(row, /\| …x+-end\.img$/);
  });

  it('counts wide characters as two columns', () => {
    const row = rowText({ ...spec, label: '日本語'.repeat(20) }, { done: 1, bytes: 0, elapsedSeconds: 1 }, 60);
    assert.ok(displayWidth(row) <= 59, row);
    assert.equal(displayWidth('日本'), 4);
  });

  it('cuts the whole row in a very narrow window', () => {
    assert.equal(displayWidth(rowText(spec, { done: 1, bytes: 0, elapsedSeconds: 1 }, 20)), 19);
  });

  it('clock: m:ss and h:mm:ss', () => {
    assert.equal(clock(7), '0:07');
    assert.equal(clock(754), '12:34');
    assert.equal(clock(3723), '1:02:03');
  });
});

describe('LiveRow', () => {
  it('redraws after "\\r" + ESC[K at most every 100 ms; the finished row replaces it', () => {
    let now = 0;
    let written = '';
    const row = new LiveRow({ write: (t) => (written += t), columns: 80 }, spec, () => now);
    now = 50;
    row.update(10); // too soon: not drawn
    now = 150;
    row.update(20);
    row.finish('     20.0MB |  1s | appvms/work.img');
    assert.equal(
      written,
      '\r\x1b[K      0.0MB |   0%    - MB/s  ETA -:-- | appvms/work.img' +
        '\r\x1b[K     20.0MB |  20%  133 MB/s  ETA 0:01 | appvms/work.img' +
        '\r\x1b[K     20.0MB |  1s | appvms/work.img\n',
    );
  });
});

describe('AppendedBar (Wyng, unattended)', () => {
  it('one "|" per 5 %, filled and closed at the end', () => {
    let written = '';
    const bar = new AppendedBar((t) => (written += t), 40, '  [');
    bar.update(10);
    bar.update(20);
    bar.finish(']  100%  1.0MB \n');
    assert.equal(written, `  [${'|'.repeat(10)}${'|'.repeat(10)}]  100%  1.0MB \n`);
  });
});

describe('ConsoleOutput', () => {
  function console(interactive: boolean) {
    const written = { out: '', err: '' };
    const stream = (key: 'out' | 'err') =>
      ({
        write: (text: string) => {
          written[key] += text;
          return true;
        },
      }) as unknown as NodeJS.WritableStream;
    const c = new ConsoleOutput({ stdout: stream('out'), stderr: stream('err'), interactive, verbose: false, quiet: false });
    return { c, text: () => written };
  }

  it('unattended: Wyng\'s "[||||] 100% : OK " and a line end when it stops early', () => {
    const { c, text } = console(false);
    const p = c.progress({ label: 'v', total: 4, totalBytes: 4 });
    p.update(2);
    p.end(': OK ');
    const q = c.progress({ label: 'v', total: 4, totalBytes: 4 });
    q.update(1);
    c.close();
    assert.equal(text().out, `[${'|'.repeat(20)}] 100% : OK \n[|||||\n`);
  });

  it('a terminal: a warning takes the row off the screen and draws it again', () => {
    const { c, text } = console(true);
    c.progress({ label: 'v', total: 4, totalBytes: 4 });
    c.warn('Skipping corrupt chunk at 0');
    assert.equal(text().err, 'Skipping corrupt chunk at 0\n');
    const draws = text().out.split('\r\x1b[K');
    assert.deepEqual(
      draws.slice(1).map((d) => d.endsWith('| v')),
      [true, false, true],
      text().out,
    );
    assert.equal(draws[2], '', 'the row is cleared before the warning');
  });

  it('a terminal: the end of a command clears an open row, so the next message starts its own line', () => {
    const { c, text } = console(true);
    c.progress({ label: 'v', total: 4, totalBytes: 4 }).update(1);
    c.close();
    assert.ok(text().out.endsWith('\r\x1b[K'), JSON.stringify(text().out));
  });
});

describe('SendOutput', () => {
  function sendConsole(interactive: boolean) {
    const written = { out: '', err: '' };
    const stream = (key: 'out' | 'err') =>
      ({
        write: (text: string) => {
          written[key] += text;
          return true;
        },
        columns: 100,
      }) as unknown as NodeJS.WritableStream;
    const c = new ConsoleOutput({ stdout: stream('out'), stderr: stream('err'), interactive, verbose: false, quiet: false });
    return { display: new SendOutput(c, performance.now()), written };
  }
  const report = { name: 'vol.img', outcome: 'sent' as const, sizeBytes: 12 * MiB, storedBytes: 12 * MiB, seconds: 0.4 };

  it("unattended: Wyng's lines, byte for byte", () => {
    const { display, written } = sendConsole(false);
    display.sending('20261128-153857', false, ['vol.img']);
    display.volumeStart('vol.img', 4, 4 * MiB).update(2, MiB);
    display.volumeEnd(report);
    display.volumeEnd({ ...report, name: 'other.img', outcome: 'unchanged', storedBytes: 0 });
    assert.match(
      written.out,
      /^\nSending backup session 20261128-153857:\n—{50}\nVolume 'vol\.img'\n {2}\[\|{20}\] {2}100% {2}12\.0MB \nVolume 'other\.img'\n {2}no change\n$/,
    );
  });

  it('a terminal: the live row is replaced by the table row', () => {
    const { display, written } = sendConsole(true);
    display.sending('20261128-153857', false, ['vol.img']);
    display.volumeStart('vol.img', 4, 4 * MiB);
    display.volumeEnd(report);
    assert.ok(written.out.endsWith('\r\x1b[K     12.0MB |  1s | vol.img\n'), JSON.stringify(written.out));
  });
});
