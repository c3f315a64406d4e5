// `llm-batch worker` with LLM_BATCH_DATABASE_URL: items live in PostgreSQL, not in the data
// dir's SQLite file; a worker SIGKILLed mid-run resumes from PostgreSQL, losing nothing and
// re-sending at most what was in flight; `llm-batch results` exports from PostgreSQL.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { startRun } from '../../src/client.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { storePath } from '../../src/store/sqlite.ts';
import { client, freshDatabase, readJsonl, runConfig, spawnWorker, tempDir, waitFor, writeChatInput } from '../support/harness.ts';

const REPO = resolve(import.meta.dirname, '../..');

describe('worker on the PostgreSQL item store', () => {
  let emu: RunningEmulator;
  let databaseUrl: string;
  const workers: ChildProcess[] = [];
  const home = tempDir();
  const taskQueue = `pg-worker-${Date.now()}`;

  beforeAll(async () => {
    // Latency keeps calls in flight at the moment of the kill.
    emu = await startEmulator({ port: 0, latencyMs: 40, jitterMs: 20 });
    databaseUrl = await freshDatabase();
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await emu?.close();
  });

  it('SIGKILL at ~50%: resumed from PostgreSQL, zero lost items, duplicates no more than the concurrency; results export from it', async () => {
    const concurrency = 16;
    const { path, ids } = writeChatInput(home, 1000, 'pg.jsonl');
    const env = { LLM_BATCH_DATABASE_URL: databaseUrl };
    const first = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue, env });
    workers.push(first);
    let said = '';
    first.stderr!.on('data', (b: Buffer) => (said += b.toString()));
    const c = await client();
    const runId = `pg-crash-${Date.now()}`;
    const handle = await startRun(c, runConfig({ runId, inputPath: path, concurrency, chunkSize: 125, maxChunksInFlight: 4, heartbeatTimeoutMs: 3000 }), taskQueue);

    await waitFor(() => emu.stats().served >= 500, 90_000, 'half the items to be served');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(emu.stats().served).toBeLessThan(1000);
    // The worker said where its items are, without a password.
    expect(said).toContain(`item store ${new URL(databaseUrl).toString()}`);

    const second = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue, env });
    workers.push(second);
    const status = (await handle.result()) as RunStatus;

    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ total: 1000, succeeded: 1000, failed: 0, pending: 0 });
    expect(readJsonl<{ custom_id: string }>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
    const stats = emu.stats();
    expect(stats.uniqueIds).toBe(1000);
    expect(stats.duplicateCalls).toBeLessThanOrEqual(concurrency);

    // The items are in PostgreSQL, and no SQLite store was made.
    expect(existsSync(storePath(home))).toBe(false);
    const db = new pg.Client(databaseUrl);
    await db.connect();
    try {
      const { rows } = await db.query("SELECT status, count(*)::int AS n, sum(cost_usd) AS cost FROM items WHERE run_id = $1 GROUP BY status", [runId]);
      expect(rows).toEqual([{ status: 'succeeded', n: 1000, cost: expect.closeTo(status.costUsd.spent, 9) }]);
    } finally {
      await db.end();
    }

    // While a worker runs: `results` asks Temporal how the run ended, a query that a worker answers.
    const out = join(home, 'exported.jsonl');
    const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, 'bin/llm-batch.js'), 'results', runId, '--out', out, '--json'], {
      env: { ...process.env, ...env, LLM_BATCH_HOME: home, TEMPORAL_ADDRESS: inject('temporalAddress') },
    });
    expect(JSON.parse(stdout)).toMatchObject({ succeeded: 1000, failed: 0 });
    expect(readJsonl(out)).toEqual(readJsonl(status.outputPath!));
    second.kill('SIGTERM');
  });

  it('three workers with data dirs of their own share a run; one SIGKILLed, nothing is lost', async () => {
    const exec = promisify(execFile);
    const queue = `${taskQueue}-three`;
    const three = [0, 1, 2].map(() => spawnWorker({ home: tempDir(), baseURL: emu.baseUrl, taskQueue: queue, env: { LLM_BATCH_DATABASE_URL: databaseUrl } }));
    workers.push(...three);
    const inputDir = tempDir();
    const { path, ids } = writeChatInput(inputDir, 1200, 'three.jsonl');
    const runId = `pg-three-${Date.now()}`;
    emu.resetStats();
    const env = { ...process.env, LLM_BATCH_DATABASE_URL: databaseUrl, LLM_BATCH_HOME: tempDir(), LLM_BATCH_TASK_QUEUE: queue, TEMPORAL_ADDRESS: inject('temporalAddress') };
    const concurrency = 8;
    await exec(process.execPath, [join(REPO, 'bin/llm-batch.js'), 'run', path, '--run-id', runId, '--chunk-size', '50', '--max-chunks-in-flight', '9', '--concurrency', String(concurrency), '--heartbeat-timeout', '3s'], { env });
    rmSync(inputDir, { recursive: true, force: true });
    await waitFor(() => emu.stats().served >= 500, 90_000, 'a third of the items to be served');
    three[0].kill('SIGKILL');
    const status = (await (await client()).workflow.getHandle(runId).result()) as RunStatus;
    expect(status.counts).toMatchObject({ succeeded: 1200, failed: 0, pending: 0 });
    expect(readJsonl<{ custom_id: string }>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
    const stats = emu.stats();
    expect(stats.uniqueIds).toBe(1200);
    // Re-sent only what the killed worker had in flight: at most the run's concurrency in that process.
    expect(stats.duplicateCalls).toBeLessThanOrEqual(concurrency);
    console.log(`three workers on PostgreSQL, one SIGKILLed: ${stats.duplicateCalls} calls re-sent`);
    for (const w of three.slice(1)) w.kill('SIGTERM');
  }, 240_000);

  it('`run` from a directory no worker can read stages the input itself; `results` from a fresh data dir', async () => {
    const exec = promisify(execFile);
    const cliEnv = (h: string) => ({ ...process.env, LLM_BATCH_DATABASE_URL: databaseUrl, LLM_BATCH_HOME: h, LLM_BATCH_TASK_QUEUE: taskQueue, TEMPORAL_ADDRESS: inject('temporalAddress') });
    const worker = spawnWorker({ home: tempDir(), baseURL: emu.baseUrl, taskQueue, env: { LLM_BATCH_DATABASE_URL: databaseUrl } });
    workers.push(worker);
    // The user's machine: the input in a folder of its own, a data dir of its own.
    const laptop = tempDir();
    const inputDir = tempDir();
    const { path, ids } = writeChatInput(inputDir, 300, 'mine.jsonl');
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"not": "a request"}\n`);
    const runId = `pg-laptop-${Date.now()}`;
    const run = await exec(process.execPath, [join(REPO, 'bin/llm-batch.js'), 'run', path, '--run-id', runId], { env: cliEnv(laptop) });
    expect(run.stdout.trim()).toBe(runId);
    expect(run.stderr).toContain('staged 300 items (1 rejected');
    // The file is gone before any worker could look for it.
    rmSync(inputDir, { recursive: true, force: true });
    const status = (await (await client()).workflow.getHandle(runId).result()) as RunStatus;
    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ succeeded: 300, rejected: 1, failed: 0 });
    // The rejects are where the user is.
    expect(readJsonl(join(laptop, 'runs', runId, 'rejects.jsonl'))).toEqual([expect.objectContaining({ line: 301 })]);
    // Another machine with only the two URLs exports the results.
    const elsewhere = tempDir();
    const out = join(elsewhere, 'out.jsonl');
    await exec(process.execPath, [join(REPO, 'bin/llm-batch.js'), 'results', runId, '--out', out], { env: cliEnv(elsewhere) });
    expect(readJsonl<{ custom_id: string }>(out).map((l) => l.custom_id)).toEqual(ids);
    // ... and the rejects, from the store.
    expect(readJsonl(join(elsewhere, 'rejects.jsonl'))).toEqual(readJsonl(join(laptop, 'runs', runId, 'rejects.jsonl')));
    worker.kill('SIGTERM');
  });
});
