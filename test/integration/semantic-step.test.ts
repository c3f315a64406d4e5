// The semantic step inside the realtime exact cache (cache/realtime-cache.ts with
// cache/semantic-step.ts), rule by rule: real embeddings from the emulator over HTTP, a real
// SQLite store; `call` stands for the chat call (it counts and answers as told), so each rule
// can be forced: a failed call, a truncated answer, a stop, an answer past the TTL or not
// shared with this run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { ProviderClient } from '../../src/llm/provider.ts';
import { RateLimiter } from '../../src/llm/rate-limiter.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import type { CacheMode } from '../../src/domain/exact-cache.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import type { ItemResult } from '../../src/store/item-store.ts';
import { SingleFlight } from '../../src/cache/single-flight.ts';
import type { SharedAnswer } from '../../src/cache/cache-results.ts';
import { RealtimeExactCache } from '../../src/cache/realtime-cache.ts';
import { SemanticCache } from '../../src/cache/semantic-cache.ts';
import { SemanticStep } from '../../src/cache/semantic-step.ts';

const URL = '/v1/chat/completions';
const MODEL = 'gpt-4o-mini';
const EMBEDDER = 'text-embedding-3-small';
const pricing = loadDefaultPricing();
const usage = { prompt: 100, cached: 0, completion: 20, reasoning: 0 };
const fullPrice = costOfUsage(pricing, MODEL, { promptTokens: 100, cachedTokens: 0, completionTokens: 20, reasoningTokens: 0 });
const body = (text: string) => ({ model: MODEL, messages: [{ role: 'system', content: 'Summarise the ticket.' }, { role: 'user', content: text }], max_tokens: 80 });
const ASKED = 'Hi, the mobile app keeps logging me out every few minutes. Account #634424. Thanks, Lena';
const REWORDED = 'hi,  the mobile app keeps logging me out every few minutes!! account #634424. thanks, lena';
const NEGATED = 'Hi, the mobile app does not keep logging me out every few minutes. Account #634424. Thanks, Lena';

/** The chat call's stand-in: counts calls, answers after a tick, as told. */
class Chat {
  calls: string[] = [];
  answer: 'ok' | 'truncated' | 'fail' | 'stopped' = 'ok';
  async call(customId: string, text: string): Promise<ItemResult | undefined> {
    this.calls.push(customId);
    await new Promise((r) => setTimeout(r, 5));
    if (this.answer === 'stopped') return undefined;
    if (this.answer === 'fail') return { customId, status: 'failed', attempts: 1, model: MODEL, mode: 'realtime', statusCode: 400, error: { code: 'bad', message: 'no' } };
    const finish = this.answer === 'truncated' ? 'length' : 'stop';
    const response = { id: `chatcmpl-${customId}`, choices: [{ index: 0, message: { role: 'assistant', content: `re: ${text}`, refusal: null }, finish_reason: finish }], usage: { prompt_tokens: 100, completion_tokens: 20 } };
    return { customId, status: 'succeeded', attempts: 1, model: MODEL, mode: 'realtime', statusCode: 200, requestId: `req-${customId}`, response, usage, costUsd: fullPrice };
  }
}

describe('the semantic step of the realtime cache', () => {
  let emu: RunningEmulator;
  let store: SqliteItemStore;
  let semanticCache: SemanticCache;
  let chat: Chat;
  const flights = new SingleFlight<SharedAnswer>();
  const provider = (): ProviderClient => new ProviderClient({ baseURL: emu.baseUrl, limiter: new RateLimiter({}), maxAttempts: 2, requestTimeoutMs: 10_000, backoff: { initialMs: 1, maxMs: 5, multiplier: 2, jitter: 0 } });

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    await emu.close();
  });
  beforeEach(() => {
    store = new SqliteItemStore(join(mkdtempSync(join(tmpdir(), 'semantic-step-')), 'items.sqlite'));
    semanticCache = new SemanticCache(store, { syncIntervalMs: 0 });
    chat = new Chat();
    emu.resetStats();
  });
  afterEach(() => {
    semanticCache.close();
    store.close();
  });

  const cacheFor = (runId: string, cache: CacheMode = 'read-write', extra: Partial<RunConfig> = {}, now = Date.now): RealtimeExactCache => {
    const step = new SemanticStep({ cache: semanticCache, provider: provider(), pricing, threshold: 0.9 });
    return new RealtimeExactCache(store, flights, { runId, cache, ...extra } as RunConfig, pricing, now, step);
  };
  const send = (c: RealtimeExactCache, customId: string, text: string) => c.through({ customId, url: URL, attempts: 0 }, body(text), MODEL, () => chat.call(customId, text));
  /** What the emulator's embedding answers cost, from the tokens it counted. */
  const embeddingSpend = (): number => costOfUsage(pricing, EMBEDDER, { promptTokens: emu.stats().byModel[EMBEDDER]?.promptTokens ?? 0, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 });
  const rows = async (): Promise<number> => (await store.semanticEntriesSince({ embeddingModel: EMBEDDER, dimensions: 1536 }, 0, 1000)).length;

  it('a miss calls and is remembered; a rewording is then a hit: no chat call, its embedding\'s cost, marked with both texts', async () => {
    const c = cacheFor('run-a');
    const first = (await send(c, 'a1', ASKED))!;
    const firstEmbedding = embeddingSpend();
    expect(firstEmbedding).toBeGreaterThan(0);
    // The item's cost: its call plus its embedding.
    expect(first).toMatchObject({ status: 'succeeded', mode: 'realtime' });
    expect(first.costUsd).toBeCloseTo(fullPrice + firstEmbedding, 15);
    expect(await rows()).toBe(1);

    // Two identical rewordings in flight together: each looks for itself (a hit's marker is its own).
    const [h1, h2] = (await Promise.all([send(c, 'a2', REWORDED), send(c, 'a3', REWORDED)])) as ItemResult[];
    expect(chat.calls).toEqual(['a1']);
    expect(emu.stats().byEndpoint['/v1/embeddings']).toBe(3);
    for (const [h, id] of [[h1!, 'a2'], [h2!, 'a3']] as const) {
      expect(h).toMatchObject({ customId: id, status: 'succeeded', mode: 'cache', usage: { prompt: 0, cached: 0, completion: 0, reasoning: 0 }, savedUsd: fullPrice, requestId: 'req-a1' });
      expect(JSON.parse(h.responseJson!)).toEqual(first.response);
      expect(JSON.parse(h.cacheMarker!)).toEqual({
        cache: 'semantic', similarity: expect.closeTo(1, 4), text: 'hi, the mobile app keeps logging me out every few minutes!! account #634424. thanks, lena', matched_text: ASKED,
        from_run: 'run-a', from_custom_id: 'a1', saved_usd: Math.round(fullPrice * 1e12) / 1e12,
      });
    }
    // Each hit cost its own embedding: the three items together cost the call and every embedding the emulator counted.
    expect(first.costUsd! + h1!.costUsd! + h2!.costUsd!).toBeCloseTo(fullPrice + embeddingSpend(), 15);
    expect(h1!.costUsd).toBeGreaterThan(0);
    // A hit is not remembered.
    expect(await rows()).toBe(1);
    // The item itself again: the exact cache answers first, with no embedding.
    expect(await send(c, 'a4', ASKED)).toMatchObject({ mode: 'cache', cacheMarker: expect.stringContaining('"cache":"exact"') });
    expect(emu.stats().byEndpoint['/v1/embeddings']).toBe(3);
  });

  it('a negation is no hit: it calls and is remembered as its own prompt', async () => {
    const c = cacheFor('run-n');
    await send(c, 'n1', ASKED);
    expect(await send(c, 'n2', NEGATED)).toMatchObject({ mode: 'realtime' });
    expect(chat.calls).toEqual(['n1', 'n2']);
    expect(await rows()).toBe(2);
  });

  it('a failed call costs its embedding and is not remembered; a truncated answer is not remembered (only exact repeats in its own run get it); a stop records nothing', async () => {
    const c = cacheFor('run-f');
    chat.answer = 'fail';
    const failed = (await send(c, 'f1', ASKED))!;
    expect(failed.status).toBe('failed');
    expect(failed.costUsd).toBeCloseTo(embeddingSpend(), 15);
    expect(failed.costUsd).toBeGreaterThan(0);
    chat.answer = 'truncated';
    expect(await send(c, 'f2', ASKED)).toMatchObject({ status: 'succeeded', mode: 'realtime' });
    // The run's own repeat gets the truncated answer from the exact cache (kept for this run only), with no call.
    expect(await send(c, 'f2-again', ASKED)).toMatchObject({ status: 'succeeded', mode: 'cache', cacheMarker: expect.stringContaining('"cache":"exact"') });
    chat.answer = 'stopped';
    expect(await send(c, 'f3', REWORDED)).toBeUndefined();
    expect(await rows()).toBe(0);
    // So a rewording calls too.
    chat.answer = 'ok';
    expect(await send(c, 'f4', REWORDED)).toMatchObject({ mode: 'realtime' });
    expect(chat.calls).toEqual(['f1', 'f2', 'f3', 'f4']);
  });

  it('a match whose answer this run may not use (past the TTL, or kept unshared by another run) is a miss, and the new answer is remembered', async () => {
    // Answered two days ago by a run that shared it.
    await send(cacheFor('old', 'read-write', {}, () => Date.now() - 2 * 86_400_000), 'o1', ASKED);
    // Answered by a run with --cache read: its answer is its own.
    await send(cacheFor('private', 'read'), 'p1', 'The invoice export drops the last row of every file. Account #777001. Thanks, Aiko');
    expect(await rows()).toBe(2);
    const c = cacheFor('new', 'read-write', { cacheTtlMs: 86_400_000 });
    expect(await send(c, 'x1', REWORDED)).toMatchObject({ mode: 'realtime' });
    expect(await send(c, 'x2', 'the invoice export drops the last row of every file. account #777001. thanks, aiko')).toMatchObject({ mode: 'realtime' });
    expect(chat.calls).toEqual(['o1', 'p1', 'x1', 'x2']);
    expect(await rows()).toBe(4);
    // The private run itself may use its own answer.
    expect(await send(cacheFor('private', 'read'), 'p2', 'The invoice export drops the last row of every file! Account #777001. Thanks, Aiko')).toMatchObject({ mode: 'cache', cacheMarker: expect.stringContaining('"from_custom_id":"p1"') });
  });
});
