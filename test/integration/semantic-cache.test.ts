// The semantic cache end to end: embeddings from the emulator over real HTTP through the
// openai SDK (ProviderClient), vectors in a real store (SQLite, and PostgreSQL for workers
// sharing entries), the in-memory index, the guard and the threshold.
//
// The evaluation runs the whole pipeline over the pair set of test/support/semantic-pairs.ts:
// every pair's first prompt is remembered, every second prompt is looked up. A lookup with a
// low threshold returns the most similar candidate the guard accepts (or none); at any
// higher threshold t the cache hits exactly when that candidate's similarity is ≥ t, so one
// pass gives the precision/recall table over thresholds (printed for the closing note). A
// second cache instance at the default threshold, reading the same store as another worker
// would, must decide the same.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { ProviderClient } from '../../src/llm/provider.ts';
import { RateLimiter } from '../../src/llm/rate-limiter.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { countEmbeddingInputTokens } from '../../src/llm/tokens.ts';
import { costOfUsage, type PricingTable } from '../../src/domain/pricing.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { PostgresItemStore } from '../../src/store/postgres.ts';
import type { ItemStore } from '../../src/store/item-store.ts';
import { INSERT_SEMANTIC, semanticInsertParams } from '../../src/store/semantic-rows.ts';
import { DEFAULT_SEMANTIC_THRESHOLD, SemanticCache, type SemanticCacheOptions, type SemanticLookup, type SemanticLookupContext } from '../../src/cache/semantic-cache.ts';
import { NEAR_MISS_KINDS, PARAPHRASE_KINDS, semanticPairs, type PairKind, type SemanticPair } from '../support/semantic-pairs.ts';

const URL_CHAT = '/v1/chat/completions';
let emu: RunningEmulator;
let pricing: PricingTable;
const opened: { close(): unknown }[] = [];

beforeAll(async () => {
  emu = await startEmulator();
  pricing = loadDefaultPricing();
});
afterAll(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
  await emu.close();
});

const provider = (): ProviderClient => new ProviderClient({ baseURL: emu.baseUrl, limiter: new RateLimiter({}), maxAttempts: 2, requestTimeoutMs: 10_000, backoff: { initialMs: 1, maxMs: 5, multiplier: 2, jitter: 0 } });
const sqliteStore = (): SqliteItemStore => {
  const s = new SqliteItemStore(join(mkdtempSync(join(tmpdir(), 'semantic-')), 'items.sqlite'));
  opened.push(s);
  return s;
};
function cache(store: ItemStore, opts: SemanticCacheOptions = {}): SemanticCache {
  const c = new SemanticCache(store, opts);
  opened.push(c);
  return c;
}
/** A run's side of a lookup: its provider client, pricing table and threshold. */
const run = (threshold = DEFAULT_SEMANTIC_THRESHOLD): SemanticLookupContext => ({ provider: provider(), pricing, threshold });
const ticketBody = (user: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Summarise the ticket.' }, { role: 'user', content: user }], max_tokens: 60 });
const keyOf = (i: number, side: string): string => `${side}${String(i).padStart(63, '0')}`;

/** Runs fn over items, `width` at a time, keeping results in order. */
async function inPool<T, R>(items: T[], width: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }));
  return out;
}

interface Outcome {
  pair: SemanticPair;
  /** Similarity of the candidate the guard accepted (−∞ when none), and whether it is the pair's own first prompt. */
  hitSimilarity: number;
  hitKey?: string;
  ownPartner: boolean;
  refusal?: string;
}

function score(outcomes: Outcome[], threshold: number, kinds: readonly PairKind[]): { precision: number; recall: number; tp: number; fp: number; positives: number } {
  let tp = 0;
  let fp = 0;
  let positives = 0;
  for (const o of outcomes) {
    if (!kinds.includes(o.pair.kind)) continue;
    if (o.pair.shouldHit) positives++;
    if (o.hitSimilarity < threshold) continue;
    if (o.pair.shouldHit && o.ownPartner) tp++;
    else fp++;
  }
  return { precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp / positives, tp, fp, positives };
}

describe('semantic cache: evaluation on the pair set (emulator embeddings over HTTP → store → index → guard → threshold)', () => {
  it('reports precision and recall over thresholds; at the default, precision ≥ 0.99 and no negation pair is ever a hit', async () => {
    const pairs = semanticPairs();
    const store = sqliteStore();
    const writer = cache(store);
    const low = run(0.5);
    emu.resetStats();
    const t0 = performance.now();
    // Every first prompt remembered, under its own exact-cache key.
    const remembered = await inPool(pairs, 8, async (p, i) => {
      const found = await writer.lookup({ url: URL_CHAT, body: p.a, customId: `a${i}` }, low);
      expect(found.probe, `pair ${i}: ${found.skipped?.message}`).toBeDefined();
      await writer.remember(found.probe!, keyOf(i, 'a'));
      return found;
    });
    expect(writer.size).toBe(pairs.length);
    // Every second prompt looked up, with a threshold low enough to see each decision's similarity.
    const lookups = await inPool(pairs, 8, (p, i) => writer.lookup({ url: URL_CHAT, body: p.b, customId: `b${i}` }, low));
    const outcomes: Outcome[] = lookups.map((l, i) => ({
      pair: pairs[i]!,
      hitSimilarity: l.hit ? l.hit.similarity : -Infinity,
      hitKey: l.hit?.key,
      ownPartner: l.hit?.key === keyOf(i, 'a'),
      refusal: l.refusedBy?.reason,
    }));
    const seconds = (performance.now() - t0) / 1000;

    // Every lookup made exactly one embeddings call, priced from the usage the emulator reported.
    expect(emu.stats().byEndpoint['/v1/embeddings']).toBe(2 * pairs.length);
    expect(emu.stats().duplicateCalls).toBe(0);
    const b0 = lookups[0]!;
    const tokens = countEmbeddingInputTokens('text-embedding-3-small', b0.probe!.prompt.embeddingInput);
    expect(b0.embedding).toMatchObject({ model: 'text-embedding-3-small', usage: { prompt: tokens, cached: 0, completion: 0, reasoning: 0 }, attempts: 1 });
    expect(b0.embedding!.costUsd).toBeCloseTo(costOfUsage(pricing, 'text-embedding-3-small', { promptTokens: tokens, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 }), 12);
    const embeddingSpend = [...remembered, ...lookups].reduce((s, l) => s + (l.embedding?.costUsd ?? 0), 0);

    // The table for the closing note.
    const briefSet = [...PARAPHRASE_KINDS, ...NEAR_MISS_KINDS];
    const allKinds = [...briefSet, 'topic' as const];
    const kinds = [...new Set(pairs.map((p) => p.kind))];
    const lines = [
      `semantic cache evaluation: ${pairs.length} pairs (${pairs.filter((p) => p.shouldHit).length} paraphrases), ${(2 * pairs.length)} embedding calls in ${seconds.toFixed(1)} s, $${embeddingSpend.toFixed(6)} of embeddings at list price`,
      'threshold | precision (paraphrase + guard near-misses) | precision (+ topic swaps) | recall | ' + kinds.map((k) => k.padStart(9)).join(' '),
    ];
    for (const t of [0.8, 0.85, 0.88, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.97]) {
      const brief = score(outcomes, t, briefSet);
      const all = score(outcomes, t, allKinds);
      const rates = kinds.map((k) => {
        const of = outcomes.filter((o) => o.pair.kind === k);
        return (of.filter((o) => o.hitSimilarity >= t).length / of.length).toFixed(3).padStart(9);
      });
      lines.push(`${t.toFixed(2).padStart(9)}${t === DEFAULT_SEMANTIC_THRESHOLD ? '*' : ' '}| ${brief.precision.toFixed(4).padStart(42)} | ${all.precision.toFixed(4).padStart(24)} | ${all.recall.toFixed(3).padStart(6)} | ${rates.join(' ')}`);
    }
    lines.push('(columns per kind: share of pairs that hit; * = DEFAULT_SEMANTIC_THRESHOLD)');
    const refusalCounts = new Map<string, number>();
    for (const o of outcomes) if (o.refusal) refusalCounts.set(`${o.pair.kind}→${o.refusal}`, (refusalCounts.get(`${o.pair.kind}→${o.refusal}`) ?? 0) + 1);
    const refusals = [...refusalCounts].map(([k, n]) => `${k} ${n}`);
    lines.push(`guard refusals of the best candidate (threshold 0.5): ${refusals.join(', ')}`);
    console.log(lines.join('\n'));

    // The claims.
    const atDefault = score(outcomes, DEFAULT_SEMANTIC_THRESHOLD, allKinds);
    expect(atDefault.precision).toBeGreaterThanOrEqual(0.99);
    expect(score(outcomes, DEFAULT_SEMANTIC_THRESHOLD, briefSet).precision).toBeGreaterThanOrEqual(0.99);
    expect(atDefault.recall).toBeGreaterThan(0.6);
    // No negation pair is a hit at any threshold (the guard refuses them all), nor any other guarded near miss.
    for (const o of outcomes) if (NEAR_MISS_KINDS.includes(o.pair.kind)) expect(o.hitSimilarity, `${o.pair.kind} line ${o.pair.line}`).toBe(-Infinity);
    expect(outcomes.filter((o) => o.pair.kind === 'negation').every((o) => o.refusal === 'negation' || o.refusal === undefined)).toBe(true);
    // Case and punctuation alone never stop a hit.
    expect(outcomes.filter((o) => o.pair.kind === 'format').every((o) => o.ownPartner && o.hitSimilarity > 0.99)).toBe(true);

    // Another worker's cache at the default threshold, reading the same store (HNSW past 200
    // vectors a scope), decides the same; on every third pair, to keep the test short.
    const reader = cache(store, { exactScanBelow: 200 });
    const atDefaultThreshold = run();
    const sample = pairs.map((_, i) => i).filter((i) => i % 3 === 0);
    const decided = await inPool(sample, 8, (i) => reader.lookup({ url: URL_CHAT, body: pairs[i]!.b, customId: `r${i}` }, atDefaultThreshold));
    expect(reader.size).toBe(pairs.length);
    let agree = 0;
    sample.forEach((i, j) => {
      const expected = outcomes[i]!.hitSimilarity >= DEFAULT_SEMANTIC_THRESHOLD;
      const l: SemanticLookup = decided[j]!;
      if (Boolean(l.hit) === expected && l.hit?.key === (expected ? outcomes[i]!.hitKey : undefined)) agree++;
      if (NEAR_MISS_KINDS.includes(pairs[i]!.kind)) expect(l.hit).toBeUndefined();
    });
    console.log(`a second worker's cache at the default threshold (HNSW index) agrees on ${agree} of ${sample.length} pairs`);
    expect(agree / sample.length).toBeGreaterThanOrEqual(0.99);
  }, 600_000);
});

describe('semantic cache: lookups', () => {
  const ticket = (user: string, system = 'Classify the support ticket.') => ({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: system }, { role: 'user', content: user }], max_tokens: 40, temperature: 0.2 });
  const asked = 'Hi, the mobile app keeps logging me out every few minutes. Account #634424. Thanks, Lena';

  it('hits a rewording with both texts and the similarity; refuses a near miss with the reason; stays within its scope', async () => {
    // A lower threshold than the default, so that the negated prompt (a short text, so a
    // large change) is a candidate and the guard's refusal shows.
    const c = cache(sqliteStore());
    const r = run(0.8);
    const first = await c.lookup({ url: URL_CHAT, body: ticket(asked), customId: 'c1' }, r);
    expect(first.hit).toBeUndefined();
    expect(first.refusedBy).toBeUndefined();
    expect(await c.remember(first.probe!, keyOf(1, 'k'))).toBe(true);
    // The same answer again adds nothing.
    expect(await c.remember(first.probe!, keyOf(1, 'k'))).toBe(false);

    const reworded = await c.lookup({ url: URL_CHAT, body: ticket('hi,  the mobile app keeps logging me out every few minutes!! Account #634424. Thanks, Lena'), customId: 'c2' }, r);
    expect(reworded.hit).toEqual({ key: keyOf(1, 'k'), similarity: expect.closeTo(1, 4), matchedText: asked, text: 'hi, the mobile app keeps logging me out every few minutes!! Account #634424. Thanks, Lena' });

    const negated = await c.lookup({ url: URL_CHAT, body: ticket(asked.replace('keeps logging', 'does not keep logging')), customId: 'c3' }, r);
    expect(negated.hit).toBeUndefined();
    expect(negated.refusedBy).toMatchObject({ reason: 'negation', matchedText: asked });
    expect(negated.refusedBy!.similarity).toBeGreaterThanOrEqual(0.8);

    // Another system prompt, model or parameter is another scope: no candidate at all.
    for (const body of [ticket(asked, 'Summarise the ticket.'), { ...ticket(asked), model: 'gpt-4.1-mini' }, { ...ticket(asked), temperature: 0 }]) {
      const other = await c.lookup({ url: URL_CHAT, body, customId: 'c4' }, r);
      expect(other.hit).toBeUndefined();
      expect(other.refusedBy).toBeUndefined();
    }
  });

  it('skips what it cannot judge without a call, and reports a failed embedding call as skipped, at no cost', async () => {
    const c = cache(sqliteStore());
    emu.resetStats();
    const image = await c.lookup({ url: URL_CHAT, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }, customId: 'i1' }, run());
    expect(image).toEqual({ skipped: { code: 'not_cacheable', message: 'a message has content other than text' } });
    expect(emu.stats().requests).toBe(0);
    emu.configure({ errorRate: 1 });
    try {
      const failed = await c.lookup({ url: URL_CHAT, body: ticket(asked), customId: 'f1' }, run());
      expect(failed.skipped?.code).toBe('embedding_failed');
      expect(failed.skipped?.message).toMatch(/50[03]/);
      expect(failed.embedding).toMatchObject({ costUsd: 0, usage: { prompt: 0 } });
      expect(failed.probe).toBeUndefined();
    } finally {
      emu.configure({ errorRate: 0 });
    }
    // A run configured wrong is told so: no price for the embedding model, a threshold that is no similarity.
    const unpriced = { ...pricing, models: { 'gpt-4o-mini': pricing.models['gpt-4o-mini']! } };
    await expect(c.lookup({ url: URL_CHAT, body: ticket(asked), customId: 'p1' }, { ...run(), pricing: unpriced })).rejects.toThrow(/no price for model "text-embedding-3-small"/);
    await expect(c.lookup({ url: URL_CHAT, body: ticket(asked), customId: 'p2' }, run(1.5))).rejects.toThrow(/cosine similarity in \(0, 1\], not 1.5/);
  });

  it('does not reuse entries older than its TTL', async () => {
    let now = Date.UTC(2026, 0, 1);
    const store = sqliteStore();
    const c = cache(store, { ttlMs: 60_000, now: () => now });
    const first = await c.lookup({ url: URL_CHAT, body: ticket(asked), customId: 't1' }, run());
    await c.remember(first.probe!, keyOf(2, 'k'));
    now += 59_000;
    expect((await c.lookup({ url: URL_CHAT, body: ticket(asked), customId: 't2' }, run())).hit?.key).toBe(keyOf(2, 'k'));
    now += 2_000;
    expect((await c.lookup({ url: URL_CHAT, body: ticket(asked), customId: 't3' }, run())).hit).toBeUndefined();
    // A new worker does not even load it.
    const fresh = cache(store, { ttlMs: 60_000, now: () => now });
    await fresh.sync(true);
    expect(fresh.size).toBe(0);
  });
});

describe('semantic cache: workers share entries through the store', () => {
  const adminUrl = inject('databaseUrl');
  let schemas = 0;
  /** A new, empty schema of the test database: each test's PostgreSQL store starts empty. */
  async function freshSchema(): Promise<string> {
    const schema = `sem_${process.pid}_${Date.now().toString(36)}_${schemas++}`;
    const c = new pg.Client(adminUrl);
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
    const url = new URL(adminUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return url.toString();
  }

  const stores: [string, () => Promise<[ItemStore, ItemStore]>][] = [
    ['SQLite (two handles on one file)', async () => {
      const path = join(mkdtempSync(join(tmpdir(), 'semantic-')), 'items.sqlite');
      const a = new SqliteItemStore(path);
      const b = new SqliteItemStore(path);
      opened.push(a, b);
      return [a, b];
    }],
    ['PostgreSQL (two pools)', async () => {
      const schemaUrl = await freshSchema();
      const a = await PostgresItemStore.open(schemaUrl, { poolSize: 4 });
      const b = await PostgresItemStore.open(schemaUrl, { poolSize: 4 });
      opened.push(a, b);
      return [a, b];
    }],
  ];

  it('PostgreSQL: a row whose id was taken first but committed last is still taken in', async () => {
    const schemaUrl = await freshSchema();
    const store = await PostgresItemStore.open(schemaUrl, { poolSize: 2 });
    opened.push(store);
    const c = cache(store, { syncIntervalMs: 0, gapWaitMs: 60_000 });
    const lateText = 'The invoice export drops the last row of every file. Account #777001. Thanks, Aiko';
    const late = (await c.lookup({ url: URL_CHAT, body: ticketBody(lateText), customId: 'late' }, run())).probe!;
    await c.sync(true);
    const before = c.size;
    // Another worker's insert takes its id, and stays uncommitted...
    const other = new pg.Client(schemaUrl);
    await other.connect();
    try {
      await other.query('BEGIN');
      let n = 0;
      const params = semanticInsertParams({ ...c.space, vector: late.vector, promptText: late.prompt.text, exactKey: keyOf(1, 'late'), model: late.prompt.model, scopeKey: late.scopeKey, createdAt: Date.now() });
      await other.query(INSERT_SEMANTIC.replace(/\?/g, () => `$${++n}`), params);
      // ...while this one inserts and commits a higher id, and reads past it.
      const early = (await c.lookup({ url: URL_CHAT, body: ticketBody('The CSV import rejects files with a BOM. Account #777002. Thanks, Olu'), customId: 'early' }, run())).probe!;
      expect(await c.remember(early, keyOf(2, 'early'))).toBe(true);
      await c.sync(true);
      expect(c.size).toBe(before + 1);
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    await c.sync(true);
    expect(c.size).toBe(before + 2);
    expect((await c.lookup({ url: URL_CHAT, body: ticketBody(lateText.toLowerCase()), customId: 'again' }, run())).hit?.key).toBe(keyOf(1, 'late'));
  });

  for (const [name, open] of stores) {
    it(`${name}: each sees what the other remembered, written concurrently`, async () => {
      const [storeA, storeB] = await open();
      const a = cache(storeA, { syncIntervalMs: 0 });
      const b = cache(storeB, { syncIntervalMs: 0 });
      const pairs = semanticPairs().filter((p) => p.kind === 'format').slice(0, 60);
      // Both write at once, interleaved: ids are taken in one order and may commit in another.
      await Promise.all(pairs.map(async (p, i) => {
        const mine = i % 2 === 0 ? a : b;
        const found = await mine.lookup({ url: URL_CHAT, body: p.a, customId: `w${i}` }, run());
        await mine.remember(found.probe!, keyOf(i, 'w'));
      }));
      await Promise.all([a.sync(true), b.sync(true)]);
      expect([a.size, b.size]).toEqual([pairs.length, pairs.length]);
      // Each finds the other's entries for the rewordings.
      const hits = await Promise.all(pairs.map((p, i) => (i % 2 === 0 ? b : a).lookup({ url: URL_CHAT, body: p.b, customId: `x${i}` }, run())));
      const own = hits.filter((h, i) => h.hit?.key === keyOf(i, 'w')).length;
      expect(own).toBe(pairs.length);
    }, 120_000);
  }
});
