// The semantic cache in a run (`run --semantic-cache`), end to end: a real dev server, the
// emulator over HTTP through the openai SDK (its embeddings carry lexical similarity), the
// worker's SQLite store. A file holds prompts, then their rewordings and negations: the
// rewordings reuse their prompt's answer without a chat call, no negation ever does, every
// line is in the output in input order, each reuse is marked with both texts and the
// similarity, and the run's spend is the chat calls plus every embedding call, priced from
// what the emulator itself counted.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { storePath } from '../../src/store/sqlite.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import { semanticPrompt } from '../../src/domain/semantic-prompt.ts';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../../src/domain/semantic-threshold.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { countEmbeddingInputTokens } from '../../src/llm/tokens.ts';
import type { EmulatorStats } from '../../src/emulator/stats.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';
import { client, outputLineCostUsd, readJsonl, runConfig, runToEnd, startWorker, tempDir } from '../support/harness.ts';
import { semanticPairs, type ChatBody, type PairKind, type SemanticPair } from '../support/semantic-pairs.ts';

const CHAT = '/v1/chat/completions';
const EMBEDDINGS = '/v1/embeddings';
const EMBEDDING_MODEL = 'text-embedding-3-small';
const pricing = loadDefaultPricing();

type Marker = { cache: string; similarity?: number; text?: string; matched_text?: string; from_run: string; from_custom_id: string; saved_usd: number };
type OutLine = { custom_id: string; response: { status_code: number; body: { model: string; choices: { finish_reason: string }[] } } | null; llm_batch?: Marker };

/** The pairs of the test file, per kind, and the file: every first prompt, then every second one. */
function pairFile(dir: string, name: string, counts: Partial<Record<PairKind, number>>, skip = 0): { path: string; ids: string[]; bodies: Map<string, ChatBody>; pairs: { kind: PairKind; a: string; b: string; pair: SemanticPair }[] } {
  const all = semanticPairs();
  const chosen = Object.entries(counts).flatMap(([kind, n]) => all.filter((p) => p.kind === kind).slice(skip, skip + n!));
  const pairs = chosen.map((pair, i) => ({ kind: pair.kind, a: `${pair.kind}-${i}-a`, b: `${pair.kind}-${i}-b`, pair }));
  const bodies = new Map<string, ChatBody>();
  for (const p of pairs) bodies.set(p.a, p.pair.a).set(p.b, p.pair.b);
  const ids = [...pairs.map((p) => p.a), ...pairs.map((p) => p.b)];
  const path = join(dir, name);
  writeFileSync(path, ids.map((id) => JSON.stringify({ custom_id: id, method: 'POST', url: CHAT, body: bodies.get(id) })).join('\n') + '\n');
  return { path, ids, bodies, pairs };
}

/** What the emulator's answers cost, per model, priced from the usage it counted itself. */
function emulatorSpendUsd(stats: EmulatorStats): number {
  let usd = 0;
  for (const [model, m] of Object.entries(stats.byModel)) {
    usd += costOfUsage(pricing, model, { promptTokens: m.promptTokens, cachedTokens: m.cachedTokens, completionTokens: m.completionTokens, reasoningTokens: 0 });
  }
  return usd;
}

/** Each item's recorded cost, read straight from the store's file. */
function itemCosts(home: string, runId: string): Map<string, number> {
  const db = new DatabaseSync(storePath(home), { readOnly: true });
  try {
    const rows = db.prepare('SELECT custom_id, cost_usd FROM items WHERE run_id = ?').all(runId) as { custom_id: string; cost_usd: number }[];
    return new Map(rows.map((r) => [r.custom_id, r.cost_usd]));
  } finally {
    db.close();
  }
}

/** Prompts the semantic cache holds, read straight from the store's file. */
function semanticRows(home: string): number {
  const db = new DatabaseSync(storePath(home), { readOnly: true });
  try {
    return Number((db.prepare('SELECT count(*) AS n FROM semantic_cache').get() as { n: number }).n);
  } finally {
    db.close();
  }
}

const embeddingUsdOf = (body: ChatBody): number => {
  const p = semanticPrompt(CHAT, body);
  if (!p.ok) throw new Error(p.reason);
  return costOfUsage(pricing, EMBEDDING_MODEL, { promptTokens: countEmbeddingInputTokens(EMBEDDING_MODEL, p.prompt.embeddingInput), cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 });
};
const textOf = (body: ChatBody): string => {
  const p = semanticPrompt(CHAT, body);
  if (!p.ok) throw new Error(p.reason);
  return p.prompt.text;
};

describe('semantic cache in a run', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `semantic-run-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, latencyMs: 5, jitterMs: 3 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('rewordings reuse their prompt\'s answer with no chat call, negations never do; lines in order, hits marked, spend = chat + embeddings', async () => {
    // 24 case/punctuation rewordings (reused when their prompt got a complete answer), 12 synonym rewordings (reused when similar
    // enough: then of their own prompt), 24 negation pairs and 8 changed numbers (never reused).
    const file = pairFile(home, 'pairs.jsonl', { format: 24, synonyms: 12, negation: 24, number: 8 });
    const firsts = file.pairs.length;
    // One chunk of first prompts, then one of second prompts: every first prompt is answered
    // (and remembered) before any second one is looked up.
    const config: RunConfig = runConfig({
      runId: `semantic-${Date.now()}`, inputPath: file.path, concurrency: 8, chunkSize: firsts, maxChunksInFlight: 1,
      cache: 'read-write', promptCache: 'off', semanticThreshold: DEFAULT_SEMANTIC_THRESHOLD,
    });
    emu.resetStats();
    const status = await runToEnd(c, config, taskQueue);
    const served = emu.stats();
    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ total: 2 * firsts, succeeded: 2 * firsts, failed: 0, pending: 0 });

    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(file.ids);
    expect(readJsonl(status.errorsPath!)).toEqual([]);
    const line = new Map(out.map((l) => [l.custom_id, l]));
    const hits = out.filter((l) => l.llm_batch);

    for (const p of file.pairs) {
      const [a, b] = [line.get(p.a)!, line.get(p.b)!];
      // A first prompt is never a hit: nothing like it was asked before (other tickets differ in account and name).
      expect(a.llm_batch, p.a).toBeUndefined();
      const m = b.llm_batch;
      if (p.kind === 'negation' || p.kind === 'number') {
        expect(m, `${p.b}: ${textOf(p.pair.b)}`).toBeUndefined();
        continue;
      }
      // A truncated answer (finish_reason "length": some tickets' max_tokens is small) is not
      // kept by the exact cache, so its prompt is not remembered and nothing can reuse it.
      const complete = a.response!.body.choices.every((ch) => ch.finish_reason === 'stop');
      if (!complete) expect(m, `${p.b}: its prompt's answer was truncated`).toBeUndefined();
      else if (p.kind === 'format') expect(m, p.b).toBeDefined();
      if (!m) continue;
      // The reuse, auditable: both texts, their similarity, where the answer came from.
      expect(m).toEqual({
        cache: 'semantic', similarity: expect.any(Number), text: textOf(p.pair.b), matched_text: textOf(p.pair.a),
        from_run: status.runId, from_custom_id: p.a, saved_usd: expect.any(Number),
      });
      expect(m.similarity).toBeGreaterThanOrEqual(DEFAULT_SEMANTIC_THRESHOLD);
      expect(m.similarity).toBeLessThanOrEqual(1);
      if (p.kind === 'format') expect(m.similarity).toBeGreaterThan(0.99);
      expect(b.response!.body).toEqual(a.response!.body);
      expect(m.saved_usd).toBeCloseTo(outputLineCostUsd(b, false), 10);
    }
    const semanticHits = hits.length;
    const isComplete = (l: OutLine): boolean => l.response!.body.choices.every((ch) => ch.finish_reason === 'stop');
    const formatComplete = file.pairs.filter((p) => p.kind === 'format' && isComplete(line.get(p.a)!)).length;
    const synonymHits = hits.filter((h) => h.custom_id.startsWith('synonyms-')).length;
    expect(formatComplete).toBeGreaterThanOrEqual(12);
    // Most negations had a remembered first prompt to be wrongly matched with (and were not).
    expect(file.pairs.filter((p) => p.kind === 'negation' && isComplete(line.get(p.a)!)).length).toBeGreaterThanOrEqual(12);
    expect(semanticHits).toBe(formatComplete + synonymHits);
    console.log(`semantic run: ${2 * firsts} lines, ${semanticHits} semantic hits: ${formatComplete} of 24 case/punctuation rewordings (all whose first answer was complete), ${synonymHits} of 12 synonym rewordings, 0 of 32 near misses`);
    for (const h of hits.filter((l) => l.custom_id.startsWith('synonyms-'))) console.log(`a synonym rewording reused: ${JSON.stringify(h.llm_batch)}`);
    // Remembered: exactly the prompts that were called and got a complete answer (never a hit, never a truncated one).
    expect(semanticRows(home)).toBe(out.filter((l) => !l.llm_batch && isComplete(l)).length);

    // Calls: one embedding per line (all distinct, so no exact hit first), a chat call per line that is not a hit.
    expect(served.byEndpoint[EMBEDDINGS]).toBe(2 * firsts);
    expect(served.byEndpoint[CHAT]).toBe(2 * firsts - semanticHits);
    expect(served.duplicateCalls).toBe(0);
    const requests = emu.requests();
    const chatIds = new Set(requests.filter((r) => r.path === CHAT).map((r) => r.id));
    const embeddingIds = new Set(requests.filter((r) => r.path === EMBEDDINGS).map((r) => r.id));
    expect(embeddingIds).toEqual(new Set(file.ids.map((id) => `${id}#embedding`)));
    for (const h of hits) expect(chatIds.has(h.custom_id)).toBe(false);
    expect(chatIds.size).toBe(2 * firsts - semanticHits);

    // Spend: every call the emulator answered (chat and embeddings), priced from its own counts.
    expect(served.byModel[EMBEDDING_MODEL]!.served).toBe(2 * firsts);
    expect(status.costUsd.spent).toBeCloseTo(emulatorSpendUsd(served), 9);
    // A hit costs its embedding; any other item its call plus its embedding.
    const costs = itemCosts(home, status.runId);
    for (const l of out) {
      const embedding = embeddingUsdOf(file.bodies.get(l.custom_id)!);
      const expected = l.llm_batch ? embedding : outputLineCostUsd(l, false) + embedding;
      expect(costs.get(l.custom_id), l.custom_id).toBeCloseTo(expected, 12);
    }
    // Tokens are the chat calls' (a hit has none of its own); the status counts the hits apart.
    expect(status.tokens.prompt).toBe(served.byModel['gpt-4o-mini']!.promptTokens);
    expect(status.cache).toEqual({ hits: semanticHits, semanticHits, savedUsd: expect.closeTo(hits.reduce((s, l) => s + l.llm_batch!.saved_usd, 0), 9) });

    // The same file again. The exact cache comes first: a line whose own answer it keeps makes
    // no call at all. A line reused last time is reused again (an embedding, no chat call);
    // a line whose answer was truncated is called again.
    emu.resetStats();
    const again = await runToEnd(c, { ...config, runId: `${config.runId}-again` }, taskQueue);
    const served2 = emu.stats();
    expect(again.counts.succeeded).toBe(2 * firsts);
    const out2 = readJsonl<OutLine>(again.outputPath!);
    expect(out2.map((l) => l.custom_id)).toEqual(file.ids);
    const kept = out.filter((l) => !l.llm_batch && isComplete(l)).map((l) => l.custom_id);
    const truncated = out.filter((l) => !isComplete(l)).map((l) => l.custom_id);
    const line2 = new Map(out2.map((l) => [l.custom_id, l]));
    for (const id of kept) expect(line2.get(id)!.llm_batch).toMatchObject({ cache: 'exact', from_run: status.runId, from_custom_id: id });
    for (const h of hits) expect(line2.get(h.custom_id)!.llm_batch).toEqual({ ...h.llm_batch, saved_usd: expect.any(Number) });
    for (const id of truncated) expect(line2.get(id)!.llm_batch).toBeUndefined();
    expect(served2.byEndpoint[EMBEDDINGS]).toBe(hits.length + truncated.length);
    expect(served2.byEndpoint[CHAT]).toBe(truncated.length);
    expect(again.costUsd.spent).toBeCloseTo(emulatorSpendUsd(served2), 9);
    expect(again.cache).toMatchObject({ hits: kept.length + hits.length, semanticHits: hits.length });
  }, 300_000);

  it('without --semantic-cache no embedding call is made; rewordings are called', async () => {
    const file = pairFile(home, 'plain.jsonl', { format: 6 }, 100);
    emu.resetStats();
    const status = await runToEnd(c, runConfig({ runId: `semantic-off-${Date.now()}`, inputPath: file.path, concurrency: 4, cache: 'read-write' }), taskQueue);
    expect(status.counts).toMatchObject({ succeeded: 12, failed: 0 });
    const served = emu.stats();
    expect(served.byEndpoint[EMBEDDINGS]).toBeUndefined();
    expect(served.byEndpoint[CHAT]).toBe(12);
    expect(readJsonl<OutLine>(status.outputPath!).some((l) => l.llm_batch)).toBe(false);
    expect(status.cache?.semanticHits).toBeUndefined();
  }, 120_000);
});
