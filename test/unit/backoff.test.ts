import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelayMs, retryDelayMs } from '../../src/domain/backoff.ts';

const noJitter = () => 0;
const maxJitter = () => 1;

describe('backoffDelayMs', () => {
  it('grows exponentially and caps at maxMs', () => {
    expect([1, 2, 3, 4].map((r) => backoffDelayMs(r, DEFAULT_BACKOFF, noJitter))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelayMs(7, DEFAULT_BACKOFF, noJitter)).toBe(30_000);
    expect(backoffDelayMs(100, DEFAULT_BACKOFF, noJitter)).toBe(30_000);
  });

  it('subtracts up to the jitter fraction', () => {
    expect(backoffDelayMs(2, DEFAULT_BACKOFF, maxJitter)).toBe(500);
    expect(backoffDelayMs(2, DEFAULT_BACKOFF, () => 0.5)).toBe(750);
    expect(backoffDelayMs(2, { ...DEFAULT_BACKOFF, jitter: 0 }, maxJitter)).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelayMs(3);
      expect(d).toBeGreaterThan(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('rejects retry numbers below 1', () => {
    expect(() => backoffDelayMs(0)).toThrow(RangeError);
    expect(() => backoffDelayMs(1.5)).toThrow(RangeError);
  });
});

describe('retryDelayMs', () => {
  it("honours the provider's retry-after, plus up to 10%", () => {
    expect(retryDelayMs(1, 20_000, DEFAULT_BACKOFF, noJitter)).toBe(20_000);
    expect(retryDelayMs(1, 20_000, DEFAULT_BACKOFF, maxJitter)).toBeCloseTo(22_000, 9);
    // longer than the backoff cap when the provider asks for it
    expect(retryDelayMs(9, 120_000, DEFAULT_BACKOFF, noJitter)).toBe(120_000);
  });

  it('falls back to backoff without a usable retry-after', () => {
    expect(retryDelayMs(3, undefined, DEFAULT_BACKOFF, noJitter)).toBe(2000);
    expect(retryDelayMs(3, Number.NaN, DEFAULT_BACKOFF, noJitter)).toBe(2000);
  });
});
