import { describe, expect, it } from 'vitest';
import { RateLimiter, parseRateLimitHeaders } from '../../src/llm/rate-limiter.ts';
import { parseGoDuration } from '../../src/domain/go-duration.ts';
import { FakeClock, flush } from './fake-clock.ts';

/** Keeps `n` callers acquiring in a loop; records admission times. */
function hammer(limiter: RateLimiter, clock: FakeClock, n: number, tokens: number, stop: AbortSignal) {
  const admitted: number[] = [];
  for (let i = 0; i < n; i++) {
    void (async () => {
      while (!stop.aborted) {
        try {
          await limiter.acquire(tokens, stop);
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
  it('starts with one second of capacity, then holds the steady rate (rpm 600 → 10/s)', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 600 }, clock);
    const stop = new AbortController();
    const t0 = clock.now();
    const admitted = hammer(limiter, clock, 50, 1, stop.signal);
    await flush();
    expect(admitted.length).toBe(10); // one second's worth, not a minute's burst
    await clock.advance(3 * 60_000);
    stop.abort();
    const total = admitted.filter((t) => t <= t0 + 180_000).length;
    expect(total).toBeGreaterThanOrEqual(1800);
    expect(total).toBeLessThanOrEqual(1811);
    // and evenly: every simulated second after the first sees ~10
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
    expect(admitted.length).toBeGreaterThanOrEqual(29);
    expect(admitted.length).toBeLessThanOrEqual(31);
    expect(limiter.snapshot().tokensAvailable).toBeLessThan(2_000);
  });

  it('serves waiters in FIFO order even when a later one would fit', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 6_000 }, clock); // starts with 100 tokens, 100/s
    const order: string[] = [];
    const big = limiter.acquire(500).then(() => order.push('big'));
    const small = limiter.acquire(10).then(() => order.push('small'));
    await flush();
    expect(order).toEqual([]);
    expect(limiter.snapshot().waiting).toBe(2);
    await clock.advance(3_999);
    expect(order).toEqual([]);
    await clock.advance(1);
    expect(order).toEqual(['big']); // small waits behind big, though 10 tokens were there all along
    await clock.advance(100); // big emptied the bucket; 10 tokens take 100 ms
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
  });

  it('keeps one timer for the head waiter, not one per waiter or a poll loop', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 60 }, clock);
    for (let i = 0; i < 100; i++) void limiter.acquire(0);
    await flush();
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(10_000);
    expect(clock.pendingTimers).toBe(1);
    expect(limiter.snapshot().waiting).toBe(89); // 1 at start + 10 in 10 s
  });

  it('pauseFor holds every caller until the pause ends, and only extends it', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 6_000 }, clock);
    await clock.advance(60_000); // bucket full
    limiter.pauseFor(5_000);
    limiter.pauseFor(1_000); // must not shorten
    let done = 0;
    for (let i = 0; i < 3; i++) void limiter.acquire(1).then(() => done++);
    await clock.advance(4_999);
    expect(done).toBe(0);
    await clock.advance(1);
    expect(done).toBeGreaterThan(0);
    await clock.advance(1_000);
    expect(done).toBe(3);
  });

  it('after a pause resumes at the refill rate instead of bursting', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 600 }, clock);
    await clock.advance(60_000); // 600 requests available locally
    limiter.pauseFor(1_000);
    const stop = new AbortController();
    const admitted = hammer(limiter, clock, 50, 1, stop.signal);
    await clock.advance(2_000);
    stop.abort();
    expect(admitted.length).toBeLessThanOrEqual(21); // ~10/s, not 600 at once
  });

  it('is unlimited without limits', async () => {
    const limiter = new RateLimiter({}, new FakeClock());
    await Promise.all(Array.from({ length: 1000 }, () => limiter.acquire(1e6)));
    expect(limiter.snapshot().requestsAvailable).toBe(Infinity);
  });

  it('observe lowers the local level to the provider remaining, never raises it', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 600, tpm: 600_000 }, clock);
    await clock.advance(60_000);
    expect(limiter.snapshot().requestsAvailable).toBe(600);
    limiter.observe({ remainingRequests: 42, remainingTokens: 1_000 });
    expect(limiter.snapshot()).toMatchObject({ requestsAvailable: 42, tokensAvailable: 1_000 });
    limiter.observe({ remainingRequests: 500, remainingTokens: 500_000 });
    expect(limiter.snapshot()).toMatchObject({ requestsAvailable: 42, tokensAvailable: 1_000 });
    // the lowered level delays the next big caller
    let admitted = false;
    void limiter.acquire(2_000).then(() => (admitted = true));
    await clock.advance(99);
    expect(admitted).toBe(false);
    await clock.advance(1); // 1000 + 100 ms × 10 tokens/ms
    expect(admitted).toBe(true);
  });

  it('observe adopts limits it did not know, starting at one second of capacity', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 100 }, clock);
    limiter.observe({ limitRequests: 5_000, limitTokens: 120_000, remainingTokens: 119_000 });
    const s = limiter.snapshot();
    expect(s.rpm).toBe(100); // known limit kept
    expect(s.tpm).toBe(120_000);
    expect(s.tokensAvailable).toBe(2_000);
  });

  it('admits a request larger than the token capacity once the bucket is full', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 1_000 }, clock);
    let admitted = false;
    void limiter.acquire(5_000).then(() => (admitted = true));
    await clock.advance(58_999); // starts at 1000/60 tokens: full after 59 s
    expect(admitted).toBe(false);
    await clock.advance(1);
    expect(admitted).toBe(true);
    expect(limiter.snapshot().tokensAvailable).toBe(-4_000); // the debt delays whoever is next
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
    await clock.advance(1_000);
    expect(second).toBe(true);
    expect(limiter.snapshot().waiting).toBe(0);
    // an aborted sole waiter leaves no timer behind, even during a pause
    const ac2 = new AbortController();
    const third = limiter.acquire(0, ac2.signal);
    limiter.pauseFor(60_000);
    expect(clock.pendingTimers).toBe(1);
    ac2.abort(new Error('bye'));
    await expect(third).rejects.toThrow('bye');
    expect(clock.pendingTimers).toBe(0);
    const pre = new AbortController();
    pre.abort(new Error('already'));
    await expect(limiter.acquire(1, pre.signal)).rejects.toThrow('already');
  });

  it('setLimits applies new limits to waiters already queued', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 1 }, clock);
    await clock.advance(60_000);
    await limiter.acquire(0);
    let admitted = false;
    void limiter.acquire(0).then(() => (admitted = true));
    limiter.setLimits({});
    await flush();
    expect(admitted).toBe(true);
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
