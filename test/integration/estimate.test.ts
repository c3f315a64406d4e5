// `llm-batch estimate` against a real run: the example file staged by a real run (Temporal
// dev server, a worker, the emulator over HTTP) has exactly the upper bound the estimate
// gives for the file's model in realtime mode, and `--sample N` reads the run's measured
// sample (the run --sample --approve machinery) and leaves the run awaiting approval. After
// a real run with the exact cache on, the estimate of the same file finds every line in the
// cache, in the worker's SQLite store and in PostgreSQL (LLM_BATCH_DATABASE_URL) alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { getRunStatus } from '../../src/client.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { estimateFile } from '../../src/input/estimate-file.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { measureSample } from '../../src/cli/estimate-sample.ts';
import { openEstimateLevers } from '../../src/cli/estimate-levers.ts';
import { DEFAULT_CACHE_TTL_MS } from '../../src/domain/exact-cache.ts';
import { PostgresItemStore } from '../../src/store/postgres.ts';
import { exactCacheKey } from '../../src/cache/exact-key.ts';
import { chatLine, client, freshDatabase, readJsonl, runConfig, runToEnd, startWorker, tempDir, writeChatInput } from '../support/harness.ts';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/support-tickets.jsonl');

describe('estimate against a real run', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `estimate-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    // measureSample starts the run as `llm-batch estimate --sample` does: on the task queue of the environment.
    process.env.LLM_BATCH_TASK_QUEUE = taskQueue;
    delete process.env.LLM_BATCH_DATABASE_URL;
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('the example file: realtime figure = the run\'s staged upper bound (to 1e-6); --sample gives a 90% interval and leaves the run awaiting approval', async () => {
    const report = await estimateFile(EXAMPLE, { pricing: loadDefaultPricing(), defaults: {} });
    expect(report.fileModels).toEqual(['gpt-4o-mini']);
    const own = report.models.find((m) => m.model === 'gpt-4o-mini')!;
    expect(own.inFile).toBe(true);
    // Every model × mode, with exact counts: o200k and cl100k give different prompt tokens.
    expect(report.models).toHaveLength(Object.keys(loadDefaultPricing().models).length - 2); // no embeddings line: the two embedding models are left out
    expect(report.models.find((m) => m.model === 'gpt-3.5-turbo')!.promptTokens).not.toBe(own.promptTokens);

    emu.resetStats();
    const runId = `estimate-sample-${Date.now()}`;
    const sampled = await measureSample(c, EXAMPLE, { sample: 20, mode: 'realtime', runId, quiet: true, pollMs: 200 });
    const status: RunStatus = sampled.status;
    expect(status.state).toBe('awaiting_approval');
    // What run staged: the same lines, tokens and upper bound.
    expect(status.counts.total).toBe(report.accepted);
    expect(Math.abs(own.costUsd.realtime - status.costUsd.upperBound)).toBeLessThan(1e-6);
    expect(Math.abs(report.asIs.costUsd.realtime - status.costUsd.upperBound)).toBeLessThan(1e-6);
    // Tighter than asked: one prompt token of gpt-4o-mini is $1.5e-7, under 1e-6; the status rounds to 1e-9.
    expect(Math.abs(own.costUsd.realtime - status.costUsd.upperBound)).toBeLessThanOrEqual(5e-10);

    // The sample went through the provider and was priced like any run's.
    expect(emu.stats().served).toBe(20);
    expect(sampled.sample.measured).toBe(20);
    expect(sampled.spentUsd).toBeGreaterThan(0);
    const t = sampled.sample.totalUsd;
    expect(t.low).toBeLessThanOrEqual(t.estimate);
    expect(t.estimate).toBeLessThanOrEqual(t.high);
    // Real outputs are shorter than max_tokens: the measured total is below the upper bound.
    expect(t.estimate).toBeLessThan(own.costUsd.realtime);
    expect(sampled.sample.meanOutputTokens).toBeLessThan(report.asIs.maxOutputTokens / report.accepted);

    // Left waiting for the user; reject ends it.
    await new Promise((r) => setTimeout(r, 500));
    expect((await getRunStatus(c, runId)).state).toBe('awaiting_approval');
    expect(emu.stats().served).toBe(20);
    const handle = c.workflow.getHandle(runId);
    await handle.signal('reject');
    expect(((await handle.result()) as RunStatus).state).toBe('rejected');
  });

  it('after a real run with the exact cache on, the estimate of the same file finds every line in the cache (and none past --cache-ttl)', async () => {
    // max_tokens generous enough that no answer is cut (a truncated answer is never cached).
    const path = join(tempDir(), 'cached.jsonl');
    writeFileSync(path, `${Array.from({ length: 40 }, (_, i) => chatLine(`item-${i}`, `Ticket ${i}: the export fails with error ${1000 + i}. What should I check?`, { maxTokens: 1000 })).join('\n')}\n`);
    const pricing = loadDefaultPricing();
    const estimate = async (cacheTtlMs: number, now?: () => number) => {
      const opened = await openEstimateLevers({ home, cacheTtlMs, ...(now ? { now } : {}) });
      try {
        return await estimateFile(path, { pricing, defaults: {}, models: ['gpt-4o-mini'], levers: opened.levers });
      } finally {
        await opened.close();
      }
    };
    const before = await estimate(DEFAULT_CACHE_TTL_MS);
    expect(before.levers.cacheHits).toMatchObject({ available: true, lines: 0 });

    emu.resetStats();
    const runId = `estimate-cached-${Date.now()}`;
    const run = await runToEnd(c, runConfig({ runId, inputPath: path, cache: 'read-write' }), taskQueue);
    expect(run.state).toBe('completed');
    expect(emu.stats().served).toBe(40);
    const out = readJsonl<{ response: { body: { choices: { finish_reason: string }[] } } }>(join(home, 'runs', runId, 'output.jsonl'));
    expect(out.every((l) => l.response.body.choices[0]!.finish_reason === 'stop')).toBe(true);

    const after = await estimate(DEFAULT_CACHE_TTL_MS);
    // Every line: its whole cost comes off, nothing is left to send.
    expect(after.levers.cacheHits).toMatchObject({ available: true, lines: 40, promptTokens: after.asIs.promptTokens, note: expect.stringContaining('items.sqlite') });
    const saved = (after.levers.cacheHits as { savedUsd: { realtime: number } }).savedUsd;
    expect(saved.realtime).toBeCloseTo(after.asIs.costUsd.realtime, 12);
    expect(after.cheapest).toMatchObject({ model: 'gpt-4o-mini', netUsd: expect.closeTo(0, 12) });
    // The answers are an hour old a day from now: a 1-hour TTL reuses none of them.
    expect((await estimate(3_600_000, () => Date.now() + 86_400_000)).levers.cacheHits).toMatchObject({ lines: 0 });
  });

  it('LLM_BATCH_DATABASE_URL: the cache lever reads the PostgreSQL store', async () => {
    const { path, lines } = writeChatInput(tempDir(), 6, 'pg.jsonl');
    // Four bodies answered by an earlier run; three shared with other runs.
    const url = await freshDatabase();
    const store = await PostgresItemStore.open(url);
    const bodies = lines.map((l) => JSON.parse(l) as { url: string; body: unknown });
    await store.cachePut(bodies.slice(0, 4).map((b, i) => ({
      key: exactCacheKey(b.url, b.body), url: b.url, model: 'gpt-4o-mini', responseJson: '{}', usage: { prompt: 20, cached: 0, completion: 10, reasoning: 0 },
      costUsd: 0.0001, runId: 'earlier', customId: `item-${i}`, createdAt: Date.now(), shared: i !== 3, // the last one is private to its run
    })));
    await store.close();
    const opened = await openEstimateLevers({ home: tempDir(), databaseUrl: url, cacheTtlMs: DEFAULT_CACHE_TTL_MS });
    try {
      const r = await estimateFile(path, { pricing: loadDefaultPricing(), defaults: {}, models: ['gpt-4o-mini'], levers: opened.levers });
      expect(r.levers.cacheHits).toMatchObject({ available: true, lines: 3 });
    } finally {
      await opened.close();
    }
  });
});
