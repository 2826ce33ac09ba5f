// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): derives the 256-bit subkey that turns IETF ChaCha20
// into XChaCha20. OpenSSL has no XChaCha20, but it has fast ChaCha20, so we compute this small
// step here (one ChaCha block, about a microsecond) and hand the subkey to node:crypto.

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

function quarterRound(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  // Uint32Array stores wrap modulo 2^32, which is exactly ChaCha's addition.
  const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  s[a] = (s[a] as number) + (s[b] as number);
  s[d] = rotl((s[d] as number) ^ (s[a] as number), 16);
  s[c] = (s[c] as number) + (s[d] as number);
  s[b] = rotl((s[b] as number) ^ (s[c] as number), 12);
  s[a] = (s[a] as number) + (s[b] as number);
  s[d] = rotl((s[d] as number) ^ (s[a] as number), 8);
  s[c] = (s[c] as number) + (s[d] as number);
  s[b] = rotl((s[b] as number) ^ (s[c] as number), 7);
}

/** Returns the 32-byte HChaCha20 output for a 32-byte key and the first 16 bytes of a nonce. */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Buffer {
  if (key.length !== 32) throw new RangeError('hchacha20: key must be 32 bytes');
  if (nonce16.length < 16) throw new RangeError('hchacha20: nonce must be at least 16 bytes');
  const k = new DataView(key.buffer, key.byteOffset, 32);
  const n = new DataView(nonce16.buffer, nonce16.byteOffset, 16);
  const s = new Uint32Array(16);
  s.set(SIGMA, 0);
  for (let i = 0; i < 8; i++) s[4 + i] = k.getUint32(i * 4, true);
  for (let i = 0; i < 4; i++) s[12 + i] = n.getUint32(i * 4, true);
  for (let round = 0; round < 10; round++) {
    quarterRound(s, 0, 4, 8, 12);
    quarterRound(s, 1, 5, 9, 13);
    quarterRound(s, 2, 6, 10, 14);
    quarterRound(s, 3, 7, 11, 15);
    quarterRound(s, 0, 5, 10, 15);
    quarterRound(s, 1, 6, 11, 12);
    quarterRound(s, 2, 7, 8, 13);
    quarterRound(s, 3, 4, 9, 14);
  }
  // Unlike the ChaCha20 block function, HChaCha20 adds no input: the output is words 0-3, 12-15.
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE(s[i] as number, i * 4);
    out.writeUInt32LE(s[12 + i] as number, 16 + i * 4);
  }
  s.fill(0);
  return out;
}
