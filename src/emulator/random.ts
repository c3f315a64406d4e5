// Deterministic randomness for the emulator: a small fast PRNG (sfc32) seeded from a
// number or from a sha256 digest, so content and fault decisions are reproducible.
import { createHash } from 'node:crypto';

export type Rng = () => number;

/** sfc32: four 32-bit words of state, uniform floats in [0, 1). */
export function sfc32(a: number, b: number, c: number, d: number): Rng {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** A PRNG from an integer seed (warmed up so nearby seeds diverge). */
export function rngFromSeed(seed: number): Rng {
  const rng = sfc32(0x9e3779b9, 0x243f6a88, 0xb7e15162, seed | 0);
  for (let i = 0; i < 15; i++) rng();
  return rng;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A PRNG seeded from the first 16 bytes of a digest. */
export function rngFromDigest(digest: Buffer): Rng {
  return sfc32(digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12));
}
