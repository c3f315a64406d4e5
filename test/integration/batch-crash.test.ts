// A worker killed with SIGKILL at each step of a batch's life: (a) between upload and
// create, (b) between create and the activity's return, (c) while the workflow polls, and
// (d) in the middle of collecting. A new worker resumes; each case ends with exactly one
// batch per file at the provider, every item in the output once, and each billed once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { startRun } from '../../src/client.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { client, outputLineCostUsd, readJsonl, runConfig, spawnWorker, tempDir, waitFor, writeChatInput } from '../support/harness.ts';

type OutLine = { custom_id: string; response: { body: { model: string; usage: Record<string, unknown> } } };

describe('batch crash and resume', () => {
  let emu: RunningEmulator;
  const workers: ChildProcess[] = [];
  const home = tempDir();

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, batchValidatingMs: 200, batchInProgressMs: 2000, batchFinalizingMs: 200 });
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await emu?.close();
  });

  const exited = (w: ChildProcess): Promise<void> => (w.exitCode !== null || w.signalCode !== null ? Promise.resolve() : new Promise((r) => w.once('exit', () => r())));

  /**
   * Runs 600 items in 2 batch files on a worker that dies (by its own crash point, or by
   * `kill` once `killWhen` holds), then on a second worker; checks the run's invariants.
   */
  async function crashAndResume(name: string, opts: { crashAt?: string; killWhen?: (runId: string) => boolean }): Promise<void> {
    const taskQueue = `bcrash-${name}-${Date.now()}`;
    const runId = `bcrash-${name}-${Date.now()}`;
    const marker = join(home, `${runId}.crashed`);
    const { path, ids } = writeChatInput(home, 600, `${name}.jsonl`);
    const c = await client();
    const env: Record<string, string> = opts.crashAt ? { LLM_BATCH_CRASH_AT: opts.crashAt, LLM_BATCH_CRASH_MARKER: marker } : {};
    const first = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue, env });
    workers.push(first);
    const handle = await startRun(
      c,
      runConfig({ runId, inputPath: path, mode: 'batch', maxBatchLines: 300, heartbeatTimeoutMs: 3000, batchPollInitialMs: 300, batchPollMaxMs: 1000 }),
      taskQueue,
    );
    if (opts.crashAt) {
      await waitFor(() => first.exitCode !== null || first.signalCode !== null, 60_000, `the worker to kill itself at ${opts.crashAt}`);
      expect(existsSync(marker)).toBe(true);
    } else {
      await waitFor(() => opts.killWhen!(runId), 60_000, `the moment to kill (${name})`);
      first.kill('SIGKILL');
      await exited(first);
    }
    const second = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue, env });
    workers.push(second);
    const status = (await handle.result()) as RunStatus;
    second.kill('SIGTERM');

    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ total: 600, succeeded: 600, failed: 0, pending: 0 });
    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    // Exactly one batch per file at the provider.
    const batches = emu.batches().filter((b) => (b.metadata as Record<string, string> | null)?.llm_batch_run === runId);
    expect(batches.map((b) => (b.metadata as Record<string, string>).chunk).sort()).toEqual(['0.0.0', '1.0.0']);
    expect(batches.map((b) => b.request_counts?.total)).toEqual([300, 300]);
    // Each item billed once: the spend is the output's usage at the Batch discount, to 1e-6.
    const expected = out.reduce((s, l) => s + outputLineCostUsd(l, true), 0);
    expect(Math.abs(status.costUsd.spent - expected)).toBeLessThan(1e-6);
  }

  it('(a) killed between upload and create', () => crashAndResume('upload', { crashAt: 'submit:after-upload' }), 120_000);
  it('(b) killed between create and the activity\'s return', () => crashAndResume('create', { crashAt: 'submit:after-create' }), 120_000);
  it('(c) killed while polling', () =>
    crashAndResume('poll', {
      killWhen: (runId) => emu.batches().filter((b) => (b.metadata as Record<string, string> | null)?.llm_batch_run === runId && b.status === 'in_progress').length === 2,
    }), 120_000);
  it('(d) killed in the middle of collecting', () => crashAndResume('collect', { crashAt: 'collect:mid' }), 120_000);
});
