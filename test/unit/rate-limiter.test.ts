import { describe, expect, it } from 'vitest';
import { RateLimiter, parseRateLimitHeaders } from '../../src/llm/rate-limiter.ts';
import { FACTOR_MAX, type Admission } from '../../src/domain/pacing.ts';
import { parseGoDuration } from '../../src/domain/go-duration.ts';
import { FakeClock, flush } from './fake-clock.ts';

/** Keeps `n` callers acquiring in a loop; records admission times. */
function hammer(limiter: RateLimiter, clock: FakeClock, n: number, tokens: number, stop: AbortSignal) {
  const admitted: number[] = [];
  for (let i = 0; i < n; i++) {
    void (async () => {
      while (!stop.aborted) {
        try {
          await limiter.acquire(tokens, { signal: stop });
        } catch {
          return;
        }
        admitted.push(clock.now());
      }
    })();
  }
  return admitted;
}

describe('RateLimiter', () => {
  it('starts smooth (one call, no burst), then holds the paced rate (rpm 600 → 10/s × 0.985)', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 600 }, clock);
    const stop = new AbortController();
    const t0 = clock.now();
    const admitted = hammer(limiter, clock, 50, 1, stop.signal);
    await flush();
    expect(admitted.length).toBe(1); // not even a second's burst: see startLevel in src/domain/pacing.ts
    await clock.advance(3 * 60_000);
    stop.abort();
    const total = admitted.filter((t) => t <= t0 + 180_000).length;
    expect(total).toBeGreaterThanOrEqual(Math.floor(1800 * FACTOR_MAX));
    expect(total).toBeLessThanOrEqual(1801);
    // and evenly: every simulated second sees ~10
    const inSecond = admitted.filter((t) => t > t0 + 90_000 && t <= t0 + 91_000).length;
    expect(inSecond).toBeGreaterThanOrEqual(9);
    expect(inSecond).toBeLessThanOrEqual(11);
  });

  it('lets the token bucket bind when requests are large', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 10_000, tpm: 60_000 }, clock); // 1000 tokens/s
    const stop = new AbortController();
    const admitted = hammer(limiter, clock, 20, 2_000, stop.signal); // 0.5 req/s
    await clock.advance(60_000);
    stop.abort();
    expect(admitted.length).toBeGreaterThanOrEqual(28);
    expect(admitted.length).toBeLessThanOrEqual(31);
    expect(limiter.snapshot().tokensAvailable).toBeLessThan(2_000);
  });

  it('serves waiters of one priority in FIFO order even when a later one would fit', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 6_000 }, clock); // one second: 100 tokens, refilled at 98.5/s
    const first = limiter.acquire(100);
    await clock.advance(1016);
    await first;
    const order: string[] = [];
    const big = limiter.acquire(90).then(() => order.push('big'));
    const small = limiter.acquire(10).then(() => order.push('small'));
    await flush();
    expect(limiter.snapshot().waiting).toBe(2);
    await clock.advance(900);
    expect(order).toEqual([]); // small would have fit after ~100 ms, but waits behind big
    await clock.advance(20); // 90 / 98.5 per s = 914 ms
    expect(order).toEqual(['big']);
    await clock.advance(110);
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
  });

  it('keeps one timer for the waiters, not one per waiter or a poll loop', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 60 }, clock);
    for (let i = 0; i < 100; i++) void limiter.acquire(0);
    await flush();
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(10_000);
    expect(clock.pendingTimers).toBe(1);
    expect(limiter.snapshot().waiting).toBe(90); // 1 at start + 9.85 in 10 s
  });

  it('a 429 holds every caller until the pause ends, only extends it, and slows the pace', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 6_000 }, clock);
    await clock.advance(60_000); // bucket full (one second: 100)
    limiter.rateLimited(5_000);
    limiter.rateLimited(1_000); // must not shorten
    await flush();
    let done = 0;
    for (let i = 0; i < 3; i++) void limiter.acquire(1).then(() => done++);
    await clock.advance(4_999);
    expect(done).toBe(0);
    await clock.advance(1);
    expect(done).toBeGreaterThan(0);
    await clock.advance(1_000);
    expect(done).toBe(3);
    expect(limiter.snapshot().factor).toBeLessThan(FACTOR_MAX);
  });

  it('after a 429 resumes at the refill rate instead of bursting', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 600 }, clock);
    await clock.advance(60_000);
    limiter.rateLimited(1_000);
    const stop = new AbortController();
    const admitted = hammer(limiter, clock, 50, 1, stop.signal);
    await clock.advance(2_000);
    stop.abort();
    // the pause refills what the provider refills (~7), then ~7.4/s after the cut: not 600 at once
    expect(admitted.length).toBeLessThanOrEqual(16);
  });

  it('with no limit known, one call goes first and its answer opens the gate', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({}, clock);
    const admissions: Admission[] = [];
    for (let i = 0; i < 1000; i++) void limiter.acquire(1e6).then((a) => admissions.push(a));
    await flush();
    expect(admissions.length).toBe(1); // the probe
    limiter.observe(admissions[0], {}, 20); // an answer without rate-limit headers: unlimited
    await clock.advance(1);
    expect(admissions.length).toBe(1000);
    expect(limiter.snapshot().requestsAvailable).toBe(Infinity);
  });

  it('the probe also frees the gate when its call got no answer at all', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({}, clock);
    const admissions: Admission[] = [];
    for (let i = 0; i < 3; i++) void limiter.acquire(1).then((a) => admissions.push(a));
    await flush();
    limiter.observe(admissions[0], {}); // a connection error: nothing learned
    await flush();
    expect(admissions.length).toBe(2); // the next one probes
  });

  it('adopts limits it did not know from the headers, capped by the configured ones', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 100 }, clock);
    const a = await limiter.acquire(1000);
    limiter.observe(a, { limitRequests: 5_000, limitTokens: 120_000, remainingTokens: 119_000, remainingRequests: 4_999 }, 50);
    await flush();
    const s = limiter.snapshot();
    expect(s.rpm).toBe(100); // the cap binds
    expect(s.tpm).toBe(120_000);
    expect(s.tokensAvailable).toBeLessThan(100); // a smooth start, not the 119,000 in stock
  });

  it('admits a request larger than the token capacity once the bucket is full, leaving debt', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 1_200 }, clock); // one second: 20 tokens
    let big = false;
    void limiter.acquire(5_000).then(() => (big = true));
    await clock.advance(1_000);
    expect(big).toBe(false); // the bucket starts empty and fills in 20 / 19.7 per s
    await clock.advance(100);
    expect(big).toBe(true);
    expect(limiter.snapshot().tokensAvailable).toBeLessThan(20 - 5_000 + 2); // in debt by the oversize call
    let admitted = false;
    void limiter.acquire(10).then(() => (admitted = true));
    await clock.advance(240_000);
    expect(admitted).toBe(false); // the debt delays whoever is next: 4,990 / (20 × 0.985) s
    await clock.advance(20_000);
    expect(admitted).toBe(true);
  });

  it('rejects with the signal reason when aborted, and the next waiter moves up', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 60 }, clock);
    await limiter.acquire(0); // spends the starting capacity
    const ac = new AbortController();
    const first = limiter.acquire(0, ac.signal);
    let second = false;
    void limiter.acquire(0).then(() => (second = true));
    ac.abort(new Error('cancelled'));
    await expect(first).rejects.toThrow('cancelled');
    await clock.advance(1_100);
    expect(second).toBe(true);
    expect(limiter.snapshot().waiting).toBe(0);
    // an aborted sole waiter leaves no timer behind, even during a pause
    const ac2 = new AbortController();
    const third = limiter.acquire(0, ac2.signal);
    limiter.rateLimited(60_000);
    await flush();
    expect(clock.pendingTimers).toBe(1);
    ac2.abort(new Error('bye'));
    await expect(third).rejects.toThrow('bye');
    expect(clock.pendingTimers).toBe(0);
    const pre = new AbortController();
    pre.abort(new Error('already'));
    await expect(limiter.acquire(1, pre.signal)).rejects.toThrow('already');
  });

  it('setLimits applies new caps to waiters already queued', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 1 }, clock);
    const a = await limiter.acquire(0);
    limiter.observe(a, {}, 10); // answered without headers: the provider says nothing
    let admitted = false;
    void limiter.acquire(0).then(() => (admitted = true));
    await flush();
    expect(admitted).toBe(false);
    limiter.setLimits({});
    await flush();
    expect(admitted).toBe(true);
  });

  it('rejects a bad priority or token count', async () => {
    const limiter = new RateLimiter({ rpm: 1 }, new FakeClock());
    await expect(limiter.acquire(1, { priority: 0 })).rejects.toThrow(/priority/);
    await expect(limiter.acquire(-1)).rejects.toThrow(/tokens/);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['6ms', 6],
    ['1.5s', 1500],
    ['1m0s', 60_000],
    ['2m30.5s', 150_500],
    ['1h2m3s', 3_723_000],
    ['0', 0],
    ['0s', 0],
    ['250us', 0.25],
    ['.5s', 500],
  ])('%s → %s ms', (s, ms) => {
    expect(parseGoDuration(s)).toBeCloseTo(ms, 9);
  });
  it.each(['', 'abc', '5', '1.5', '5x', 's', '1m 0s'])('rejects %j', (s) => {
    expect(parseGoDuration(s)).toBeUndefined();
  });
  it('a negative reset header is ignored, though Go syntax allows it', () => {
    expect(parseGoDuration('-1s')).toBe(-1000);
    expect(parseRateLimitHeaders((h) => (h === 'x-ratelimit-reset-requests' ? '-1s' : null)).resetRequestsMs).toBeUndefined();
  });
});

describe('parseRateLimitHeaders', () => {
  it('reads the x-ratelimit headers and leaves out missing or malformed ones', () => {
    const headers = new Headers({
      'x-ratelimit-limit-requests': '10000',
      'x-ratelimit-limit-tokens': '2000000',
      'x-ratelimit-remaining-requests': '9999',
      'x-ratelimit-remaining-tokens': 'lots',
      'x-ratelimit-reset-requests': '6ms',
      'x-ratelimit-reset-tokens': '1m30s',
    });
    expect(parseRateLimitHeaders((n) => headers.get(n))).toEqual({
      limitRequests: 10_000,
      limitTokens: 2_000_000,
      remainingRequests: 9_999,
      resetRequestsMs: 6,
      resetTokensMs: 90_000,
    });
    expect(parseRateLimitHeaders(() => undefined)).toEqual({});
  });
});
