// The pacing rules on a fake clock, graded by an independent simulated provider
// (test/unit/pacing-sim.ts): quantized windows, full-minute buckets, a shared account,
// a 429 storm, latency jitter, priorities, caps and Little's law.
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/llm/rate-limiter.ts';
import { LocalPacerStore } from '../../src/llm/pacer-store.ts';
import { FACTOR_MAX, FLOOR_SHARE, newPacerState, observe, rateLimited, take, factorAt, capacityOf, desiredConcurrency } from '../../src/domain/pacing.ts';
import { FakeClock } from './fake-clock.ts';
import { runClient, seeded, SimProvider } from './pacing-sim.ts';

function setup(caps: { rpm?: number; tpm?: number }) {
  const clock = new FakeClock();
  const limiter = new RateLimiter(new LocalPacerStore(caps, clock), clock);
  return { clock, limiter, t0: clock.now() };
}

describe('pacing against a quantized provider', () => {
  it('600 RPM enforced per second: ≥ 97% of the limit, < 0.5% refused, with latency jitter', async () => {
    const { clock, limiter, t0 } = setup({});
    const provider = new SimProvider(clock, { rpm: 600, windowMs: 1000 });
    const rnd = seeded(7);
    const stop = new AbortController();
    runClient(limiter, provider, clock, { callers: 32, tokens: () => 100, latencyMs: () => 50 + 300 * rnd(), sendDelayMs: () => 20 * rnd() }, stop.signal);
    await clock.advance(120_000);
    stop.abort();
    const steady = provider.servedIn(t0 + 20_000, t0 + 120_000);
    expect(steady / 1000).toBeGreaterThanOrEqual(0.97); // 10/s over 100 s
    const all = provider.served.length + provider.rejected.length;
    expect(provider.rejected.length / all).toBeLessThan(0.005);
  });

  it('TPM binding at 3,000 RPM / 400k TPM per second: ≥ 97% of the token limit', async () => {
    const { clock, limiter, t0 } = setup({ rpm: 3000, tpm: 400_000 });
    const provider = new SimProvider(clock, { rpm: 3000, tpm: 400_000, windowMs: 1000 });
    const rnd = seeded(3);
    const stop = new AbortController();
    let charged = 0;
    const tokens = () => {
      const t = 100 + Math.floor(110 * rnd());
      return t;
    };
    const r = runClient(limiter, provider, clock, { callers: 64, tokens: () => (charged = tokens()), latencyMs: () => 100 + 100 * rnd() }, stop.signal);
    void charged;
    await clock.advance(60_000);
    stop.abort();
    // average charge 154.5 tokens → 400,000 / 154.5 ≈ 2,589 calls a minute ≈ 43.1/s
    const steady = provider.servedIn(t0 + 10_000, t0 + 60_000);
    expect(steady / (50 * (400_000 / 154.5 / 60))).toBeGreaterThanOrEqual(0.96);
    expect(provider.rejected.length / (provider.served.length + provider.rejected.length)).toBeLessThan(0.005);
    expect(r.done.length).toBeGreaterThan(2000);
  });

  it('a fresh account with a full-minute bucket: the stock is spent at once, then the steady rate', async () => {
    const { clock, limiter, t0 } = setup({});
    const provider = new SimProvider(clock, { rpm: 3000, windowMs: 60_000 });
    const stop = new AbortController();
    const r = runClient(limiter, provider, clock, { callers: 256, tokens: () => 100, latencyMs: () => 100, items: 3600 }, stop.signal);
    await clock.advance(60_000);
    stop.abort();
    // ideal: 3,000 at once, then 600 more at 50/s = 12 s
    const last = Math.max(...r.done) - t0;
    expect(r.done.length).toBe(3600);
    expect(last).toBeLessThan(12_000 * 1.3);
    expect(provider.rejected.length / 3600).toBeLessThan(0.005);
  });

  it('a shared account whose stock is low: no burst, and pacing under what is left', async () => {
    const { clock, limiter, t0 } = setup({});
    const provider = new SimProvider(clock, { rpm: 3000, windowMs: 60_000, otherRpm: 1500 });
    const stop = new AbortController();
    // the other client has had the account for a minute and a half: the bucket is nearly empty
    const bg = new AbortController();
    for (let i = 0; i < 3; i++) provider.arrive(0);
    provider.startOther(bg.signal);
    const drain = new AbortController();
    runClient(new RateLimiter({ rpm: 100_000 }, clock), provider, clock, { callers: 8, tokens: () => 1, latencyMs: () => 10, items: 2900 }, drain.signal);
    await clock.advance(5_000);
    const from = clock.now();
    const served0 = provider.served.length;
    const rej0 = provider.rejected.length;
    runClient(limiter, provider, clock, { callers: 64, tokens: () => 1, latencyMs: () => 100 }, stop.signal);
    await clock.advance(60_000);
    stop.abort();
    bg.abort();
    drain.abort();
    const ours = provider.served.length - served0;
    const refused = provider.rejected.length - rej0;
    // 1,500 of 3,000 a minute are left; AIMD settles under them with few refusals
    expect(ours).toBeGreaterThan(0.8 * 1500 * 0.5); // other client's served calls are in served too
    expect(refused / (ours + refused)).toBeLessThan(0.05);
    void from;
    void t0;
  });

  it('a 429 storm cuts the pace once, everyone waits, and the pace comes back', () => {
    const now = 1_000_000;
    const s = newPacerState({ rpm: 600 }, now);
    for (let i = 0; i < 50; i++) rateLimited(s, 1000, now + i); // fifty 429s within 50 ms
    expect(s.cutFactor).toBeCloseTo(FACTOR_MAX * 0.75, 9); // cut once, not fifty times
    expect(take(s, { tokens: 0, priority: 3 }, now + 500)).toMatchObject({ ok: false }); // everyone waits out the pause
    expect(factorAt(s, now + 5_000)).toBeLessThan(FACTOR_MAX);
    expect(factorAt(s, now + 20_000)).toBe(FACTOR_MAX); // back at the ceiling after ~12 s without a 429
    // a second storm a second later cuts again
    rateLimited(s, 1000, now + 1_100);
    expect(s.cutFactor).toBeCloseTo((FACTOR_MAX * 0.75 + 0.02 * 1.1) * 0.75, 9);
  });

  it('drift: the mirror follows what the provider says remains, aged by its refill and our calls since', () => {
    const now = 1_000_000;
    const s = newPacerState({}, now);
    const first = { at: now, cumR: 0, cumT: 0, tokens: 0 };
    // a one-minute bucket of 3,000 with 600 left (someone else spends the account): learned, no burst
    observe(s, first, { limitRequests: 3000, remainingRequests: 600, resetRequestsMs: 48_000 }, now + 100);
    expect(capacityOf(s, 'r')).toBe(3000);
    expect(s.rLvl).toBe(1); // a smooth start, not the 605 in stock (below half the bucket)
    // two seconds later the mirror has refilled 98.5 calls; we admit 90 of them
    for (let i = 0; i < 90; i++) expect(take(s, { tokens: 0, priority: 3 }, now + 2_100)).toMatchObject({ ok: true });
    expect(s.rLvl).toBeCloseTo(1 + 98.5 - 90, 6);
    // the provider says only 2 remained when the first of them arrived: 2 + 5 refilled since − 89 after it → the mirror drops into debt
    observe(s, { at: now + 2_100, cumR: 1, cumT: 0, tokens: 0 }, { limitRequests: 3000, remainingRequests: 2, resetRequestsMs: 59_960 }, now + 2_200);
    expect(s.rLvl).toBeCloseTo(2 + 5 - 89 + 1, 6);
    // a fresh, full bucket: the stock is spent at once, all but one second of it
    const t = newPacerState({}, now);
    observe(t, first, { limitRequests: 3000, remainingRequests: 2999, resetRequestsMs: 20 }, now + 100);
    expect(t.rLvl).toBe(2999 - 50); // what remained (no refill assumed for a burst), less one second
    expect(desiredConcurrency(t, { latencyMs: 100, chargeTokens: 0, min: 4, max: 256 }, now + 100)).toBe(256);
  });

  it('headers that overstate the burst are not trusted after the 429 they caused', () => {
    const now = 1_000_000;
    const s = newPacerState({}, now);
    observe(s, { at: now, cumR: 0, cumT: 0, tokens: 0 }, { limitRequests: 3000, remainingRequests: 2999, resetRequestsMs: 20 }, now + 10);
    expect(s.rLvl).toBeGreaterThan(2900);
    for (let i = 0; i < 20; i++) take(s, { tokens: 0, priority: 3 }, now + 20);
    rateLimited(s, 100, now + 30); // the provider enforces per second after all
    expect(capacityOf(s, 'r')).toBe(50);
    observe(s, { at: now + 200, cumR: 21, cumT: 0, tokens: 0 }, { limitRequests: 3000, remainingRequests: 2999, resetRequestsMs: 20 }, now + 300);
    expect(s.rLvl).toBeLessThanOrEqual(50);
  });

  it('configured caps are never exceeded, whatever the headers say', () => {
    const now = 1_000_000;
    const s = newPacerState({ rpm: 600 }, now);
    observe(s, { at: now, cumR: 0, cumT: 0, tokens: 0 }, { limitRequests: 10_000, remainingRequests: 9_999, resetRequestsMs: 6 }, now + 10);
    expect(capacityOf(s, 'r')).toBe(10); // one second of the cap
    let admitted = 0;
    for (let t = now + 10; t < now + 60_010; t += 5) while (take(s, { tokens: 0, priority: 3 }, t).ok) admitted++;
    expect(admitted).toBeLessThanOrEqual(600);
    expect(admitted).toBeGreaterThan(0.97 * 600);
  });

  it("Little's law: enough in flight for the paced rate at the measured latency", () => {
    const now = 1_000_000;
    const s = newPacerState({ rpm: 600 }, now);
    s.rLvl = 0;
    const q = { chargeTokens: 0, min: 4, max: 256 };
    expect(desiredConcurrency(s, { ...q, latencyMs: 50 }, now)).toBe(4); // 9.85/s × 0.05 s × 2 → min
    expect(desiredConcurrency(s, { ...q, latencyMs: 2000 }, now)).toBe(Math.ceil(9.85 * 2 * 2) + 1);
    const big = newPacerState({ rpm: 30_000 }, now);
    big.rLvl = 0;
    expect(desiredConcurrency(big, { ...q, latencyMs: 2000 }, now)).toBe(256); // bounded
  });
});

describe('priorities', () => {
  it('a more urgent caller gets the rate; a less urgent one keeps its floor share', async () => {
    const { clock, limiter, t0 } = setup({ rpm: 600 });
    const provider = new SimProvider(clock, { rpm: 600, windowMs: 1000 });
    const stop = new AbortController();
    const bulk = runClient(limiter, provider, clock, { callers: 32, tokens: () => 1, latencyMs: () => 100, priority: 5 }, stop.signal);
    await clock.advance(10_000);
    const urgentStart = clock.now();
    const urgent = runClient(limiter, provider, clock, { callers: 32, tokens: () => 1, latencyMs: () => 100, priority: 1, items: 300 }, stop.signal);
    await clock.advance(60_000);
    stop.abort();
    expect(urgent.done.length).toBe(300);
    const urgentEnd = Math.max(...urgent.done);
    const bulkDuring = bulk.done.filter((t) => t > urgentStart && t <= urgentEnd).length;
    const share = 300 / (300 + bulkDuring);
    expect(share).toBeGreaterThanOrEqual(0.85);
    expect(bulkDuring / (300 + bulkDuring)).toBeGreaterThanOrEqual(FLOOR_SHARE * 0.6); // the floor holds
    expect(bulk.done.filter((t) => t > urgentEnd + 1000).length).toBeGreaterThan(0); // and bulk goes on after
    void t0;
  });

  it('FIFO within a priority, and the order is by priority across them', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(new LocalPacerStore({ rpm: 60 }, clock), clock);
    await limiter.acquire(0); // spends the one second of capacity
    const order: string[] = [];
    const p = [
      limiter.acquire(0, { priority: 5 }).then(() => order.push('5a')),
      limiter.acquire(0, { priority: 3 }).then(() => order.push('3a')),
      limiter.acquire(0, { priority: 1 }).then(() => order.push('1a')),
      limiter.acquire(0, { priority: 3 }).then(() => order.push('3b')),
    ];
    await clock.advance(6_000);
    await Promise.all(p);
    expect(order).toEqual(['1a', '3a', '3b', '5a']);
  });
});
