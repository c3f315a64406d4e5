// Daily windows (--window, --per-window-items, --per-window-budget) on a real dev server and
// the emulator over HTTP, with windows of seconds instead of days:
// - 1,000 items, 10 s windows of 300: four windows, the calls' arrival times show the gaps,
//   and a worker SIGKILLed while the run waits for its second window changes nothing;
// - a budget per window: the window stops where its budget does, and pause, resume and
//   cancel act at once during the wait (a one-hour window, never waited out);
// - Batch mode: each window's items become that window's batch file, across continue-as-new.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { getRunStatus, startRun } from '../../src/client.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { cancelSignal, pauseSignal, resumeSignal } from '../../src/workflows/messages.ts';
import { client, readJsonl, runConfig, spawnWorker, startWorker, tempDir, waitFor, writeChatInput } from '../support/harness.ts';

const exited = (w: ChildProcess): Promise<void> => (w.exitCode !== null || w.signalCode !== null ? Promise.resolve() : new Promise((r) => w.once('exit', () => r())));

describe('daily windows', () => {
  let emu: RunningEmulator;
  let c: Client;
  const home = tempDir();
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, latencyMs: 5, batchValidatingMs: 100, batchInProgressMs: 300, batchFinalizingMs: 100 });
    c = await client();
  });
  afterAll(async () => {
    for (const w of children) if (w.exitCode === null) w.kill('SIGKILL');
    await emu?.close();
  });

  it('1,000 items, --window 10s --per-window-items 300: 4 windows with the gaps, a SIGKILL during a wait changes nothing', async () => {
    emu.resetStats();
    // Its own data dir: the worker processes hold its item store.
    const home = tempDir();
    const taskQueue = `windows-kill-${Date.now()}`;
    const runId = `windows-kill-${Date.now()}`;
    const { path, ids } = writeChatInput(home, 1000, 'windows.jsonl');
    const first = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue });
    children.push(first);
    const handle = await startRun(
      c,
      runConfig({ runId, inputPath: path, concurrency: 16, chunkSize: 100, maxChunksInFlight: 4, heartbeatTimeoutMs: 3000, window: { everyMs: 10_000, items: 300 } }),
      taskQueue,
    );

    // The first window used its quota: the run waits, saying until when.
    await waitFor(() => emu.stats().served >= 300, 90_000, 'the first window\'s calls');
    let waiting: RunStatus | undefined;
    await waitFor(async () => (waiting = await getRunStatus(c, runId)).state === 'waiting_window', 5000, 'the first wait');
    expect(waiting!.window).toMatchObject({ number: 1, items: 300, itemsQuota: 300, ended: true });
    expect(Date.parse(waiting!.window!.nextStartAt) - Date.parse(waiting!.window!.startedAt)).toBe(10_000);
    expect(waiting!.counts.succeeded).toBe(300);
    expect(emu.stats().served).toBe(300);
    // The Temporal UI's current details say the same.
    const meta = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toContain('**waiting_window**');
    expect(meta.currentDetails).toContain(`window 1 done (300/300 items); window 2 starts ${waiting!.window!.nextStartAt}`);

    // Killed in the middle of the wait; a new worker picks the timer up.
    first.kill('SIGKILL');
    await exited(first);
    const second = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue });
    children.push(second);
    const status = (await handle.result()) as RunStatus;
    second.kill('SIGTERM');
    await exited(second);
    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ total: 1000, succeeded: 1000, failed: 0, pending: 0 });
    expect(status.window).toMatchObject({ number: 4, items: 100, ended: true });
    expect(readJsonl<{ custom_id: string }>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
    const stats = emu.stats();
    expect(stats.uniqueIds).toBe(1000);
    expect(stats.duplicateCalls).toBe(0);
    // The run's whole history (waits, timers, the new worker's replay) replays on the code.
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, await handle.fetchHistory(), runId);

    // Four windows, each starting ≥ 10 s after the one before (workflow time), and every call
    // (the emulator's arrival time) inside one of them: 300, 300, 300 and 100.
    const windows = status.windowsEnded!;
    expect(windows.map((w) => [w.number, w.items])).toEqual([[1, 300], [2, 300], [3, 300], [4, 100]]);
    const span = windows.map((w) => ({ start: Date.parse(w.startedAt), end: Date.parse(w.endedAt) }));
    for (let k = 1; k < span.length; k++) expect(span[k]!.start - span[k - 1]!.start).toBeGreaterThanOrEqual(10_000);
    const calls = emu.requests().filter((r) => r.path === '/v1/chat/completions').map((r) => r.at);
    expect(calls).toHaveLength(1000);
    const perWindow = span.map(({ start, end }) => calls.filter((t) => t >= start && t <= end).length);
    expect(perWindow).toEqual([300, 300, 300, 100]);
    // The gaps: between the last call of a window and the first of the next, the run waited.
    const firstCall = span.map(({ start, end }) => Math.min(...calls.filter((t) => t >= start && t <= end)));
    const lastCall = span.map(({ start, end }) => Math.max(...calls.filter((t) => t >= start && t <= end)));
    console.log(`windows start at +${span.map((w) => ((w.start - span[0]!.start) / 1000).toFixed(1)).join(' s, +')} s; no call between windows for ${firstCall.slice(1).map((f, k) => `${((f - lastCall[k]!) / 1000).toFixed(1)} s`).join(', ')}; calls per window ${perWindow.join(', ')}`);
  }, 150_000);

  it('--per-window-budget: the window stops at its budget; pause, resume and cancel act at once while it waits', async () => {
    emu.resetStats();
    const taskQueue = `windows-budget-${Date.now()}`;
    const worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    try {
      const runId = `windows-budget-${Date.now()}`;
      const { path } = writeChatInput(home, 200, 'windows-budget.jsonl');
      const budgetUsd = 0.0012;
      const handle = await startRun(c, runConfig({ runId, inputPath: path, concurrency: 4, chunkSize: 20, maxChunksInFlight: 2, window: { everyMs: 3_600_000, budgetUsd } }), taskQueue);
      let s: RunStatus | undefined;
      await waitFor(async () => (s = await getRunStatus(c, runId)).state === 'waiting_window', 60_000, 'the window to use its budget');
      const done = s!.counts.succeeded + s!.counts.failed;
      console.log(`window 1: ${done} items for $${s!.window!.spentUsd} of $${budgetUsd}`);
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(200);
      expect(s!.window!.spentUsd).toBeLessThanOrEqual(budgetUsd);
      expect(s!.window!.items).toBe(done);
      expect(s!.costUsd.spent).toBeCloseTo(s!.window!.spentUsd, 9);
      expect(Date.parse(s!.window!.nextStartAt) - Date.parse(s!.window!.startedAt)).toBe(3_600_000);
      expect(emu.stats().served).toBe(done);

      // Pause and resume during the wait: both act at once, and the run goes back to waiting.
      await handle.signal(pauseSignal);
      await waitFor(async () => (await getRunStatus(c, runId)).state === 'paused', 5000, 'paused');
      await handle.signal(resumeSignal);
      await waitFor(async () => (await getRunStatus(c, runId)).state === 'waiting_window', 5000, 'waiting again');
      // Cancel ends the wait at once, not an hour later.
      const t0 = Date.now();
      await handle.signal(cancelSignal);
      const final = (await handle.result()) as RunStatus;
      expect(final.state).toBe('cancelled');
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(final.counts.pending).toBe(200 - done);
      expect(emu.stats().served).toBe(done);
    } finally {
      await worker.stop();
    }
  }, 120_000);

  it('Batch mode: each window\'s items become that window\'s batch file, across continue-as-new', async () => {
    emu.resetStats();
    const taskQueue = `windows-batch-${Date.now()}`;
    const worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    try {
      const runId = `windows-batch-${Date.now()}`;
      const { path, ids } = writeChatInput(home, 250, 'windows-batch.jsonl');
      const handle = await startRun(
        c,
        // A small history limit: the run continues as new during its windows, which carry over.
        runConfig({ runId, inputPath: path, mode: 'batch', batchPollInitialMs: 200, batchPollMaxMs: 500, continueAsNewAfterEvents: 40, window: { everyMs: 4000, items: 100 } }),
        taskQueue,
      );
      const status = (await handle.result()) as RunStatus;
      expect(status.state).toBe('completed');
      expect(status.counts).toMatchObject({ total: 250, succeeded: 250, failed: 0 });
      expect(readJsonl<{ custom_id: string }>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      // One planned part (250 lines) went as three files, one per window.
      const batches = emu.batches().filter((b) => (b.metadata as Record<string, string> | null)?.llm_batch_run === runId);
      expect(batches.map((b) => b.request_counts?.total)).toEqual([100, 100, 50]);
      const created = emu.requests().filter((r) => r.path === '/v1/batches').map((r) => r.at);
      expect(created).toHaveLength(3);
      for (let i = 1; i < created.length; i++) expect(created[i]! - created[i - 1]!).toBeGreaterThan(3000);
      expect(status.windowsEnded!.map((w) => [w.number, w.items])).toEqual([[1, 100], [2, 100], [3, 50]]);
      expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
