// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): derives the 256-bit subkey that turns IETF ChaCha20
// into XChaCha20. OpenSSL has no XChaCha20, but it has fast ChaCha20, so we compute this small
// step here (one ChaCha block, about a microsecond) and hand the subkey to node:crypto.

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

function quarterRound(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  // Words in locals, added with `| 0` (wraps modulo 2^32, which is exactly ChaCha's addition);
  // the stores back into the Uint32Array make them unsigned again.
  const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  // The indexes are constants below 16, so the reads never miss.
  let wa = s[a] ?? 0;
  let wb = s[b] ?? 0;
  let wc = s[c] ?? 0;
  let wd = s[d] ?? 0;
  wa = (wa + wb) | 0;
  wd = rotl(wd ^ wa, 16);
  wc = (wc + wd) | 0;
  wb = rotl(wb ^ wc, 12);
  wa = (wa + wb) | 0;
  wd = rotl(wd ^ wa, 8);
  wc = (wc + wd) | 0;
  wb = rotl(wb ^ wc, 7);
  s[a] = wa;
  s[b] = wb;
  s[c] = wc;
  s[d] = wd;
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
  for (const [i, word] of s.subarray(0, 4).entries()) out.writeUInt32LE(word, i * 4);
  for (const [i, word] of s.subarray(12, 16).entries()) out.writeUInt32LE(word, 16 + i * 4);
  s.fill(0);
  return out;
}
