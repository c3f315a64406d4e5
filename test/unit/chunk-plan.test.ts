import { describe, expect, it } from 'vitest';
import { chunkCount, chunkRange, planChunks } from '../../src/domain/chunk-plan.ts';

describe('chunk plan', () => {
  it('covers every seq exactly once, the last chunk short', () => {
    const plan = planChunks(10, 4);
    expect(plan).toEqual([
      { index: 0, seqStart: 0, seqEnd: 4 },
      { index: 1, seqStart: 4, seqEnd: 8 },
      { index: 2, seqStart: 8, seqEnd: 10 },
    ]);
    expect(chunkCount(10, 4)).toBe(3);
    expect(chunkCount(12, 4)).toBe(3);
    expect(planChunks(0, 4)).toEqual([]);
  });

  it('computes one range of a huge run in O(1)', () => {
    expect(chunkRange(999, 1_000_000, 1000)).toEqual({ index: 999, seqStart: 999_000, seqEnd: 1_000_000 });
    expect(chunkCount(1_000_001, 1000)).toBe(1001);
    expect(chunkRange(1000, 1_000_001, 1000)).toEqual({ index: 1000, seqStart: 1_000_000, seqEnd: 1_000_001 });
  });

  it('rejects bad sizes and indexes', () => {
    expect(() => chunkCount(10, 0)).toThrow(/chunkSize/);
    expect(() => chunkCount(10, 2.5)).toThrow(/chunkSize/);
    expect(() => chunkCount(-1, 2)).toThrow(/total/);
    expect(() => chunkCount(1.5, 2)).toThrow(/total/);
    expect(() => chunkRange(3, 10, 4)).toThrow(/out of range/);
    expect(() => chunkRange(-1, 10, 4)).toThrow(/out of range/);
    expect(() => chunkRange(0.5, 10, 4)).toThrow(/out of range/);
  });
});
