// One chunk workflow on its own, against a real dev server and the emulator: its hard
// spending cap, and a stop signal that lets calls in flight finish and be recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { SqliteItemStore, storePath } from '../../src/store/sqlite.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import { loadPricing } from '../../src/llm/pricing-file.ts';
import type { ChunkInput } from '../../src/activities/index.ts';
import type { ChunkSummary } from '../../src/domain/run-types.ts';
import type { NewItem } from '../../src/store/item-store.ts';
import { client, runConfig, startWorker, tempDir, waitFor } from '../support/harness.ts';

const item = (seq: number, maxOutputTokens = 200): NewItem => ({
  customId: `c${seq}`,
  seq,
  line: seq + 1,
  url: '/v1/chat/completions',
  body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Question ${seq}: why is the sky blue?` }], max_tokens: maxOutputTokens },
  model: 'gpt-4o-mini',
  promptTokens: 16,
  maxOutputTokens,
});

describe('chunkWorkflow', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let store: SqliteItemStore;
  const home = tempDir();
  const taskQueue = `chunk-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    // The test stages items itself, into the same store file the worker uses.
    store = new SqliteItemStore(storePath(home));
  });
  afterAll(async () => {
    await worker?.stop();
    await store?.close();
    await emu?.close();
  });

  const input = (runId: string, extra: Partial<ChunkInput> = {}): ChunkInput => ({
    config: runConfig({ runId, inputPath: '/dev/null', concurrency: 4 }),
    chunkIndex: 0,
    selection: { seqStart: 0, seqEnd: 100 },
    before: { succeeded: 0, failed: 0, costUsd: 0 },
    circuitEpoch: 0,
    ...extra,
  });

  it('stops at its hard cap when outputs are longer than the reservation assumed', async () => {
    const runId = `cap-${Date.now()}`;
    await store.stageItems(runId, Array.from({ length: 100 }, (_, i) => item(i)));
    const pricing = await loadPricing();
    // The reservation assumed 5 output tokens per item; the emulator writes 16–96.
    const perItemReserved = costOfUsage(pricing, 'gpt-4o-mini', { promptTokens: 16, cachedTokens: 0, completionTokens: 5, reasoningTokens: 0 });
    const capUsd = perItemReserved * 100 * 0.3;
    const s = await c.workflow.execute('chunkWorkflow', { taskQueue, workflowId: `${runId}/chunk-0`, args: [input(runId, { capUsd, outputTokensPerItem: 5 })] }) as ChunkSummary;
    expect(s.stopReason).toBe('cost_cap');
    expect(s.pending).toBeGreaterThan(50);
    // It spent up to its cap, and past it by no more than the calls in flight (concurrency 4).
    const maxItemCost = costOfUsage(pricing, 'gpt-4o-mini', { promptTokens: 40, cachedTokens: 0, completionTokens: 200, reasoningTokens: 0 });
    expect(s.costUsd).toBeGreaterThan(capUsd * 0.5);
    expect(s.costUsd).toBeLessThanOrEqual(capUsd + 4 * maxItemCost);
  });

  it('a stop signal ends it within seconds; calls in flight finish and are recorded, the rest stay pending', async () => {
    const runId = `stop-${Date.now()}`;
    await store.stageItems(runId, Array.from({ length: 100 }, (_, i) => item(i)));
    emu.configure({ latencyMs: 400 });
    emu.resetStats();
    try {
      const handle = await c.workflow.start('chunkWorkflow', { taskQueue, workflowId: `${runId}/chunk-0`, args: [input(runId)] });
      await waitFor(() => emu.stats().requests >= 6, 10_000, 'calls under way');
      const t0 = Date.now();
      await handle.signal('stop', 'paused');
      const s = (await handle.result()) as ChunkSummary;
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(s.stopReason).toBe('paused');
      expect(s.pending).toBeGreaterThan(50);
      // Every call the provider answered is in the store: none was dropped on the way.
      expect(s.succeeded).toBe(emu.stats().served);
      const totals = await store.totals(runId);
      expect(totals.succeeded).toBe(s.succeeded);
    } finally {
      emu.configure({ latencyMs: 0 });
    }
  });
});
