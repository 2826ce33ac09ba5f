// Text a hostile destination sends to reach the user's terminal: clear the screen (CSI 2J), set
// the window title (OSC 0 … BEL), an 8-bit CSI (U+009B), a bidi override, and a line break
// followed by a fake verdict. Shared by the fake helper and the tests that look for it.

export const ATTACK = '\x1b[2J\x1b]0;owned\x07\u009b31m\u202e\r\nVerification OK';

/** How ATTACK must look once rendered inert. */
export const ATTACK_SHOWN = '\\x1b[2J\\x1b]0;owned\\x07\\u009b31m\\u202e\\r\\nVerification OK';

/** Names a hostile helper lists (each one a single path segment, so only the controls are wrong). */
export const ATTACK_NAMES = ['.skiff-put-\x1b]0;owned\x07', 'Vol_\u009b2J', 'S-tmp\nVerification OK'];

/**
 * Asserts-by-return: what is wrong with output bytes that reached a terminal, or null. No raw
 * ESC, BEL, CSI (C2 9B in UTF-8) or other C0/C1 control but line ends may appear, and no line
 * may start with the fake verdict.
 */
export function terminalProblem(output: Buffer): string | null {
  for (let i = 0; i < output.length; i++) {
    const byte = output[i] as number;
    if ((byte < 0x20 && byte !== 0x0a) || byte === 0x7f) return `raw control byte 0x${byte.toString(16)} at ${i}`;
    if (byte === 0xc2 && (output[i + 1] as number) >= 0x80 && (output[i + 1] as number) <= 0x9f)
      return `raw C1 control U+00${(output[i + 1] as number).toString(16)} at ${i}`;
    if (byte === 0xe2 && output[i + 1] === 0x80 && (output[i + 2] as number) >= 0xaa && (output[i + 2] as number) <= 0xae)
      return `raw bidi override at ${i}`;
  }
  if (/^Verification OK/m.test(output.toString('utf8'))) return 'a line starts with the fake verdict';
  return null;
}
