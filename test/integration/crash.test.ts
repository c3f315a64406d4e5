// A worker process killed with SIGKILL in the middle of a run: the run resumes on a new
// worker from the item store, loses nothing, and re-sends at most what was in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { startRun } from '../../src/client.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { client, readJsonl, runConfig, spawnWorker, tempDir, waitFor, writeChatInput } from '../support/harness.ts';

describe('crash and resume', () => {
  let emu: RunningEmulator;
  const workers: ChildProcess[] = [];
  const home = tempDir();
  const taskQueue = `crash-${Date.now()}`;

  beforeAll(async () => {
    // Latency keeps calls in flight at the moment of the kill.
    emu = await startEmulator({ port: 0, latencyMs: 40, jitterMs: 20 });
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await emu?.close();
  });

  it('SIGKILL at ~50%: zero lost items, duplicates no more than the concurrency', async () => {
    const concurrency = 16;
    const { path, ids } = writeChatInput(home, 2000, 'crash.jsonl');
    const c = await client();
    const first = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue });
    workers.push(first);
    const runId = `crash-${Date.now()}`;
    const handle = await startRun(c, runConfig({ runId, inputPath: path, concurrency, chunkSize: 250, maxChunksInFlight: 4, heartbeatTimeoutMs: 3000 }), taskQueue);

    await waitFor(() => emu.stats().served >= 1000, 90_000, 'half the items to be served');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const servedAtKill = emu.stats().served;
    expect(servedAtKill).toBeLessThan(2000);

    const second = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue });
    workers.push(second);
    const status = (await handle.result()) as RunStatus;

    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ total: 2000, succeeded: 2000, failed: 0, pending: 0 });
    const out = readJsonl<{ custom_id: string }>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    const stats = emu.stats();
    expect(stats.uniqueIds).toBe(2000);
    expect(stats.duplicateCalls).toBeLessThanOrEqual(concurrency);
    second.kill('SIGTERM');
  });
});
