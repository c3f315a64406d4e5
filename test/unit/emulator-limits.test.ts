import { describe, expect, it } from 'vitest';
import { Bucket, RateLimits, UNLIMITED } from '../../src/emulator/limits.ts';
import { formatGoDuration, parseGoDuration } from '../../src/domain/go-duration.ts';
import { parseOutage, resolveOptions } from '../../src/emulator/options.ts';

function clock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('formatGoDuration', () => {
  it.each([
    [0, '0s'],
    [6, '6ms'],
    [1.5, '1.5ms'],
    [0.002, '2µs'],
    [0.000_5, '500ns'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1204, '1.204s'],
    [60_000, '1m0s'],
    [150_500, '2m30.5s'],
    [3_600_000, '1h0m0s'],
    [3_723_000, '1h2m3s'],
    [-1500, '-1.5s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['6ms', 6],
    ['1.5s', 1500],
    ['1m0s', 60_000],
    ['2m30.5s', 150_500],
    ['1h0m0s', 3_600_000],
    ['500ns', 0.0005],
    ['2us', 0.002],
    ['2µs', 0.002],
    ['.5s', 500],
    ['-1.5s', -1500],
  ])('%s → %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', 's', '1', '1x', '1.5', 'ms', '1s2', 'abc', '1 s'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });

  it('round-trips what formatGoDuration produces', () => {
    for (const ms of [1, 17, 999, 1001, 8640, 59_999, 60_001, 86_400_000, 123_456_789]) {
      expect(parseGoDuration(formatGoDuration(ms))).toBeCloseTo(ms, 6);
    }
  });
});

describe('Bucket', () => {
  it('starts full and refills continuously at limit/60000 per ms, capped at the limit', () => {
    const c = clock();
    const b = new Bucket(600, c.now()); // 0.01 per ms
    expect(b.available(c.now())).toBe(600);
    b.take(600, c.now());
    expect(b.available(c.now())).toBe(0);
    c.advance(1000);
    expect(b.available(c.now())).toBeCloseTo(10, 9);
    expect(b.msUntil(20, c.now())).toBeCloseTo(1000, 6);
    expect(b.msUntilFull(c.now())).toBeCloseTo(59_000, 6);
    c.advance(120_000);
    expect(b.available(c.now())).toBe(600);
    expect(b.msUntilFull(c.now())).toBe(0);
  });

  it('cannot ever grant more than its capacity', () => {
    const b = new Bucket(100, 0);
    expect(b.msUntil(101, 0)).toBe(Infinity);
  });

  it('treats undefined and 0 as unlimited', () => {
    for (const limit of [undefined, 0]) {
      const b = new Bucket(limit, 0);
      expect(b.unlimited).toBe(true);
      expect(b.limit).toBe(UNLIMITED);
      b.take(1e12, 0);
      expect(b.msUntil(1e12, 0)).toBe(0);
      expect(b.remaining(0)).toBe(UNLIMITED);
    }
  });
});

describe('RateLimits', () => {
  it('admits until the request bucket is empty, then reports the exact wait and charges nothing', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 3, tpm: 1000 }, c.now);
    expect(l.admit(100)).toEqual({ ok: true });
    expect(l.admit(100)).toEqual({ ok: true });
    expect(l.admit(100)).toEqual({ ok: true });
    const r = l.admit(100);
    expect(r).toMatchObject({ ok: false, kind: 'requests', limit: 3, used: 3, requested: 1 });
    if (!r.ok) expect(r.retryAfterMs).toBeCloseTo(20_000, 6); // 1 request at 3/min
    expect(l.tokens.available(c.now())).toBe(700); // the rejected call took no tokens
    c.advance(20_000);
    expect(l.admit(100).ok).toBe(true);
  });

  it('reports tokens when the token bucket is the one short', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 1000, tpm: 6000 }, c.now); // 0.1 token per ms
    expect(l.admit(5000).ok).toBe(true);
    const r = l.admit(2000);
    expect(r).toMatchObject({ ok: false, kind: 'tokens', limit: 6000, used: 5000, requested: 2000 });
    if (!r.ok) expect(r.retryAfterMs).toBeCloseTo(10_000, 6); // needs 1000 more tokens
    expect(l.requests.available(c.now())).toBe(999);
  });

  it('says a request larger than the whole limit can never pass', () => {
    const l = new RateLimits({ tpm: 1000 }, () => 0);
    const r = l.admit(1001);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.retryAfterMs).toBe(Infinity);
  });

  it('formats headers with remaining counts and Go-duration resets', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 60, tpm: 60_000 }, c.now); // 1 req/s, 1000 tokens/s
    l.admit(1500);
    expect(l.headers()).toEqual({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-limit-tokens': '60000',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-remaining-tokens': '58500',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '1.5s',
    });
    c.advance(500);
    expect(l.headers()['x-ratelimit-reset-tokens']).toBe('1s');
    expect(l.headers()['x-ratelimit-reset-requests']).toBe('500ms');
  });

  it('reports unlimited limits as 100000000 with nothing to wait for', () => {
    const l = new RateLimits({}, () => 0);
    l.admit(5000);
    expect(l.headers()).toMatchObject({
      'x-ratelimit-limit-requests': '100000000',
      'x-ratelimit-remaining-tokens': '100000000',
      'x-ratelimit-reset-tokens': '0s',
    });
  });
});

describe('emulator options', () => {
  it('parses START:DURATION outages', () => {
    expect(parseOutage('30s:20s')).toEqual({ startMs: 30_000, durationMs: 20_000 });
    expect(parseOutage('1m:5s')).toEqual({ startMs: 60_000, durationMs: 5000 });
    expect(parseOutage('5000:2000')).toEqual({ startMs: 5000, durationMs: 2000 });
    expect(parseOutage('1m30s:500ms')).toEqual({ startMs: 90_000, durationMs: 500 });
    for (const bad of ['30s', '30s:0', 'x:1s', '1s:2s:3s', ':5s']) expect(() => parseOutage(bad)).toThrow(/START:DURATION/);
  });

  it('fills defaults and rejects bad values with the field named', () => {
    expect(resolveOptions({ rpm: 10 })).toMatchObject({ host: '127.0.0.1', port: 0, rpm: 10, errorRate: 0, outages: [] });
    expect(() => resolveOptions({ errorRate: 1.5 })).toThrow(/errorRate/);
    expect(() => resolveOptions({ errorRate: 0.6, hangRate: 0.6 })).toThrow(/must not exceed 1/);
    expect(() => resolveOptions({ bogus: 1 } as never)).toThrow(/bogus|Unrecognized/);
  });
});
