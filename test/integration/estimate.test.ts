// `llm-batch estimate` against a real run: the example file staged by a real run (Temporal
// dev server, a worker, the emulator over HTTP) has exactly the upper bound the estimate
// gives for the file's model in realtime mode, and `--sample N` reads the run's measured
// sample (the run --sample --approve machinery) and leaves the run awaiting approval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { getRunStatus } from '../../src/client.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { estimateFile } from '../../src/input/estimate-file.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { measureSample } from '../../src/cli/estimate-sample.ts';
import { client, startWorker, tempDir } from '../support/harness.ts';

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
});
