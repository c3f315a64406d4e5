import { describe, expect, it } from 'vitest';
import { IdFollower } from '../../src/domain/id-follower.ts';

describe('IdFollower', () => {
  it('moves past ids seen in order, in any order within a read', () => {
    const f = new IdFollower({ gapWaitMs: 1000 });
    expect(f.after).toBe(0);
    f.saw([3, 1, 2], 0);
    expect(f.after).toBe(3);
    expect(f.has(2)).toBe(true);
    expect(f.has(4)).toBe(false);
    f.saw([], 5);
    expect(f.after).toBe(3);
  });

  it('waits for an id committed late, then takes it in without skipping it', () => {
    const f = new IdFollower({ gapWaitMs: 1000 });
    f.saw([1, 2, 4, 5], 0);
    // 3 was taken before 4 but is not visible yet: reads go on from 2, 4 and 5 are known.
    expect(f.after).toBe(2);
    expect(f.waitingFor).toEqual([[3, 3]]);
    expect([f.has(4), f.has(5), f.has(3)]).toEqual([true, true, false]);
    f.saw([4, 5, 6], 500);
    expect(f.after).toBe(2);
    f.saw([3, 4, 5, 6], 600);
    expect(f.after).toBe(6);
    expect(f.waitingFor).toEqual([]);
  });

  it('gives a missing id up after the wait, counted from when it was first noticed', () => {
    const f = new IdFollower({ gapWaitMs: 1000 });
    f.saw([1, 3], 0);
    f.saw([3, 5], 600);
    expect(f.waitingFor).toEqual([[2, 2], [4, 4]]);
    f.saw([], 999);
    expect(f.after).toBe(1);
    // 2 waited since 0: given up at 1000; 4 (noticed at 600) still open.
    f.saw([], 1000);
    expect(f.after).toBe(3);
    expect(f.waitingFor).toEqual([[4, 4]]);
    f.saw([], 1600);
    expect(f.after).toBe(5);
  });

  it('keeps the first-noticed time when a wide gap is split by ids arriving inside it', () => {
    const f = new IdFollower({ gapWaitMs: 1000 });
    f.saw([1, 10], 0);
    expect(f.waitingFor).toEqual([[2, 9]]);
    f.saw([5], 900);
    expect(f.waitingFor).toEqual([[2, 4], [6, 9]]);
    f.saw([], 1000);
    expect(f.after).toBe(10);
    expect(f.waitingFor).toEqual([]);
  });

  it('starts after a given id and ignores ids at or below it', () => {
    const f = new IdFollower({ gapWaitMs: 1000, after: 100 });
    f.saw([50, 101], 0);
    expect(f.after).toBe(101);
    expect(f.has(50)).toBe(true);
  });
});
