// Batch and hybrid runs against a real Temporal dev server and the emulator's Files and
// Batches API over HTTP, through the real openai SDK: splitting, merging in input order,
// resubmitting failed lines, expiry, validation failures, the enqueued-token limit, the
// deadline, hybrid routing, embeddings, cancel, and money at the Batch discount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { getRunStatus, startRun } from '../../src/client.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { usageOf } from '../../src/llm/provider.ts';
import { countRequestPromptTokens } from '../../src/llm/tokens.ts';
import type { RunConfig, RunStatus } from '../../src/domain/run-types.ts';
import { approveSignal, cancelSignal, pauseSignal, resumeSignal } from '../../src/workflows/messages.ts';
import { chatLine, client, outputLineCostUsd, readJsonl, runConfig, runToEnd, startWorker, tempDir, waitFor, writeChatInput } from '../support/harness.ts';

type OutLine = { id: string; custom_id: string; response: { status_code: number; body: { model: string; usage: Record<string, unknown>; data?: { embedding: number[] }[] } } | null; error: { code: string; message: string } | null };

const lineCost = outputLineCostUsd;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** The emulator's batches of one run, by the metadata llm-batch puts on them. */
const batchesOf = (emu: RunningEmulator, runId: string) => emu.batches().filter((b) => (b.metadata as Record<string, string> | null)?.llm_batch_run === runId);

describe('Batch API mode', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `batch-${Date.now()}`;
  const timing = { batchValidatingMs: 100, batchInProgressMs: 600, batchFinalizingMs: 100 };

  const batchConfig = (runId: string, inputPath: string, extra: Partial<RunConfig> = {}): RunConfig =>
    runConfig({ runId, inputPath, mode: 'batch', batchPollInitialMs: 200, batchPollMaxMs: 1000, ...extra });

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, ...timing });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('120,000 items: 3 batch files, merged into one output in input order, at half price, 1e-6-exact', async () => {
    emu.resetStats();
    const { path, ids } = writeChatInput(home, 120_000, 'big.jsonl');
    const runId = `b120k-${Date.now()}`;
    const t0 = Date.now();
    const status = await runToEnd(c, batchConfig(runId, path, { chunkSize: 5000 }), taskQueue);
    console.log(`120,000 items through the Batch API end to end in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    expect(status.state).toBe('completed');
    expect(status.counts).toEqual({ total: 120_000, succeeded: 120_000, failed: 0, rejected: 0, pending: 0 });
    const batches = batchesOf(emu, runId);
    expect(batches.map((b) => b.request_counts?.total).sort()).toEqual([20_000, 50_000, 50_000]);
    expect(new Set(batches.map((b) => (b.metadata as Record<string, string>).chunk)).size).toBe(3);
    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    expect(readJsonl(status.errorsPath!)).toEqual([]);
    const stats = emu.stats();
    expect(stats.uniqueIds).toBe(120_000);
    expect(stats.duplicateCalls).toBe(0);
    // Money: what each output line's usage costs at the Batch discount, to the micro-dollar.
    const expected = sum(out.map((l) => lineCost(l, true)));
    expect(Math.abs(status.costUsd.spent - expected)).toBeLessThan(1e-6);
    expect(sum(out.map((l) => lineCost(l, false)))).toBeCloseTo(2 * expected, 9);
    expect(status.paths!.batch).toMatchObject({ items: 120_000, succeeded: 120_000, failed: 0 });
    expect(status.paths!.realtime.items).toBe(0);
    expect(status.paths!.allRealtimeUsd).toBeCloseTo(2 * status.costUsd.spent, 6);
    expect(status.paths!.savedUsd).toBeCloseTo(status.costUsd.spent, 6);
  }, 180_000);

  it('resubmits failed lines as new, smaller batches until they succeed', async () => {
    emu.resetStats();
    emu.configure({ batchLineErrorRate: 0.2 });
    try {
      const { path, ids } = writeChatInput(home, 300, 'flaky.jsonl');
      const runId = `bflaky-${Date.now()}`;
      const status = await runToEnd(c, batchConfig(runId, path, { maxBatchLines: 150, maxBatchAttempts: 8 }), taskQueue);
      expect(status.state).toBe('completed');
      expect(status.counts).toMatchObject({ succeeded: 300, failed: 0 });
      expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      const batches = batchesOf(emu, runId);
      // Two files first, then resubmissions holding only the lines that failed.
      expect(batches.length).toBeGreaterThan(2);
      const firsts = batches.filter((b) => (b.metadata as Record<string, string>).chunk.endsWith('.0'));
      expect(firsts.map((b) => b.request_counts?.total)).toEqual([150, 150]);
      const failedFirst = sum(firsts.map((b) => b.request_counts?.failed ?? 0));
      expect(failedFirst).toBeGreaterThan(0);
      const resubmitted = batches.filter((b) => !(b.metadata as Record<string, string>).chunk.endsWith('.0'));
      expect(sum(resubmitted.map((b) => b.request_counts?.total ?? 0))).toBeLessThan(300);
      // Each item was served (billed) once.
      expect(emu.stats().duplicateCalls).toBe(0);
      expect(emu.stats().uniqueIds).toBe(300);
    } finally {
      emu.configure({ batchLineErrorRate: 0 });
    }
  }, 60_000);

  it('keeps an expired batch\'s partial output and requeues the rest', async () => {
    emu.resetStats();
    emu.configure({ batchExpireAfter: 0.5 });
    const { path, ids } = writeChatInput(home, 200, 'expire.jsonl');
    const runId = `bexp-${Date.now()}`;
    const handle = await startRun(c, batchConfig(runId, path), taskQueue);
    try {
      await waitFor(() => batchesOf(emu, runId).some((b) => b.status === 'expired'), 30_000, 'the first batch to expire');
    } finally {
      emu.configure({ batchExpireAfter: null });
    }
    const status = (await handle.result()) as RunStatus;
    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ succeeded: 200, failed: 0 });
    expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
    const [first, second] = batchesOf(emu, runId).sort((a, b) => a.created_at - b.created_at);
    expect(first!.status).toBe('expired');
    const kept = first!.request_counts!.completed;
    expect(kept).toBeGreaterThan(0);
    // Only what expired unfinished went again.
    expect(second!.request_counts!.total).toBe(200 - kept);
    expect(emu.stats().duplicateCalls).toBe(0);
  }, 60_000);

  it('a batch failing validation: the named lines are rejected with the provider\'s message, the others resubmitted', async () => {
    emu.resetStats();
    // n: 2 passes llm-batch's own checks (extra body fields go to the provider) but the provider refuses it.
    const bad = new Set(['v-010', 'v-050', 'v-090']);
    const lines = Array.from({ length: 100 }, (_, i) => {
      const id = `v-${String(i + 1).padStart(3, '0')}`;
      const line = JSON.parse(chatLine(id, `Question ${i}`)) as { body: Record<string, unknown> };
      if (bad.has(id)) line.body.n = 2;
      return JSON.stringify(line);
    });
    const path = join(home, 'invalid.jsonl');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const runId = `binv-${Date.now()}`;
    const status = await runToEnd(c, batchConfig(runId, path), taskQueue);
    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ succeeded: 97, failed: 3 });
    const errors = readJsonl<OutLine>(status.errorsPath!);
    expect(errors.map((l) => l.custom_id)).toEqual(['v-010', 'v-050', 'v-090']);
    for (const e of errors) expect(e.error!.message).toMatch(/rejected line \d+ of its file/);
    const [first, second] = batchesOf(emu, runId).sort((a, b) => a.created_at - b.created_at);
    expect(first!.status).toBe('failed');
    expect(first!.errors!.data!.map((e) => e.line)).toEqual([10, 50, 90]);
    expect(second!.request_counts!.total).toBe(97);
  }, 60_000);

  it('token_limit_exceeded: waits on the provider\'s queue, then resubmits and succeeds', async () => {
    emu.resetStats();
    const { path, lines } = writeChatInput(home, 200, 'queue.jsonl');
    const tokens = sum(lines.slice(0, 100).map((l) => countRequestPromptTokens('/v1/chat/completions', (JSON.parse(l) as { body: { model: string; messages: unknown } }).body)));
    emu.configure({ batchEnqueuedTokenLimit: Math.floor(tokens * 1.5), batchInProgressMs: 1500 });
    try {
      const runId = `bqueue-${Date.now()}`;
      await startRun(c, batchConfig(runId, path, { maxBatchLines: 100 }), taskQueue);
      let sawWaiting = false;
      let final: RunStatus | undefined;
      await waitFor(async () => {
        const s = await getRunStatus(c, runId);
        if (s.batches?.some((b) => b.phase === 'waiting_provider_queue' && /token/i.test(b.note ?? ''))) sawWaiting = true;
        final = s;
        return s.state === 'completed';
      }, 60_000, 'the run to complete');
      expect(sawWaiting).toBe(true);
      expect(final!.counts).toMatchObject({ succeeded: 200, failed: 0 });
      const batches = batchesOf(emu, runId);
      expect(batches.some((b) => b.status === 'failed' && b.errors?.data?.[0]?.code === 'token_limit_exceeded')).toBe(true);
      expect(batches.filter((b) => b.status === 'completed').map((b) => b.request_counts?.total)).toEqual([100, 100]);
    } finally {
      emu.configure({ batchEnqueuedTokenLimit: 0, batchInProgressMs: timing.batchInProgressMs });
    }
  }, 90_000);

  it('--deadline: a batch not done in time is cancelled, its partial output kept, the rest done realtime; reservations at Batch prices', async () => {
    emu.resetStats();
    emu.configure({ batchInProgressMs: 60_000 });
    try {
      const { path, ids } = writeChatInput(home, 200, 'deadline.jsonl');
      const runId = `bdead-${Date.now()}`;
      await startRun(c, batchConfig(runId, path, { deadlineMs: 4000, budgetUsd: 10 }), taskQueue);
      let reserved = 0;
      let upper = 0;
      await waitFor(async () => {
        const s = await getRunStatus(c, runId);
        if (s.chunks.batchInFlight?.length) {
          reserved = s.costUsd.reserved;
          upper = s.costUsd.upperBound;
        }
        return reserved > 0;
      }, 20_000, 'the batch to be in flight');
      // One file holds every item: its reservation is the upper bound at half price.
      expect(reserved).toBeCloseTo(upper / 2, 9);
      const status = (await c.workflow.getHandle(runId).result()) as RunStatus;
      expect(status.state).toBe('completed');
      expect(status.deadline!.passed).toBe(true);
      expect(status.counts).toMatchObject({ succeeded: 200, failed: 0 });
      expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      const [batch] = batchesOf(emu, runId);
      expect(batch!.status).toBe('cancelled');
      const p = status.paths!;
      expect(p.batch.succeeded).toBe(batch!.request_counts!.completed);
      expect(p.realtime.succeeded).toBe(200 - p.batch.succeeded);
      expect(p.realtime.succeeded).toBeGreaterThan(0);
      // The realtime part went through /v1/chat/completions, each item once.
      const realtimeCalls = emu.requests().filter((r) => r.path === '/v1/chat/completions');
      expect(realtimeCalls.length).toBe(p.realtime.succeeded);
      expect(emu.stats().duplicateCalls).toBe(0);
    } finally {
      emu.configure({ batchInProgressMs: timing.batchInProgressMs });
    }
  }, 90_000);

  it('cancelling the run cancels the batch at the provider, keeps its partial output and lists the rest as cancelled', async () => {
    emu.resetStats();
    emu.configure({ batchInProgressMs: 20_000 });
    try {
      const { path, ids } = writeChatInput(home, 300, 'cancel.jsonl');
      const runId = `bcancel-${Date.now()}`;
      const handle = await startRun(c, batchConfig(runId, path), taskQueue);
      await waitFor(() => batchesOf(emu, runId).some((b) => (b.request_counts?.completed ?? 0) >= 20), 20_000, 'the batch to be under way');
      await handle.signal(cancelSignal);
      const status = (await handle.result()) as RunStatus;
      expect(status.state).toBe('cancelled');
      const [batch] = batchesOf(emu, runId);
      expect(batch!.status).toBe('cancelled');
      const out = readJsonl<OutLine>(status.outputPath!);
      const errors = readJsonl<OutLine>(status.errorsPath!);
      expect(out.length).toBe(batch!.request_counts!.completed);
      expect(out.length).toBeGreaterThanOrEqual(20);
      expect(errors.every((e) => e.error!.code === 'cancelled')).toBe(true);
      expect([...out, ...errors].map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    } finally {
      emu.configure({ batchInProgressMs: timing.batchInProgressMs });
    }
  }, 60_000);

  it('hybrid: urgent items go realtime and finish before the batch part; the split and its saving are reported', async () => {
    emu.resetStats();
    emu.configure({ batchInProgressMs: 5000 });
    try {
      const ids = Array.from({ length: 300 }, (_, i) => (i % 30 === 0 ? `vip-${i}` : `h-${i}`));
      const lines = ids.map((id, i) => {
        const line = JSON.parse(chatLine(id, `Customer message ${i}: where is my order?`, i % 10 === 5 ? { feature: 'support' } : {})) as Record<string, unknown>;
        if (i % 50 === 7) line.metadata = { ...(line.metadata as object), priority: 'urgent' };
        return JSON.stringify(line);
      });
      const urgent = ids.filter((id, i) => id.startsWith('vip-') || i % 10 === 5 || i % 50 === 7).length;
      const path = join(home, 'hybrid.jsonl');
      writeFileSync(path, `${lines.join('\n')}\n`);
      const runId = `bhyb-${Date.now()}`;
      await startRun(c, batchConfig(runId, path, { mode: 'hybrid', urgentIf: 'feature=support,custom_id^=vip-' }), taskQueue);
      let mid: RunStatus | undefined;
      await waitFor(async () => {
        mid = await getRunStatus(c, runId);
        return (mid.paths?.realtime.succeeded ?? 0) >= urgent;
      }, 30_000, 'the urgent items');
      // The urgent results are in while the Batch API part is still running.
      expect(mid!.paths!.batch.succeeded).toBe(0);
      expect(mid!.state).toBe('running');
      const status = (await c.workflow.getHandle(runId).result()) as RunStatus;
      expect(status.state).toBe('completed');
      expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      const p = status.paths!;
      expect(p.realtime).toMatchObject({ items: urgent, succeeded: urgent });
      expect(p.batch).toMatchObject({ items: 300 - urgent, succeeded: 300 - urgent });
      expect(p.realtime.costUsd + p.batch.costUsd).toBeCloseTo(status.costUsd.spent, 9);
      expect(p.allRealtimeUsd).toBeCloseTo(p.realtime.costUsd + 2 * p.batch.costUsd, 9);
      expect(p.savedUsd).toBeGreaterThan(0);
      // Exactly the urgent items were called realtime.
      expect(emu.requests().filter((r) => r.path === '/v1/chat/completions').length).toBe(urgent);
    } finally {
      emu.configure({ batchInProgressMs: timing.batchInProgressMs });
    }
  }, 90_000);

  it('embeddings in both paths: prompt tokens only, batch at half price, 1e-6-exact', async () => {
    emu.resetStats();
    const ids = Array.from({ length: 60 }, (_, i) => `emb-${i}`);
    const lines = ids.map((id, i) =>
      JSON.stringify({
        custom_id: id,
        method: 'POST',
        url: '/v1/embeddings',
        body: { model: 'text-embedding-3-small', input: `Document ${i}: quarterly revenue by region and product line` },
        ...(i < 15 ? { metadata: { priority: 'urgent' } } : {}),
      }),
    );
    const path = join(home, 'embeddings.jsonl');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const status = await runToEnd(c, batchConfig(`bemb-${Date.now()}`, path, { mode: 'hybrid' }), taskQueue);
    expect(status.state).toBe('completed');
    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    for (const l of out) {
      expect(l.response!.body.data![0]!.embedding).toHaveLength(1536);
      expect(usageOf(l.response!.body).completion).toBe(0);
    }
    expect(status.tokens.completion).toBe(0);
    const expected = sum(out.map((l, i) => lineCost(l, i >= 15)));
    expect(Math.abs(status.costUsd.spent - expected)).toBeLessThan(1e-6);
    expect(status.paths!.realtime).toMatchObject({ items: 15, succeeded: 15 });
    expect(status.paths!.batch).toMatchObject({ items: 45, succeeded: 45 });
  }, 60_000);

  it('--on-batch-failure realtime: lines that failed in the batch go through the realtime path instead of a new batch', async () => {
    emu.resetStats();
    emu.configure({ batchLineErrorRate: 0.3 });
    try {
      const { path, ids } = writeChatInput(home, 200, 'to-realtime.jsonl');
      const runId = `btort-${Date.now()}`;
      const status = await runToEnd(c, batchConfig(runId, path, { onBatchFailure: 'realtime' }), taskQueue);
      expect(status.state).toBe('completed');
      expect(status.counts).toMatchObject({ succeeded: 200, failed: 0 });
      expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      const batches = batchesOf(emu, runId);
      expect(batches).toHaveLength(1);
      const failedInBatch = batches[0]!.request_counts!.failed;
      expect(failedInBatch).toBeGreaterThan(0);
      // Exactly the failed lines were called realtime, at full price.
      expect(status.paths!.realtime.succeeded).toBe(failedInBatch);
      expect(status.paths!.batch.succeeded).toBe(200 - failedInBatch);
      expect(emu.requests().filter((r) => r.path === '/v1/chat/completions').length).toBe(failedInBatch);
    } finally {
      emu.configure({ batchLineErrorRate: 0 });
    }
  }, 60_000);

  it('pause holds new submissions while the batch at the provider runs on; resume submits the rest', async () => {
    emu.resetStats();
    emu.configure({ batchInProgressMs: 2000 });
    try {
      const { path, ids } = writeChatInput(home, 200, 'pause.jsonl');
      const runId = `bpause-${Date.now()}`;
      const handle = await startRun(c, batchConfig(runId, path, { maxBatchLines: 100, maxBatchesInFlight: 1 }), taskQueue);
      await waitFor(() => batchesOf(emu, runId).some((b) => b.status === 'in_progress'), 20_000, 'the first batch at the provider');
      await handle.signal(pauseSignal);
      // The batch at the provider finishes and is collected; nothing new is submitted.
      await waitFor(async () => (await getRunStatus(c, runId)).counts.succeeded === 100, 20_000, 'the first batch to be collected');
      await new Promise((r) => setTimeout(r, 2000));
      const paused = await getRunStatus(c, runId);
      expect(paused.state).toBe('paused');
      expect(batchesOf(emu, runId)).toHaveLength(1);
      await handle.signal(resumeSignal);
      const status = (await handle.result()) as RunStatus;
      expect(status.state).toBe('completed');
      expect(status.counts).toMatchObject({ succeeded: 200, failed: 0 });
      expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      expect(batchesOf(emu, runId)).toHaveLength(2);
    } finally {
      emu.configure({ batchInProgressMs: timing.batchInProgressMs });
    }
  }, 60_000);

  it('circuit: an outage during submission opens the run\'s circuit; free probes; one batch per file once it closes', async () => {
    const t0 = Date.now();
    const down = await startEmulator({ port: 0, ...timing });
    const downQueue = `${taskQueue}-cb`;
    const downWorker = await startWorker({ home: tempDir(), baseURL: down.baseUrl, taskQueue: downQueue });
    try {
      // Down from now (relative to the emulator's start) for 4 s: the first submissions fail.
      down.configure({ outages: [{ startMs: Date.now() - t0, durationMs: 4000 }] });
      const { path, ids } = writeChatInput(home, 200, 'circuit.jsonl');
      const runId = `bcircuit-${Date.now()}`;
      const status = await runToEnd(c, batchConfig(runId, path, { maxBatchLines: 100, circuitFailureThreshold: 2, circuitInitialDelayMs: 1000, circuitMaxDelayMs: 2000 }), downQueue);
      expect(status.state).toBe('completed');
      expect(status.circuit.openings).toBeGreaterThanOrEqual(1);
      expect(status.circuit.probes).toBeGreaterThanOrEqual(1);
      expect(status.counts).toMatchObject({ succeeded: 200, failed: 0 });
      expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      const batches = batchesOf(down, runId);
      expect(batches.map((b) => b.request_counts?.total)).toEqual([100, 100]);
      // The probes were free calls: no inference request reached the provider.
      expect(down.requests().filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
      expect(down.requests().some((r) => r.path === '/v1/models')).toBe(true);
    } finally {
      await downWorker.stop();
      await down.close();
    }
  }, 90_000);

  it('sample and approve in batch mode: the sample runs realtime, its extrapolation prices the rest at the Batch discount', async () => {
    emu.resetStats();
    const { path, ids } = writeChatInput(home, 200, 'sample.jsonl');
    const runId = `bsample-${Date.now()}`;
    const handle = await startRun(c, batchConfig(runId, path, { sampleSize: 30, approve: true }), taskQueue);
    let s: RunStatus | undefined;
    await waitFor(async () => (s = await getRunStatus(c, runId)).state === 'awaiting_approval', 30_000, 'awaiting_approval');
    // 30 realtime calls, no batch yet.
    expect(emu.requests().filter((r) => r.path === '/v1/chat/completions')).toHaveLength(30);
    expect(batchesOf(emu, runId)).toHaveLength(0);
    const sample = s!.sample!;
    expect(sample.measured).toBe(30);
    expect(sample.totalUsd.estimate).toBeCloseTo(s!.costUsd.spent + 170 * sample.meanCostUsd * 0.5, 9);
    await handle.signal(approveSignal);
    const status = (await handle.result()) as RunStatus;
    expect(status.state).toBe('completed');
    expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
    expect(status.paths!.batch.succeeded).toBe(170);
    expect(Math.abs(status.costUsd.spent - sample.totalUsd.estimate) / status.costUsd.spent).toBeLessThan(0.2);
  }, 60_000);
});
