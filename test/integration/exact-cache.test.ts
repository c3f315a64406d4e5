// The exact cache end to end: a real dev server, the emulator over HTTP, the real openai SDK
// and the worker's SQLite store. A file repeating request bodies is paid once per distinct
// body; a second run of it is free; every custom_id keeps its line, in input order, hits
// marked; failed calls are never reused; a worker killed mid-run leaves only whole entries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { startRun } from '../../src/client.ts';
import { storePath } from '../../src/store/sqlite.ts';
import { exactCacheKey } from '../../src/cache/exact-key.ts';
import { usageOf } from '../../src/llm/provider.ts';
import type { RunConfig, RunStatus } from '../../src/domain/run-types.ts';
import { client, outputLineCostUsd, readJsonl, runConfig, runToEnd, spawnWorker, startWorker, tempDir, waitFor } from '../support/harness.ts';
import { writeRepeatedInput } from '../support/repeated-input.ts';

type Marker = { cache: string; from_run: string; from_custom_id: string; saved_usd: number };
type OutLine = {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string | null; body: { choices: { finish_reason: string; message: { content: string } }[]; usage: Record<string, unknown> } } | null;
  error: { code: string; message: string } | null;
  llm_batch?: Marker;
};

/** Every row of the store's response_cache, read straight from the file. */
function cacheRows(home: string): Record<string, unknown>[] {
  // A worker may still hold a write lock for a moment (its last writes, its shutdown): wait for it.
  const db = new DatabaseSync(storePath(home), { readOnly: true, timeout: 10_000 });
  try {
    return db.prepare('SELECT * FROM response_cache').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Each row is whole: its response parses, its usage columns are the response's usage, nothing is missing. */
function expectWholeEntries(rows: Record<string, unknown>[]): void {
  for (const r of rows) {
    const body = JSON.parse(String(r.response)) as { choices: { finish_reason: string }[] };
    const u = usageOf(body);
    expect(u.prompt).toBeGreaterThan(0);
    expect({ prompt: r.prompt_tokens, cached: r.cached_tokens, completion: r.completion_tokens, reasoning: r.reasoning_tokens }).toEqual(u);
    expect(body.choices.every((c) => c.finish_reason === 'stop')).toBe(true);
    expect(r.key).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(r.cost_usd)).toBeGreaterThan(0);
    expect(r.custom_id).toBeTruthy();
  }
}

describe('exact cache', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `exact-cache-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, latencyMs: 5, jitterMs: 3 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('4,000 lines repeating 540 bodies: 3,460 calls; a second run makes none and costs $0; every line in order, hits marked', async () => {
    const input = writeRepeatedInput(home, 'tickets-4000.jsonl', 3460, 540);
    expect(input.ids).toHaveLength(4000);
    expect(new Set(input.bodyOf).size).toBe(3460);
    const config = { inputPath: input.path, concurrency: 64, chunkSize: 500, maxChunksInFlight: 4, cache: 'read-write' as const };

    emu.resetStats();
    const first = await runToEnd(c, runConfig({ runId: `exact-1-${Date.now()}`, ...config }), taskQueue);
    expect(first.state).toBe('completed');
    expect(first.counts).toMatchObject({ total: 4000, succeeded: 4000, failed: 0, pending: 0 });
    const served = emu.stats();
    expect(served.served).toBe(3460);
    expect(served.requests).toBe(3460);
    expect(first.cache?.hits).toBe(540);
    // Spend and tokens are the calls made, as the provider reported them.
    expect(first.tokens.prompt).toBe(served.promptTokens);
    expect(first.tokens.completion).toBe(served.completionTokens);

    const out1 = readJsonl<OutLine>(first.outputPath!);
    expect(out1.map((l) => l.custom_id)).toEqual(input.ids);
    expect(readJsonl(first.errorsPath!)).toEqual([]);
    // No answer was truncated: every distinct body was remembered, which the count relies on.
    expect(out1.every((l) => l.response!.body.choices[0]!.finish_reason === 'stop')).toBe(true);
    const byId = new Map(out1.map((l, i) => [l.custom_id, { line: l, body: input.bodyOf[i]! }]));
    const hits1 = out1.filter((l) => l.llm_batch);
    expect(hits1).toHaveLength(540);
    let saved1 = 0;
    for (const hit of hits1) {
      const m = hit.llm_batch!;
      const source = byId.get(m.from_custom_id)!;
      expect(m.cache).toBe('exact');
      expect(m.from_run).toBe(first.runId);
      // The answer is the one its identical request got, usage included, and that one was a call.
      expect(source.body).toBe(byId.get(hit.custom_id)!.body);
      expect(source.line.llm_batch).toBeUndefined();
      expect(hit.response!.body).toEqual(source.line.response!.body);
      expect(m.saved_usd).toBeCloseTo(outputLineCostUsd(hit, false), 10);
      saved1 += m.saved_usd;
    }
    // The run's spend is the calls' (priced from the lines that are not hits); hits count $0 and show what they saved.
    const paid = out1.filter((l) => !l.llm_batch).reduce((s, l) => s + outputLineCostUsd(l, false), 0);
    expect(first.costUsd.spent).toBeCloseTo(paid, 9);
    expect(first.cache!.savedUsd).toBeCloseTo(saved1, 9);

    // The same file again: every answer is in the cache.
    emu.resetStats();
    const second = await runToEnd(c, runConfig({ runId: `exact-2-${Date.now()}`, ...config }), taskQueue);
    expect(second.state).toBe('completed');
    expect(emu.stats().requests).toBe(0);
    expect(second.costUsd.spent).toBe(0);
    expect(second.tokens).toEqual({ prompt: 0, cached: 0, completion: 0, reasoning: 0 });
    expect(second.cache).toEqual({ hits: 4000, savedUsd: expect.closeTo(first.costUsd.spent + first.cache!.savedUsd, 9) });
    const out2 = readJsonl<OutLine>(second.outputPath!);
    expect(out2.map((l) => l.custom_id)).toEqual(input.ids);
    for (const [i, l] of out2.entries()) {
      expect(l.llm_batch).toMatchObject({ cache: 'exact', from_run: first.runId });
      expect(l.response!.body).toEqual(out1[i]!.response!.body);
    }
    // One entry per distinct body, each whole.
    const rows = cacheRows(home);
    expect(rows.filter((r) => r.run_id === first.runId)).toHaveLength(3460);
    expect(rows.filter((r) => r.run_id === second.runId)).toHaveLength(0);
    expectWholeEntries(rows);
  });

  it('a failed call is neither reused nor remembered: its repeats call for themselves, and the next run calls again for it', async () => {
    // 80 bodies, each on 3 lines; a third of the calls answer 500 with one attempt each.
    const input = writeRepeatedInput(home, 'flaky.jsonl', 80, 160, { seed: 77, tag: 'Flaky ticket' });
    const config = { inputPath: input.path, concurrency: 32, cache: 'read-write' as const, maxAttemptsPerItem: 1, circuitFailureThreshold: 10_000 };
    emu.resetStats();
    emu.configure({ errorRate: 0.33 });
    let first: RunStatus;
    try {
      first = await runToEnd(c, runConfig({ runId: `exact-flaky-${Date.now()}`, ...config }), taskQueue);
    } finally {
      emu.configure({ errorRate: 0 });
    }
    expect(first.state).toBe('completed');
    const failedCalls = emu.stats().serverErrors;
    expect(failedCalls).toBeGreaterThan(10);
    const out = readJsonl<OutLine>(first.outputPath!);
    const errors = readJsonl<OutLine>(first.errorsPath!);
    expect(errors.length).toBeGreaterThan(0);
    expect(out.length + errors.length).toBe(240);
    // Every failure is a real 500 of its own call, never a copy: no marker, the provider's error.
    for (const e of errors) {
      expect(e.llm_batch).toBeUndefined();
      expect([500, 503]).toContain(e.response!.status_code);
    }
    // Every hit comes from a call that succeeded.
    const succeededIds = new Set(out.filter((l) => !l.llm_batch).map((l) => l.custom_id));
    for (const l of out.filter((x) => x.llm_batch)) expect(succeededIds.has(l.llm_batch!.from_custom_id)).toBe(true);
    // Calls: one per body until one succeeds; a repeat of a failed body called again.
    const lineOf = new Map(input.ids.map((id, i) => [id, i]));
    const okBodies = new Set(out.map((l) => input.bodyOf[lineOf.get(l.custom_id)!]!));
    expect(succeededIds.size).toBe(okBodies.size);
    expect(emu.stats().requests).toBe(succeededIds.size + failedCalls);
    // Only answers are in the cache, one per body that got one.
    const keysOk = new Set([...okBodies].map((b) => exactCacheKey('/v1/chat/completions', input.bodies[b])));
    const rows = cacheRows(home).filter((r) => r.run_id === first.runId);
    expect(new Set(rows.map((r) => String(r.key)))).toEqual(keysOk);

    // The next run: the bodies that never got an answer are called, each once; the rest are hits.
    emu.resetStats();
    const second = await runToEnd(c, runConfig({ runId: `exact-flaky2-${Date.now()}`, ...config }), taskQueue);
    expect(second.counts).toMatchObject({ succeeded: 240, failed: 0 });
    expect(emu.stats().served).toBe(80 - okBodies.size);
    expect(second.cache!.hits).toBe(240 - (80 - okBodies.size));
  });
});

describe('exact cache: a worker killed mid-run', () => {
  let emu: RunningEmulator;
  const workers: ChildProcess[] = [];
  const home = tempDir();
  const taskQueue = `exact-crash-${Date.now()}`;

  beforeAll(async () => {
    // Latency keeps calls (and cache writes) in flight at the moment of the kill.
    emu = await startEmulator({ port: 0, latencyMs: 30, jitterMs: 20 });
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await emu?.close();
  });

  it('SIGKILL at ~50%: every cache entry is whole, the resumed run completes every line, calls stay within distinct bodies + what was in flight', async () => {
    const concurrency = 32;
    const input = writeRepeatedInput(home, 'crash.jsonl', 1300, 200, { seed: 9 });
    const c = await client();
    const first = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue });
    workers.push(first);
    const runId = `exact-crash-${Date.now()}`;
    const handle = await startRun(c, runConfig({ runId, inputPath: input.path, concurrency, chunkSize: 250, maxChunksInFlight: 4, heartbeatTimeoutMs: 3000, cache: 'read-write' }), taskQueue);

    await waitFor(() => emu.stats().served >= 650, 120_000, 'half the bodies to be served');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(emu.stats().served).toBeLessThan(1300);
    expectWholeEntries(cacheRows(home));

    const second = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue });
    workers.push(second);
    const status = (await handle.result()) as RunStatus;
    second.kill('SIGTERM');
    await new Promise((r) => (second.exitCode === null ? second.once('exit', r) : r(undefined)));

    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ total: 1500, succeeded: 1500, failed: 0, pending: 0 });
    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(input.ids);
    const rows = cacheRows(home);
    expectWholeEntries(rows);
    expect(rows).toHaveLength(1300);
    // Each distinct body called once, plus at most what the killed worker had in flight.
    const calls = emu.stats().served;
    expect(calls).toBeGreaterThanOrEqual(1300);
    expect(calls).toBeLessThanOrEqual(1300 + concurrency);
    // Spend is the calls recorded (an answer whose entry was written but not its item's result counts once, as that item's call).
    const paid = out.filter((l) => !l.llm_batch);
    expect(paid).toHaveLength(1300);
    expect(status.costUsd.spent).toBeCloseTo(paid.reduce((s, l) => s + outputLineCostUsd(l, false), 0), 9);
    expect(status.cache!.hits).toBe(200);
  }, 240_000);
});

describe('exact cache: Batch API mode', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `exact-batch-${Date.now()}`;
  const batchRun = (runId: string, inputPath: string, extra: Partial<RunConfig> = {}): RunConfig =>
    runConfig({ runId, inputPath, mode: 'batch', batchPollInitialMs: 200, batchPollMaxMs: 1000, cache: 'read-write', ...extra });
  const batchesOf = (runId: string) => emu.batches().filter((b) => (b.metadata as Record<string, string> | null)?.llm_batch_run === runId);

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, batchValidatingMs: 100, batchInProgressMs: 600, batchFinalizingMs: 100 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('a batch file holds each body once, its repeats get the answer at collection, and a second run submits no batch', async () => {
    const input = writeRepeatedInput(home, 'batch.jsonl', 300, 100, { seed: 3, tag: 'Batch ticket' });
    emu.resetStats();
    const first = await runToEnd(c, batchRun(`exact-b1-${Date.now()}`, input.path), taskQueue);
    expect(first.state).toBe('completed');
    expect(first.counts).toMatchObject({ total: 400, succeeded: 400, failed: 0 });
    expect(batchesOf(first.runId).map((b) => b.request_counts?.total)).toEqual([300]);
    expect(emu.stats().batchLinesServed).toBe(300);
    expect(first.cache?.hits).toBe(100);
    const out = readJsonl<OutLine>(first.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(input.ids);
    const byId = new Map(out.map((l) => [l.custom_id, l]));
    const hits = out.filter((l) => l.llm_batch);
    expect(hits).toHaveLength(100);
    for (const hit of hits) {
      const source = byId.get(hit.llm_batch!.from_custom_id)!;
      expect(source.llm_batch).toBeUndefined();
      expect(hit.response!.body).toEqual(source.response!.body);
      // Saved: what the call would have cost on this item's path, at the Batch discount.
      expect(hit.llm_batch!.saved_usd).toBeCloseTo(outputLineCostUsd(hit, true), 10);
    }
    expect(first.costUsd.spent).toBeCloseTo(out.filter((l) => !l.llm_batch).reduce((s, l) => s + outputLineCostUsd(l, true), 0), 9);
    expect(first.paths).toMatchObject({ batch: { succeeded: 300 }, realtime: { succeeded: 0 } });
    expectWholeEntries(cacheRows(home));

    // Again: every item is answered before a file is written; no batch at all.
    emu.resetStats();
    const second = await runToEnd(c, batchRun(`exact-b2-${Date.now()}`, input.path), taskQueue);
    expect(second.state).toBe('completed');
    expect(batchesOf(second.runId)).toEqual([]);
    expect(emu.stats().requests).toBe(0);
    expect(second.costUsd.spent).toBe(0);
    expect(second.cache?.hits).toBe(400);
    expect(readJsonl<OutLine>(second.outputPath!).map((l) => l.custom_id)).toEqual(input.ids);
  });

  it('a failed line is never copied to its repeats: they go in the next submission', async () => {
    // 60 bodies, each on 3 lines; 30% of batch lines answer 500.
    const input = writeRepeatedInput(home, 'batch-flaky.jsonl', 60, 120, { seed: 5, tag: 'Flaky batch ticket' });
    emu.resetStats();
    emu.configure({ batchLineErrorRate: 0.3 });
    let status: RunStatus;
    try {
      status = await runToEnd(c, batchRun(`exact-bf-${Date.now()}`, input.path, { maxBatchAttempts: 8 }), taskQueue);
    } finally {
      emu.configure({ batchLineErrorRate: 0 });
    }
    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ total: 180, succeeded: 180, failed: 0 });
    expect(emu.stats().batchLinesFailed).toBeGreaterThan(0);
    // The first file held each body once; later ones the lines still without an answer.
    const batches = batchesOf(status.runId);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches[0]!.request_counts).toMatchObject({ total: 60 });
    // The second file: the lines that failed, and the repeats that waited on them (sent along, not in a round each).
    const failedFirst = batches[0]!.request_counts!.failed;
    expect(failedFirst).toBeGreaterThan(0);
    expect(batches[1]!.request_counts!.total).toBeGreaterThan(failedFirst);
    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(input.ids);
    const paid = new Set(out.filter((l) => !l.llm_batch).map((l) => l.custom_id));
    for (const l of out.filter((x) => x.llm_batch)) expect(paid.has(l.llm_batch!.from_custom_id)).toBe(true);
    expectWholeEntries(cacheRows(home));
  });
});
