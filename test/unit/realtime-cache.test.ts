// The exact cache around realtime calls, on a real SQLite store: what each mode reuses and
// shares, single-flight within a run, failures and truncated answers, and an entry the worker
// wrote just before it died. `call` stands for the provider: it counts and answers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { RealtimeExactCache } from '../../src/cache/realtime-cache.ts';
import { SingleFlight } from '../../src/cache/single-flight.ts';
import type { SharedAnswer } from '../../src/cache/cache-results.ts';
import { exactCacheKey } from '../../src/cache/exact-key.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import type { CacheMode } from '../../src/domain/exact-cache.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';
import type { ItemResult } from '../../src/store/item-store.ts';

const URL = '/v1/chat/completions';
const MODEL = 'gpt-4o-mini';
const body = (text: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: 'user', content: text }], max_tokens: 50, ...extra });
const usage = { prompt: 100, cached: 0, completion: 20, reasoning: 0 };
const pricing = loadDefaultPricing();
const fullPrice = costOfUsage(pricing, MODEL, { promptTokens: 100, cachedTokens: 0, completionTokens: 20, reasoningTokens: 0 });

/** A provider stand-in: counts calls, answers after a tick, as told. */
class Provider {
  calls: string[] = [];
  answer: 'ok' | 'truncated' | 'fail' = 'ok';
  async call(customId: string, text: string): Promise<ItemResult> {
    this.calls.push(customId);
    await new Promise((r) => setTimeout(r, 5));
    if (this.answer === 'fail') return { customId, status: 'failed', attempts: 1, model: MODEL, mode: 'realtime', statusCode: 400, error: { code: 'bad', message: 'no' } };
    const finish = this.answer === 'truncated' ? 'length' : 'stop';
    const response = { id: `chatcmpl-${customId}`, choices: [{ index: 0, message: { role: 'assistant', content: `re: ${text}`, refusal: null }, finish_reason: finish }], usage: { prompt_tokens: 100, completion_tokens: 20 } };
    return { customId, status: 'succeeded', attempts: 1, model: MODEL, mode: 'realtime', statusCode: 200, requestId: `req-${customId}`, response, usage, costUsd: fullPrice };
  }
}

describe('RealtimeExactCache', () => {
  let store: SqliteItemStore;
  let provider: Provider;
  const flights = new SingleFlight<SharedAnswer>();
  beforeEach(() => {
    store = new SqliteItemStore(join(mkdtempSync(join(tmpdir(), 'rt-cache-')), 'items.sqlite'));
    provider = new Provider();
  });
  afterEach(() => store.close());

  const cacheFor = (runId: string, cache: CacheMode | undefined, now = Date.now): RealtimeExactCache =>
    new RealtimeExactCache(store, flights, { runId, ...(cache ? { cache } : {}) } as RunConfig, pricing, now);
  const send = (c: RealtimeExactCache, customId: string, text: string, extra: Record<string, unknown> = {}) =>
    c.through({ customId, url: URL, attempts: 0 }, body(text, extra), MODEL, () => provider.call(customId, text));

  it('read-write: identical requests in flight together make one call; each custom_id gets the answer, hits cost $0 and say what they saved', async () => {
    const c = cacheFor('run-a', 'read-write');
    // metadata and user are answer-neutral: still the same request.
    const results = await Promise.all([send(c, 'a1', 'hello'), send(c, 'a2', 'hello', { metadata: { x: 1 } }), send(c, 'a3', 'hello', { user: 'u' }), send(c, 'b1', 'other')]);
    expect(provider.calls.sort()).toEqual(['a1', 'b1']);
    expect(flights.size).toBe(0);
    const [a1, a2, a3] = results as ItemResult[];
    expect(a1).toMatchObject({ mode: 'realtime', costUsd: fullPrice });
    for (const hit of [a2!, a3!]) {
      expect(hit).toMatchObject({ status: 'succeeded', mode: 'cache', costUsd: 0, usage: { prompt: 0, cached: 0, completion: 0, reasoning: 0 }, savedUsd: fullPrice, requestId: 'req-a1' });
      expect(JSON.parse(hit.responseJson!)).toEqual(a1!.response);
      expect(JSON.parse(hit.cacheMarker!)).toEqual({ cache: 'exact', from_run: 'run-a', from_custom_id: 'a1', saved_usd: Math.round(fullPrice * 1e12) / 1e12 });
    }
    // Later in the run, and in another run: answered from the store.
    expect(await send(c, 'a4', 'hello')).toMatchObject({ mode: 'cache' });
    expect(await send(cacheFor('run-b', 'read-write'), 'x', 'hello')).toMatchObject({ mode: 'cache', cacheMarker: expect.stringContaining('"from_run":"run-a"') });
    // A parameter that can change the answer is another request.
    await send(c, 'a5', 'hello', { temperature: 0.3 });
    expect(provider.calls).toHaveLength(3);
  });

  it('read: reuses what others shared, shares nothing of its own, still sends its own repeats once', async () => {
    await send(cacheFor('sharer', 'read-write'), 's', 'shared text');
    const reader = cacheFor('reader', 'read');
    expect(await send(reader, 'r1', 'shared text')).toMatchObject({ mode: 'cache' });
    await Promise.all([send(reader, 'r2', 'mine'), send(reader, 'r3', 'mine')]);
    expect(await send(reader, 'r4', 'mine')).toMatchObject({ mode: 'cache', cacheMarker: expect.stringContaining('"from_custom_id":"r2"') });
    expect(provider.calls).toEqual(['s', 'r2']);
    // Its answer stays its own.
    await send(cacheFor('later', 'read-write'), 'l', 'mine');
    expect(provider.calls).toEqual(['s', 'r2', 'l']);
  });

  it('write: uses none of what others shared, shares its own', async () => {
    await send(cacheFor('sharer', 'read-write'), 's', 'text');
    const writer = cacheFor('writer', 'write');
    expect(await send(writer, 'w1', 'text')).toMatchObject({ mode: 'realtime' });
    expect(await send(writer, 'w2', 'text')).toMatchObject({ mode: 'cache', cacheMarker: expect.stringContaining('"from_custom_id":"w1"') });
    expect(provider.calls).toEqual(['s', 'w1']);
    const entries = await store.cacheLookup([exactCacheKey(URL, body('text'))], { runId: 'someone', includeShared: true, minCreatedAt: 0 });
    expect(entries.size).toBe(1);
  });

  it('off (and a config without a mode): every request calls, nothing is stored', async () => {
    for (const mode of ['off', undefined] as const) {
      const c = cacheFor(`off-${mode}`, mode);
      await Promise.all([send(c, '1', 'same'), send(c, '2', 'same')]);
      await send(c, '3', 'same');
    }
    expect(provider.calls).toHaveLength(6);
    expect(await store.cachedKeys([exactCacheKey(URL, body('same'))], 0)).toEqual([]);
  });

  it('the TTL: other runs\' answers older than it are not reused', async () => {
    await send(cacheFor('old', 'read-write', () => Date.now() - 2 * 86_400_000), 'o', 'aging');
    const c = new RealtimeExactCache(store, flights, { runId: 'new', cache: 'read-write', cacheTtlMs: 86_400_000 } as RunConfig, pricing);
    expect(await send(c, 'n', 'aging')).toMatchObject({ mode: 'realtime' });
    expect(await send(cacheFor('newer', 'read-write'), 'm', 'aging')).toMatchObject({ mode: 'cache', cacheMarker: expect.stringContaining('"from_run":"new"') });
  });

  it('a failed call is neither served nor stored: those waiting on it call themselves', async () => {
    const c = cacheFor('run-f', 'read-write');
    provider.answer = 'fail';
    const results = await Promise.all([send(c, 'f1', 'doomed'), send(c, 'f2', 'doomed'), send(c, 'f3', 'doomed')]);
    expect(results.map((r) => r!.status)).toEqual(['failed', 'failed', 'failed']);
    expect(provider.calls.sort()).toEqual(['f1', 'f2', 'f3']);
    expect(await store.cachedKeys([exactCacheKey(URL, body('doomed'))], 0)).toEqual([]);
    provider.answer = 'ok';
    expect(await send(c, 'f4', 'doomed')).toMatchObject({ status: 'succeeded', mode: 'realtime' });
  });

  it('a truncated answer goes to every repeat in its own run, never to another run nor to the shared cache', async () => {
    const c = cacheFor('run-t', 'read-write');
    provider.answer = 'truncated';
    const [t1, t2] = await Promise.all([send(c, 't1', 'long'), send(c, 't2', 'long')]);
    expect(t1).toMatchObject({ mode: 'realtime' });
    expect(t2).toMatchObject({ mode: 'cache', cacheMarker: expect.stringContaining('"from_custom_id":"t1"') });
    // A later repeat in the same run: the same answer, no call.
    expect(await send(c, 't3', 'long')).toMatchObject({ mode: 'cache', cacheMarker: expect.stringContaining('"from_custom_id":"t1"') });
    expect(provider.calls).toEqual(['t1']);
    // Not shared: estimates see no cached key, and another run calls for itself.
    expect(await store.cachedKeys([exactCacheKey(URL, body('long'))], 0)).toEqual([]);
    expect(await send(cacheFor('run-t2', 'read-write'), 'u1', 'long')).toMatchObject({ mode: 'realtime' });
    expect(provider.calls).toEqual(['t1', 'u1']);
  });

  it('an entry of the item itself (the worker died after writing it, before the result) is recorded as that item\'s call, not sent again', async () => {
    const c = cacheFor('run-c', 'read-write');
    const first = await send(c, 'c1', 'crash');
    // The resumed activity: the item is still pending in the store.
    const again = await send(c, 'c1', 'crash');
    expect(provider.calls).toEqual(['c1']);
    expect(again).toMatchObject({ status: 'succeeded', mode: 'realtime', costUsd: fullPrice, usage, requestId: 'req-c1' });
    expect(again!.cacheMarker).toBeUndefined();
    expect(JSON.parse(again!.responseJson!)).toEqual(first!.response);
  });
});
