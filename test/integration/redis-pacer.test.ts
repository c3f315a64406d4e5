// The Redis pacing script against the pure rules it ports (src/domain/pacing.ts): the same
// steps, on the same clock, must leave the same state. Then two stores sharing one account
// through a real redis-server, and a worker cut off from Redis pacing alone on its share.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import * as pacing from '../../src/domain/pacing.ts';
import { definePacerScript, PACER_CONSTANTS, RedisPacerStore } from '../../src/llm/redis-pacer-store.ts';
import { RateLimiter } from '../../src/llm/rate-limiter.ts';
import { startRedisServer } from '../../src/dev/redis-server.ts';
import { rngFromSeed } from '../../src/emulator/random.ts';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  definePacerScript(redis);
});
afterAll(() => redis.disconnect());

const CONSTANTS = { ...PACER_CONSTANTS, STATE_TTL_MS: 60_000 };

async function script(key: string, op: string, now: number, caps: object, args: object = {}) {
  const out = await redis.llmBatchPacer(`t:${key}`, `t:${key}:w`, JSON.stringify({ op, now, caps, c: CONSTANTS, worker: 'w1', ...args }));
  return JSON.parse(out) as { state: pacing.PacerState; ok?: boolean; waitMs?: number; cumR?: number };
}

describe('redis-pacer.lua is the same rules as src/domain/pacing.ts', () => {
  it.each([1, 2, 3])('2,000 random steps (seed %i) leave the same state and decisions', async (seed) => {
    const rnd = rngFromSeed(seed);
    const caps = seed === 1 ? { rpm: 600 } : seed === 2 ? { rpm: 3000, tpm: 400_000 } : {};
    let now = 1_700_000_000_000;
    const ts = pacing.newPacerState(caps, now);
    const key = `eq-${seed}-${Date.now()}`;
    const admissions: pacing.Admission[] = [];
    for (let i = 0; i < 2000; i++) {
      now += Math.floor(rnd() * 120);
      const r = rnd();
      if (r < 0.6) {
        const req = { tokens: 50 + Math.floor(rnd() * 300), priority: 1 + Math.floor(rnd() * 5) };
        const want = pacing.take(ts, req, now);
        const got = await script(key, 'take', now, caps, req);
        expect(got.ok).toBe(want.ok);
        if (want.ok) {
          expect(got.cumR).toBe(want.cumR);
          admissions.push({ at: now, cumR: want.cumR, cumT: want.cumT, tokens: req.tokens });
        } else expect(got.waitMs).toBeCloseTo(want.waitMs, 6);
      } else if (r < 0.93 && admissions.length > 0) {
        const a = admissions[Math.floor(rnd() * admissions.length)];
        const window = seed === 3 ? 60_000 : 1000;
        const h: pacing.ObservedHeaders = {
          limitRequests: 3000,
          remainingRequests: Math.floor(rnd() * 3000 * (window / 60_000)),
          resetRequestsMs: Math.floor(rnd() * window),
        };
        if (seed !== 1) Object.assign(h, { limitTokens: 400_000, remainingTokens: Math.floor(rnd() * 400_000 * (window / 60_000)), resetTokensMs: Math.floor(rnd() * window) });
        pacing.observe(ts, a, h, now);
        await script(key, 'observe', now, caps, { admission: a, headers: h });
      } else if (r < 0.97) {
        const pauseMs = Math.floor(rnd() * 2000);
        pacing.rateLimited(ts, pauseMs, now);
        await script(key, 'limited', now, caps, { pauseMs });
      } else {
        const next = rnd() < 0.5 ? { rpm: 1000 + Math.floor(rnd() * 5000) } : {};
        Object.assign(caps, { rpm: undefined, tpm: undefined }, next);
        pacing.setCaps(ts, next, now);
        await script(key, 'caps', now, next);
      }
    }
    const { state } = await script(key, 'state', now, caps);
    for (const [field, value] of Object.entries(ts)) expect(state[field as keyof pacing.PacerState], field).toBeCloseTo(value as number, 3);
  });
});

describe('RedisPacerStore', () => {
  it('two workers on one account share one budget', async () => {
    const key = `shared-${Date.now()}`;
    const a = new RateLimiter(new RedisPacerStore({ redis, key, caps: { rpm: 600 } }));
    const b = new RateLimiter(new RedisPacerStore({ redis, key, caps: { rpm: 600 } }));
    const t0 = Date.now();
    let n = 0;
    const stop = new AbortController();
    const loop = async (l: RateLimiter) => {
      while (!stop.signal.aborted) {
        try {
          await l.acquire(1, { signal: stop.signal });
          n++;
        } catch {
          return;
        }
      }
    };
    const loops = [...Array(8)].flatMap(() => [loop(a), loop(b)]);
    await new Promise((r) => setTimeout(r, 3000));
    stop.abort();
    await Promise.all(loops);
    const seconds = (Date.now() - t0) / 1000;
    // one call, then 9.85/s between them: not twice that
    expect(n).toBeLessThanOrEqual(1 + 10 * seconds);
    expect(n).toBeGreaterThanOrEqual(1 + 9.85 * 2.8);
  });

  it('a worker cut off from Redis paces alone on its share, says so, and comes back', async () => {
    const server = await startRedisServer();
    const own = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, retryStrategy: () => 100 });
    own.on('error', () => {});
    await new Promise((r) => own.once('ready', r));
    const logs: string[] = [];
    const key = `cut-${Date.now()}`;
    const store = new RedisPacerStore({ redis: own, key, caps: { rpm: 600 }, log: (m) => logs.push(m), retryMs: 1000 });
    const other = new RedisPacerStore({ redis: own, key, caps: { rpm: 600 }, workerId: 'other' });
    await other.take({ tokens: 0, priority: 3 }); // a second worker is known
    const limiter = new RateLimiter(store);
    await limiter.acquire(0);
    server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    let n = 0;
    while (Date.now() - t0 < 2000) {
      await limiter.acquire(0);
      n++;
    }
    expect(store.cutOff).toBe(true);
    expect(logs.join('\n')).toMatch(/Redis did not answer .* alone on 1\/2 of the limits/);
    // half of 600 rpm (two workers known) from empty: ~4.9/s, where the whole limit would give 30 in 2 s
    expect(n).toBeLessThanOrEqual(12);
    expect(n).toBeGreaterThan(6);
    // Redis is back (a new server on the same port): the worker rejoins the shared budget
    const again = await startRedisServer({ port: server.port });
    await new Promise((r) => own.once('ready', r));
    await new Promise((r) => setTimeout(r, 1000));
    await limiter.acquire(0);
    expect(store.cutOff).toBe(false);
    expect(logs.at(-1)).toMatch(/Redis answers again/);
    await again.stop();
    await server.stop();
    own.disconnect();
  });
});
