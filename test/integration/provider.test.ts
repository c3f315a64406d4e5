// The provider client's retry policy, over real HTTP to the emulator through the openai SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { ProviderClient } from '../../src/llm/provider.ts';
import { RateLimiter } from '../../src/llm/rate-limiter.ts';
import { SharedProviderHealth } from '../../src/llm/provider-health.ts';

const body = (text: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], max_tokens: 20 });
const fastBackoff = { initialMs: 1, maxMs: 5, multiplier: 2, jitter: 0 };

describe('ProviderClient', () => {
  let emu: RunningEmulator;
  const client = (o: Partial<ConstructorParameters<typeof ProviderClient>[0]> = {}) =>
    new ProviderClient({ baseURL: emu.baseUrl, limiter: new RateLimiter({}), maxAttempts: 4, requestTimeoutMs: 2000, backoff: fastBackoff, ...o });
  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
  });
  afterAll(() => emu.close());

  it('sends X-Client-Request-Id and returns the usage the provider reported', async () => {
    emu.resetStats();
    const r = await client().call({ customId: 'id-1', url: '/v1/chat/completions', body: body('hello'), chargeTokens: 40, priorAttempts: 0 });
    expect(r.kind).toBe('succeeded');
    if (r.kind !== 'succeeded') return;
    expect(r.usage.prompt).toBeGreaterThan(0);
    expect(r.usage.completion).toBeGreaterThan(0);
    expect(r.requestId).toMatch(/^req_/);
    expect(emu.stats().uniqueIds).toBe(1);
  });

  it('retries 5xx until the attempts run out, then fails with the provider message', async () => {
    emu.resetStats();
    emu.configure({ errorRate: 1 });
    try {
      const r = await client().call({ customId: 'id-5xx', url: '/v1/chat/completions', body: body('x'), chargeTokens: 40, priorAttempts: 0 });
      expect(r).toMatchObject({ kind: 'failed', attempts: 4 });
      expect(emu.stats().serverErrors).toBe(4);
    } finally {
      emu.configure({ errorRate: 0 });
    }
  });

  it('does not retry a 400: the item fails with the provider message', async () => {
    emu.resetStats();
    const r = await client().call({ customId: 'id-400', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] }, chargeTokens: 40, priorAttempts: 0 });
    expect(r.kind).toBe('failed');
    if (r.kind !== 'failed') return;
    expect(r.attempts).toBe(1);
    expect(r.statusCode).toBe(400);
    expect(r.error.message).toContain('messages');
    expect(emu.stats().requests).toBe(1);
  });

  it('reports insufficient_quota without retrying', async () => {
    emu.resetStats();
    emu.configure({ quotaExhausted: true });
    try {
      const r = await client().call({ customId: 'id-q', url: '/v1/chat/completions', body: body('x'), chargeTokens: 40, priorAttempts: 0 });
      expect(r.kind).toBe('quota_exhausted');
      expect(emu.stats().quotaRejected).toBe(1);
    } finally {
      emu.configure({ quotaExhausted: false });
    }
  });

  it('gives up on a call that never answers and retries it', async () => {
    emu.resetStats();
    emu.configure({ hangRate: 1 });
    const c = client({ requestTimeoutMs: 200, maxAttempts: 2 });
    const pending = c.call({ customId: 'id-hang', url: '/v1/chat/completions', body: body('x'), chargeTokens: 40, priorAttempts: 0 });
    const r = await pending;
    emu.configure({ hangRate: 0 });
    expect(r).toMatchObject({ kind: 'failed', attempts: 2 });
    if (r.kind === 'failed') expect(r.error.code).toMatch(/timeout|connection/i);
  });

  it('survives malformed bodies by retrying', async () => {
    emu.resetStats();
    emu.configure({ malformedRate: 0.5, seed: 7 });
    try {
      const c = client({ maxAttempts: 10 });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.call({ customId: `m-${i}`, url: '/v1/chat/completions', body: body(`m${i}`), chargeTokens: 40, priorAttempts: 0 })));
      expect(results.every((r) => r.kind === 'succeeded')).toBe(true);
      expect(emu.stats().malformed).toBeGreaterThan(0);
    } finally {
      emu.configure({ malformedRate: 0 });
    }
  });

  it('stops retrying once the shared health trips: the item stays pending (unavailable), and a 4xx counts as the provider answering', async () => {
    emu.resetStats();
    emu.configure({ errorRate: 1 });
    try {
      const health = new SharedProviderHealth(3);
      const c = client({ maxAttempts: 10 });
      const r = await c.call({ customId: 'id-down', url: '/v1/chat/completions', body: body('x'), chargeTokens: 40, priorAttempts: 0 }, { health });
      expect(r).toMatchObject({ kind: 'unavailable', attempts: 3 });
      expect(health.signal.aborted).toBe(true);
      // Once tripped, other calls sharing it do not even start.
      const next = await c.call({ customId: 'id-down-2', url: '/v1/chat/completions', body: body('y'), chargeTokens: 40, priorAttempts: 0 }, { health });
      expect(next).toEqual({ kind: 'interrupted', attempts: 0 });
      expect(emu.stats().requests).toBe(3);
    } finally {
      emu.configure({ errorRate: 0 });
    }
    const streak = new SharedProviderHealth(2);
    streak.failure();
    // A 400 is an answer: the streak restarts.
    await client().call({ customId: 'id-400b', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] }, chargeTokens: 40, priorAttempts: 0 }, { health: streak });
    expect(streak.failure()).toBe(false);
  });

  it('a soft stop cuts a backoff wait short without dropping a call in flight', async () => {
    emu.resetStats();
    emu.configure({ errorRate: 1 });
    try {
      const stop = new AbortController();
      const c = client({ maxAttempts: 10, backoff: { initialMs: 5000, maxMs: 5000, multiplier: 1, jitter: 0 } });
      const t0 = Date.now();
      const pending = c.call({ customId: 'id-stop', url: '/v1/chat/completions', body: body('x'), chargeTokens: 40, priorAttempts: 0 }, { stop: stop.signal });
      setTimeout(() => stop.abort(), 200);
      expect(await pending).toEqual({ kind: 'interrupted', attempts: 1 });
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      emu.configure({ errorRate: 0 });
    }
    // An attempt already sent finishes: the stop does not abort the HTTP request.
    emu.configure({ latencyMs: 300 });
    try {
      const stop = new AbortController();
      const pending = client().call({ customId: 'id-inflight', url: '/v1/chat/completions', body: body('z'), chargeTokens: 40, priorAttempts: 0 }, { stop: stop.signal });
      setTimeout(() => stop.abort(), 100);
      expect((await pending).kind).toBe('succeeded');
    } finally {
      emu.configure({ latencyMs: 0 });
    }
  });
});
