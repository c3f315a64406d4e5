// The semantic cache's in-memory index: exact below its switch-over, usearch's HNSW graph
// above it, built in the background while searches go on. Checked against a plain
// JavaScript scan. (Timings: bench/semantic-index.ts.)
import { describe, expect, it } from 'vitest';
import { embedVector } from '../../src/emulator/embeddings.ts';
import { VectorIndex, unitVector, type Neighbour } from '../../src/cache/vector-index.ts';

const DIMS = 256;
const text = (i: number): string => `ticket ${i}: the ${['mobile app', 'dashboard', 'invoice export', 'api'][i % 4]} is ${['slow', 'blank', 'broken'][i % 3]} for team ${i % 17} since release ${i % 29}`;
const vec = (i: number): Float32Array => embedVector('text-embedding-3-small', text(i), DIMS);

/** The reference: every stored vector's cosine similarity, best first. */
function reference(stored: Map<number, Float32Array>, query: Float32Array, k: number): Neighbour[] {
  const q = unitVector(query);
  const all = [...stored].map(([key, v]) => {
    const u = unitVector(v);
    let dot = 0;
    for (let i = 0; i < DIMS; i++) dot += u[i]! * q[i]!;
    return { key, similarity: dot };
  });
  return all.sort((a, b) => b.similarity - a.similarity).slice(0, k);
}

describe('vector index', () => {
  it('below the switch-over, scans exactly: the same neighbours and similarities as a plain scan', () => {
    const index = new VectorIndex(DIMS, { exactScanBelow: 1000 });
    const stored = new Map<number, Float32Array>();
    for (let i = 0; i < 300; i++) {
      // Keys need not be dense or ordered.
      const key = 1000 + i * 7;
      stored.set(key, vec(i));
      index.add(key, vec(i));
    }
    expect(index.size).toBe(300);
    expect(index.inGraph).toBe(0);
    for (const q of [0, 5, 123, 299, 555]) {
      const got = index.search(vec(q), 5);
      const want = reference(stored, vec(q), 5);
      expect(got.map((n) => n.key)).toEqual(want.map((n) => n.key));
      for (let i = 0; i < 5; i++) expect(got[i]!.similarity).toBeCloseTo(want[i]!.similarity, 4);
    }
    // A stored vector finds itself first, at similarity 1.
    expect(index.search(vec(42), 1)).toEqual([{ key: 1000 + 42 * 7, similarity: expect.closeTo(1, 5) }]);
    expect(new VectorIndex(DIMS).search(vec(1), 5)).toEqual([]);
    expect(index.search(vec(1), 0)).toEqual([]);
  });

  it('past the switch-over, moves vectors into the HNSW graph in the background and keeps answering meanwhile', async () => {
    const index = new VectorIndex(DIMS, { exactScanBelow: 64 });
    const stored = new Map<number, Float32Array>();
    for (let i = 0; i < 600; i++) {
      stored.set(i, vec(i));
      index.add(i, vec(i));
    }
    // Nothing has moved yet (the move yields to the event loop), and searches are exact.
    expect(index.inGraph).toBeLessThan(600);
    expect(index.search(vec(7), 3).map((n) => n.key)).toEqual(reference(stored, vec(7), 3).map((n) => n.key));
    // Half-way, a search merges graph and tail.
    while (index.inGraph < 200) await new Promise((r) => setImmediate(r));
    expect(index.search(vec(450), 1)[0]!.key).toBe(450);
    expect(index.search(vec(3), 1)[0]!.key).toBe(3);
    await index.settled();
    expect(index.inGraph).toBe(600);
    expect(index.size).toBe(600);
    // HNSW is approximate: nearly all true neighbours, each stored vector still first for itself.
    let agree = 0;
    for (let q = 0; q < 600; q += 7) {
      const got = index.search(vec(q), 5);
      expect(got[0]).toEqual({ key: q, similarity: expect.closeTo(1, 4) });
      const want = new Set(reference(stored, vec(q), 5).map((n) => n.key));
      agree += got.filter((n) => want.has(n.key)).length;
      for (let i = 1; i < got.length; i++) expect(got[i]!.similarity).toBeLessThanOrEqual(got[i - 1]!.similarity);
    }
    expect(agree / (5 * Math.ceil(600 / 7))).toBeGreaterThan(0.95);
    // New vectors land in the tail, are found at once, and move in later.
    index.add(10_000, vec(10_000));
    expect(index.search(vec(10_000), 1)[0]!.key).toBe(10_000);
    await index.settled();
    expect(index.inGraph).toBe(601);
    expect(index.search(vec(10_000), 1)[0]!.key).toBe(10_000);
  });

  it('refuses a vector of the wrong size', () => {
    expect(() => new VectorIndex(DIMS).add(1, new Float32Array(DIMS + 1))).toThrow(/257 dimensions in an index of 256/);
  });
});
