// MurmurHash3 x86_128 (Austin Appleby's, public domain) over a string's UTF-16 code units,
// two to a 32-bit block: a fast, well-mixed 128-bit digest for telling strings apart where
// nobody chooses them to collide (custom_ids within one file). Not a cryptographic hash. Pure.

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Writes the 128-bit digest of `s` into out[at..at+4). */
export function murmur128(s: string, out: Uint32Array, at: number, seed = 0): void {
  let h1 = seed;
  let h2 = seed;
  let h3 = seed;
  let h4 = seed;
  const n = s.length;
  // Blocks of 16 bytes: 8 code units.
  const whole = n - (n % 8);
  let i = 0;
  for (; i < whole; i += 8) {
    let k1 = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    let k2 = s.charCodeAt(i + 2) | (s.charCodeAt(i + 3) << 16);
    let k3 = s.charCodeAt(i + 4) | (s.charCodeAt(i + 5) << 16);
    let k4 = s.charCodeAt(i + 6) | (s.charCodeAt(i + 7) << 16);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // The tail: up to 7 code units, into the four lanes in order.
  const tail = [0, 0, 0, 0];
  for (let j = 0; i + j < n; j++) tail[j >> 1]! |= s.charCodeAt(i + j) << ((j & 1) * 16);
  if (n - i > 6) h4 ^= Math.imul(rotl(Math.imul(tail[3]!, C4), 18), C1);
  if (n - i > 4) h3 ^= Math.imul(rotl(Math.imul(tail[2]!, C3), 17), C4);
  if (n - i > 2) h2 ^= Math.imul(rotl(Math.imul(tail[1]!, C2), 16), C3);
  if (n - i > 0) h1 ^= Math.imul(rotl(Math.imul(tail[0]!, C1), 15), C2);
  // Length in bytes, as the reference hashes bytes.
  const len = n * 2;
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[at] = h1 >>> 0;
  out[at + 1] = h2 >>> 0;
  out[at + 2] = h3 >>> 0;
  out[at + 3] = h4 >>> 0;
}
