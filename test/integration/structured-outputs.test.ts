// --schema end to end: a real dev server, the emulator over HTTP breaking the schema in 10% of
// its answers (--schema-violation-rate), the real openai SDK and the worker's SQLite store.
// Every item ends valid (in the output, in --parsed and, its answer only, in the cache) or
// failed with schema_mismatch after its retries; every attempt is paid and counted, so spend
// is the emulator's served tokens priced, to 1e-6, in realtime and in batch mode; a cached
// answer that does not pass (shared by a run without --schema) is a miss, called again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { SqliteItemStore, storePath } from '../../src/store/sqlite.ts';
import { exportParsed } from '../../src/activities/export-parsed.ts';
import { checkAnswer } from '../../src/llm/answer-check.ts';
import { withResponseFormat, type ResponseSchema } from '../../src/domain/response-schema.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import type { RunConfig, RunStatus } from '../../src/domain/run-types.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { chatLine, client, readJsonl, runConfig, runToEnd, startWorker, tempDir, writeChatInput } from '../support/harness.ts';

type OutLine = { custom_id: string; response: { status_code: number; body: unknown } | null; error: { code: string; message: string } | null };

const ticket: ResponseSchema = {
  name: 'ticket',
  schema: {
    type: 'object',
    properties: {
      category: { type: 'string', enum: ['billing', 'bug', 'feature_request', 'other'] },
      urgency: { type: 'integer', minimum: 1, maximum: 5 },
      summary: { type: 'string' },
      needs_human: { type: 'boolean' },
    },
    required: ['category', 'urgency', 'summary', 'needs_human'],
    additionalProperties: false,
  },
};
/** What a request of this run asks (only response_format matters to the check). */
const asked = withResponseFormat('/v1/chat/completions', {}, ticket);
/** Lines carrying their own response_format keep it, and are checked against it. */
const ownFormat = { type: 'json_schema', json_schema: { name: 'label', strict: true, schema: { type: 'object', properties: { label: { type: 'string', enum: ['spam', 'ham'] } }, required: ['label'], additionalProperties: false } } };
const OWN = 10;
const isOwn = (customId: string): boolean => customId.startsWith('own-');
const askedOf = (customId: string): unknown => (isOwn(customId) ? { response_format: ownFormat } : asked);
const answerWith = (content: string) => ({ choices: [{ message: { content, refusal: null } }] });

/** The emulator's served tokens for gpt-4o-mini, priced (at the Batch discount when `batch`). */
function servedUsd(emu: RunningEmulator, batch: boolean): number {
  const m = emu.stats().byModel['gpt-4o-mini']!;
  return costOfUsage(loadDefaultPricing(), 'gpt-4o-mini', { promptTokens: m.promptTokens, cachedTokens: m.cachedTokens, completionTokens: m.completionTokens, reasoningTokens: 0 }, { batch });
}

describe('structured outputs (--schema)', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `schema-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, schemaViolationRate: 0.1, batchValidatingMs: 100, batchInProgressMs: 600, batchFinalizingMs: 100 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  /** The checks both modes share: valid or schema_mismatch, --parsed, the cache, the calls and the money. */
  async function expectValidOrMismatch(status: RunStatus, runId: string, batch: boolean): Promise<void> {
    expect(status.state).toBe('completed');
    expect(status.counts.total).toBe(1000);
    expect(status.counts.succeeded + status.counts.failed).toBe(1000);
    const stats = emu.stats();
    // About 10% of the first answers broke the schema, and were asked again.
    expect(stats.schemaViolations).toBeGreaterThan(50);
    expect(stats.schemaViolations).toBeLessThan(200);
    // One call per valid answer, one per broken one (at most 3 per item: retries = 2).
    expect(stats.served).toBe(status.counts.succeeded + stats.schemaViolations);
    expect(stats.schemaViolations).toBeGreaterThanOrEqual(3 * status.counts.failed);

    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out).toHaveLength(status.counts.succeeded);
    for (const l of out) expect(checkAnswer(askedOf(l.custom_id), l.response!.body).ok).toBe(true);
    const errors = readJsonl<OutLine>(status.errorsPath!);
    expect(errors).toHaveLength(status.counts.failed);
    for (const l of errors) {
      expect(l.error!.code).toBe('schema_mismatch');
      expect(l.error!.message).toMatch(/does not match the schema 'ticket': .*; content: /);
      expect(checkAnswer(askedOf(l.custom_id), l.response!.body).ok).toBe(false);
    }

    // Every attempt was paid for and counted: spend is what the emulator served, priced.
    expect(Math.abs(status.costUsd.spent - servedUsd(emu, batch))).toBeLessThan(1e-6);
    // And its tokens: the run's totals are every answer's, discarded ones included.
    const m = stats.byModel['gpt-4o-mini']!;
    expect({ prompt: status.tokens.prompt, completion: status.tokens.completion }).toEqual({ prompt: m.promptTokens, completion: m.completionTokens });

    // --parsed: one record per success, its fields the schema's, in both formats.
    const store = new SqliteItemStore(storePath(home));
    try {
      const jsonl = join(home, `${runId}-parsed.jsonl`);
      expect(await exportParsed(store, runId, jsonl, 'jsonl')).toBe(status.counts.succeeded);
      const parsed = readJsonl<Record<string, unknown>>(jsonl);
      expect(parsed.map((r) => r.custom_id)).toEqual(out.map((l) => l.custom_id));
      for (const { custom_id: id, ...fields } of parsed) expect(checkAnswer(askedOf(String(id)), answerWith(JSON.stringify(fields))).ok).toBe(true);
      const csv = join(home, `${runId}-parsed.csv`);
      expect(await exportParsed(store, runId, csv, 'csv')).toBe(status.counts.succeeded);
      const rows = readFileSync(csv, 'utf8').trimEnd().split('\n');
      expect(rows[0]!.startsWith('custom_id,category,urgency,summary,needs_human')).toBe(true);
      expect(rows).toHaveLength(status.counts.succeeded + 1);
      const first = parsed[0]!;
      expect(rows[1]!.startsWith([first.custom_id, first.category, first.urgency, first.summary, first.needs_human].join(','))).toBe(true);
    } finally {
      await store.close();
    }

    // The cache holds only answers that passed.
    const db = new DatabaseSync(storePath(home), { readOnly: true, timeout: 10_000 });
    try {
      const rows = db.prepare('SELECT custom_id, response FROM response_cache WHERE run_id = ?').all(runId) as { custom_id: string; response: string }[];
      expect(rows.length).toBe(status.counts.succeeded);
      for (const r of rows) expect(checkAnswer(askedOf(r.custom_id), JSON.parse(r.response)).ok).toBe(true);
    } finally {
      db.close();
    }
  }

  it('realtime, 1,000 items, 10% broken answers: every item valid or schema_mismatch after 2 retries; spend exact', async () => {
    const { lines } = writeChatInput(home, 1000 - OWN, 'realtime-base.jsonl');
    // The last lines carry their own response_format: kept, and what their answers are checked against.
    const own = Array.from({ length: OWN }, (_, i) =>
      JSON.stringify({ custom_id: `own-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Is message ${i} spam?` }], max_tokens: 40, response_format: ownFormat } }));
    const path = join(home, 'realtime.jsonl');
    writeFileSync(path, `${[...lines, ...own].join('\n')}\n`);
    const runId = `schema-rt-${Date.now()}`;
    emu.resetStats();
    const t0 = Date.now();
    const status = await runToEnd(c, runConfig({ runId, inputPath: path, concurrency: 64, chunkSize: 250, cache: 'read-write', responseSchema: ticket, schemaRetries: 2 }), taskQueue);
    console.log(`--schema realtime: 1,000 items, ${emu.stats().schemaViolations} broken answers asked again, ${status.counts.failed} schema_mismatch, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await expectValidOrMismatch(status, runId, false);
    const ownAnswers = readJsonl<OutLine>(status.outputPath!).filter((l) => isOwn(l.custom_id));
    expect(ownAnswers.length).toBeGreaterThanOrEqual(OWN - 1);
    for (const l of ownAnswers) expect(Object.keys(checkAnswer(askedOf(l.custom_id), l.response!.body).ok ? JSON.parse((l.response!.body as { choices: { message: { content: string } }[] }).choices[0]!.message.content) : {})).toEqual(['label']);
  }, 120_000);

  it('batch mode: mismatched lines go into the next submission; the same holds, at the Batch discount', async () => {
    // Requests of their own: the realtime run's answers, shared through the cache, would answer these.
    const path = join(home, 'batch.jsonl');
    writeFileSync(path, `${Array.from({ length: 1000 }, (_, i) => chatLine(`b-${i}`, `Batch ticket ${i}: the invoice total is wrong by ${i % 13} cents.`)).join('\n')}\n`);
    const runId = `schema-b-${Date.now()}`;
    emu.resetStats();
    const config: RunConfig = runConfig({
      runId, inputPath: path, mode: 'batch', maxBatchLines: 500, batchPollInitialMs: 200, batchPollMaxMs: 1000, cache: 'read-write', responseSchema: ticket, schemaRetries: 2,
    });
    const status = await runToEnd(c, config, taskQueue);
    await expectValidOrMismatch(status, runId, true);
    // Two files first, then resubmissions holding only the lines whose answers broke the schema.
    const batches = emu.batches().filter((b) => (b.metadata as Record<string, string> | null)?.llm_batch_run === runId);
    expect(batches.length).toBeGreaterThan(2);
    expect(batches.length).toBeLessThanOrEqual(6);
  }, 120_000);

  it('a cached answer passes the same check: broken answers a run without --schema shared are misses, called again', async () => {
    // Lines with their own response_format: a run without --schema stores their answers, broken ones too.
    const path = join(home, 'own.jsonl');
    writeFileSync(path, `${Array.from({ length: 200 }, (_, i) => JSON.stringify({ custom_id: `c-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Is note ${i} spam?` }], max_tokens: 40, response_format: ownFormat } })).join('\n')}\n`);
    const unchecked = await runToEnd(c, runConfig({ runId: `schema-own-1-${Date.now()}`, inputPath: path, concurrency: 32, cache: 'read-write' }), taskQueue);
    expect(unchecked.counts.succeeded).toBe(200);
    const broken = readJsonl<OutLine>(unchecked.outputPath!).filter((l) => !checkAnswer({ response_format: ownFormat }, l.response!.body).ok).length;
    expect(broken).toBeGreaterThan(5);

    emu.resetStats();
    const checked = await runToEnd(c, runConfig({ runId: `schema-own-2-${Date.now()}`, inputPath: path, concurrency: 32, cache: 'read-write', responseSchema: ticket }), taskQueue);
    expect(checked.state).toBe('completed');
    // Only the valid stored answers were reused; each broken one was called again (and retried while broken).
    expect(checked.cache?.hits).toBe(200 - broken);
    expect(emu.stats().served).toBe(broken - checked.counts.failed + emu.stats().schemaViolations);
    for (const l of readJsonl<OutLine>(checked.outputPath!)) expect(checkAnswer({ response_format: ownFormat }, l.response!.body).ok).toBe(true);
    for (const l of readJsonl<OutLine>(checked.errorsPath!)) expect(l.error!.code).toBe('schema_mismatch');
  }, 120_000);
});
