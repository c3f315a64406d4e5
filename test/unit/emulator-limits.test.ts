import { describe, expect, it } from 'vitest';
import { Bucket, RateLimits, UNLIMITED } from '../../src/emulator/limits.ts';
import { formatGoDuration, parseGoDuration } from '../../src/domain/go-duration.ts';
import { parseLimitWindow, parseOutage, resolveOptions } from '../../src/emulator/options.ts';
import { emulatorOptionsFromCli } from '../../src/cli/emulator.ts';

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
  it('with a 60 s window (the old behaviour): starts full with a minute of capacity, refills at limit/60000 per ms, capped', () => {
    const c = clock();
    const b = new Bucket(600, c.now(), 60_000); // 0.01 per ms
    expect(b.capacity).toBe(600);
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

  it('defaults to the 60 s window when constructed without one', () => {
    expect(new Bucket(600, 0).capacity).toBe(600);
  });

  it.each([
    [1000, 600, 10],
    [500, 600, 5],
    [100, 60_000, 100],
    [1, 60_000, 1],
    [60_000, 600, 600],
    [1000, 2, 2 / 60],
  ])('a %d ms window holds limit × window / 60 s (%d/min → %d)', (windowMs, limit, capacity) => {
    const b = new Bucket(limit, 0, windowMs);
    expect(b.limit).toBe(limit);
    expect(b.capacity).toBeCloseTo(capacity, 12);
    expect(b.available(0)).toBeCloseTo(capacity, 12); // starts full
  });

  it('carries nothing over beyond the window after idling, and refills at the per-minute rate', () => {
    const c = clock();
    const b = new Bucket(600, c.now(), 1000); // 10 per 1 s window, 0.01 per ms
    b.take(10, c.now());
    expect(b.available(c.now())).toBe(0);
    c.advance(500);
    expect(b.available(c.now())).toBeCloseTo(5, 9);
    c.advance(10 * 60_000); // ten idle minutes
    expect(b.available(c.now())).toBe(10);
    expect(b.msUntil(10, c.now())).toBe(0);
    b.take(10, c.now());
    expect(b.msUntil(1, c.now())).toBeCloseTo(100, 6);
  });

  it('admits an amount above the window capacity (within the per-minute limit) once full, leaving debt', () => {
    const c = clock();
    const b = new Bucket(60_000, c.now(), 1000); // 1000 per window, 1 per ms
    expect(b.msUntil(5000, c.now())).toBe(0); // full: oversize passes
    b.take(5000, c.now());
    expect(b.available(c.now())).toBe(-4000);
    expect(b.remaining(c.now())).toBe(0);
    // The next oversize request waits until the bucket is full again: 5000 ms of refill.
    expect(b.msUntil(5000, c.now())).toBeCloseTo(5000, 6);
    expect(b.msUntil(3000, c.now())).toBeCloseTo(5000, 6); // capped at "full", not at 3000 tokens
    expect(b.msUntil(500, c.now())).toBeCloseTo(4500, 6);
    expect(b.msUntilFull(c.now())).toBeCloseTo(5000, 6);
    c.advance(5000);
    expect(b.msUntil(60_000, c.now())).toBe(0); // exactly the per-minute limit still passes
    expect(b.msUntil(60_001, c.now())).toBe(Infinity); // above it never does
  });

  it('cannot ever grant more than the per-minute limit', () => {
    expect(new Bucket(100, 0).msUntil(101, 0)).toBe(Infinity);
    expect(new Bucket(100, 0, 1000).msUntil(101, 0)).toBe(Infinity);
  });

  it('rejects a window outside 1 ms..60 s', () => {
    for (const w of [0, -1, 60_001, Number.NaN]) expect(() => new Bucket(10, 0, w)).toThrow(/1ms\.\.60s/);
  });

  it('treats undefined and 0 as unlimited', () => {
    for (const limit of [undefined, 0]) {
      const b = new Bucket(limit, 0, 1000);
      expect(b.unlimited).toBe(true);
      expect(b.limit).toBe(UNLIMITED);
      b.take(1e12, 0);
      expect(b.msUntil(1e12, 0)).toBe(0);
      expect(b.remaining(0)).toBe(UNLIMITED);
    }
  });
});

describe('RateLimits', () => {
  it('defaults to a 1 s window', () => {
    const l = new RateLimits({ rpm: 600, tpm: 60_000 }, () => 0);
    expect(l.windowMs).toBe(1000);
    expect(l.requests.capacity).toBe(10);
    expect(l.tokens.capacity).toBe(1000);
  });

  it('60 s window: admits a minute of requests, then reports the exact wait; the rejected call takes a request, no tokens', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 3, tpm: 1000, limitWindowMs: 60_000 }, c.now);
    expect(l.admit(100)).toEqual({ ok: true });
    expect(l.admit(100)).toEqual({ ok: true });
    expect(l.admit(100)).toEqual({ ok: true });
    const r = l.admit(100);
    expect(r).toMatchObject({ ok: false, kind: 'requests', limit: 3, used: 3, requested: 1 });
    // The rejection took a request: level -1, so 2 requests of refill at 3/min = 40 s.
    if (!r.ok) expect(r.retryAfterMs).toBeCloseTo(40_000, 6);
    expect(l.requests.available(c.now())).toBe(-1);
    expect(l.tokens.available(c.now())).toBe(700); // the rejected call took no tokens
    c.advance(20_000);
    expect(l.admit(100).ok).toBe(false); // the old, uncharged wait is no longer enough
    c.advance(40_000); // that rejection pushed the bucket to -1 again: 40 s more
    expect(l.admit(100).ok).toBe(true);
  });

  it('1 s window at 600 rpm: 10 immediate calls pass, the 11th is rejected with the exact wait after its charge', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 600 }, c.now); // 10 per window, one every 100 ms
    for (let i = 0; i < 10; i++) expect(l.admit(0).ok).toBe(true);
    const r = l.admit(0);
    expect(r).toMatchObject({ ok: false, kind: 'requests', limit: 600, used: 10, requested: 1 });
    if (!r.ok) expect(r.retryAfterMs).toBeCloseTo(200, 6); // level -1 → 1 needs 2 requests at 0.01/ms
    c.advance(199);
    expect(l.requests.msUntil(1, c.now())).toBeCloseTo(1, 6);
    c.advance(1);
    expect(l.admit(0).ok).toBe(true);
  });

  it('keeps charging rejected calls with no floor, so a client hammering through 429s waits longer', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 600 }, c.now);
    for (let i = 0; i < 10; i++) l.admit(0);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = l.admit(0);
      expect(r.ok).toBe(false);
      if (!r.ok) waits.push(r.retryAfterMs);
    }
    expect(l.requests.available(c.now())).toBe(-5);
    waits.forEach((w, i) => expect(w).toBeCloseTo(200 + 100 * i, 6));
  });

  it('reports tokens when the token bucket is the one short, and charges the rejected call one request only', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 1000, tpm: 6000, limitWindowMs: 60_000 }, c.now); // 0.1 token per ms
    expect(l.admit(5000).ok).toBe(true);
    const r = l.admit(2000);
    expect(r).toMatchObject({ ok: false, kind: 'tokens', limit: 6000, used: 5000, requested: 2000 });
    if (!r.ok) expect(r.retryAfterMs).toBeCloseTo(10_000, 6); // needs 1000 more tokens
    expect(l.requests.available(c.now())).toBe(998); // the admitted call and the rejected one
    expect(l.tokens.available(c.now())).toBe(1000);
  });

  it('retry-after covers the request bucket too when the rejection drains it', () => {
    const c = clock();
    // 1 s window: 1 request, 1000 tokens; the token rejection's own request charge then binds.
    const l = new RateLimits({ rpm: 60, tpm: 60_000 }, c.now);
    expect(l.admit(900).ok).toBe(true); // requests 0, tokens 100
    c.advance(1000); // requests 1, tokens 1000 (full)
    expect(l.admit(500).ok).toBe(true); // requests 0, tokens 500
    c.advance(100); // requests 0.1, tokens 600
    const r = l.admit(700);
    expect(r).toMatchObject({ ok: false, kind: 'requests' }); // 900 ms for a request vs 100 ms for tokens
    // After the charge the request bucket is at -0.9: 1.9 requests at 1/s.
    if (!r.ok) expect(r.retryAfterMs).toBeCloseTo(1900, 6);
    c.advance(1900);
    expect(l.admit(700).ok).toBe(true);
  });

  it('admits a request above the window’s tokens once the bucket is full, and never one above the TPM', () => {
    const c = clock();
    const l = new RateLimits({ tpm: 6000 }, c.now); // 1 s window: 100 tokens, 0.1 per ms
    expect(l.admit(1500)).toEqual({ ok: true }); // oversize, bucket full: debt of 1400
    expect(l.tokens.available(c.now())).toBe(-1400);
    const r = l.admit(1500);
    expect(r).toMatchObject({ ok: false, kind: 'tokens', limit: 6000, used: 1500, requested: 1500 });
    if (!r.ok) expect(r.retryAfterMs).toBeCloseTo(15_000, 6); // until full again
    c.advance(15_000);
    expect(l.admit(1500)).toEqual({ ok: true });

    const tooBig = l.admit(6001);
    expect(tooBig.ok).toBe(false);
    if (!tooBig.ok) expect(tooBig.retryAfterMs).toBe(Infinity);
  });

  it('says a request larger than the whole per-minute limit can never pass, and still charges it a request', () => {
    for (const limitWindowMs of [1000, 60_000]) {
      const l = new RateLimits({ rpm: 60, tpm: 1000, limitWindowMs }, () => 0);
      const r = l.admit(1001);
      expect(r).toMatchObject({ ok: false, kind: 'tokens', requested: 1001 });
      if (!r.ok) expect(r.retryAfterMs).toBe(Infinity);
      expect(l.requests.available(0)).toBe(limitWindowMs === 1000 ? 0 : 59);
      expect(l.tokens.available(0)).toBe(limitWindowMs === 1000 ? 1000 / 60 : 1000);
    }
  });

  it('60 s window: headers with remaining counts and Go-duration resets of the minute bucket', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 60, tpm: 60_000, limitWindowMs: 60_000 }, c.now); // 1 req/s, 1000 tokens/s
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

  it('1 s window: headers keep the per-minute limits and report remaining and reset of the enforced bucket', () => {
    const c = clock();
    const l = new RateLimits({ rpm: 600, tpm: 60_000 }, c.now); // 10 requests, 1000 tokens per window
    l.admit(250);
    expect(l.headers()).toEqual({
      'x-ratelimit-limit-requests': '600',
      'x-ratelimit-limit-tokens': '60000',
      'x-ratelimit-remaining-requests': '9',
      'x-ratelimit-remaining-tokens': '750',
      'x-ratelimit-reset-requests': '100ms',
      'x-ratelimit-reset-tokens': '250ms',
    });
    c.advance(50);
    expect(l.headers()).toMatchObject({ 'x-ratelimit-remaining-requests': '9', 'x-ratelimit-reset-requests': '50ms', 'x-ratelimit-remaining-tokens': '800' });
    // In debt (oversize admission), remaining says 0 and reset counts the whole way back to full.
    c.advance(10_000);
    l.admit(3000);
    expect(l.headers()).toMatchObject({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '3s' });
    // Rejected calls drive the request bucket below 0; remaining stays 0, reset grows.
    for (let i = 0; i < 9; i++) expect(l.admit(0).ok).toBe(false); // tokens in debt; each rejection costs a request
    expect(l.headers()).toMatchObject({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' });
    l.admit(0);
    expect(l.headers()).toMatchObject({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1.1s' });
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

  it('defaults the limit window to 1 s and validates it in patches', () => {
    expect(resolveOptions({}).limitWindowMs).toBe(1000);
    expect(resolveOptions({ limitWindowMs: 60_000 }).limitWindowMs).toBe(60_000);
    expect(resolveOptions({ limitWindowMs: 1 }).limitWindowMs).toBe(1);
    for (const bad of [0, -5, 60_001, Infinity]) expect(() => resolveOptions({ limitWindowMs: bad })).toThrow(/limitWindowMs/);
  });

  it('parses --limit-window as a Go duration or bare ms, within 1ms..60s', () => {
    expect(parseLimitWindow('1s')).toBe(1000);
    expect(parseLimitWindow('500ms')).toBe(500);
    expect(parseLimitWindow('60s')).toBe(60_000);
    expect(parseLimitWindow('1m')).toBe(60_000);
    expect(parseLimitWindow('250')).toBe(250);
    expect(parseLimitWindow('1ms')).toBe(1);
    for (const bad of ['0', '0s', '2m', '60001', '500us', '-1s', 'soon', '']) expect(() => parseLimitWindow(bad)).toThrow(/--limit-window/);
  });

  it('takes --limit-window from the CLI flags', () => {
    const raw = { port: '0', host: '127.0.0.1', latencyMs: '0', jitterMs: '0', errorRate: '0', outage: [], malformedRate: '0', hangRate: '0', quotaExhausted: false, seed: '1', batchValidatingMs: '10', batchInProgressMs: '20', batchFinalizingMs: '30', batchLineErrorRate: '0' };
    expect(emulatorOptionsFromCli({ ...raw, rpm: '600', limitWindow: '60s' })).toMatchObject({ rpm: 600, limitWindowMs: 60_000 });
    expect(emulatorOptionsFromCli({ ...raw, limitWindow: '250' }).limitWindowMs).toBe(250);
    expect(emulatorOptionsFromCli(raw).limitWindowMs).toBe(1000);
    expect(() => emulatorOptionsFromCli({ ...raw, limitWindow: '90s' })).toThrow(/--limit-window/);
  });
});
