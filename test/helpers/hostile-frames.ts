// Hand-made frames a hostile helper sends, shared by the fake helper process (hostile-helper.ts,
// which runs on import, so tests must not import it) and the hostile table (test/hostile/rows.ts).

/** A reply frame whose map has a `__proto__` key: {"__proto__": {"ok": true}, "id": id}, hand-encoded (our encoder refuses it). */
export function protoKeyFrame(id: number): Buffer {
  const body = Buffer.concat([
    Buffer.from([0x82, 0xa9]),
    Buffer.from('__proto__'),
    Buffer.from([0x81, 0xa2]),
    Buffer.from('ok'),
    Buffer.from([0xc3, 0xa2]),
    Buffer.from('id'),
    Buffer.from([0xcd, (id >> 8) & 0xff, id & 0xff]),
  ]);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}
