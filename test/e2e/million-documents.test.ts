// The README's "Processing a million documents" walkthrough, at a small scale, as a user
// types it: estimate → a Batch API run with a sample and approval, a schema, daily windows
// (seconds here) and a judge's spot-check at each window's end → status → results --parsed.
// Real dev server, the CLI as a child process, the emulator over HTTP.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { readJsonl, startWorker, tempDir, waitFor } from '../support/harness.ts';

const exec = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/llm-batch.js');
const SCHEMA = join(REPO, 'examples/documents/schema.json');
const JUDGE_PROMPT = join(REPO, 'examples/documents/judge-prompt.txt');

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

interface Status {
  state: string;
  counts: { total: number; succeeded: number; failed: number; pending: number };
  costUsd: { spent: number };
  sample?: { measured: number };
  windowsEnded?: { number: number; items: number }[];
  quality?: { checkpoints: { index: number; checked: number; passRate: number; outcome: string }[]; judgeCostUsd: number };
}

describe('Processing a million documents (README walkthrough, 300 documents)', () => {
  let emu: RunningEmulator;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `e2e-docs-${Date.now()}`;
  const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), LLM_BATCH_HOME: home, LLM_BATCH_TASK_QUEUE: taskQueue };

  beforeAll(async () => {
    // Batch API timings in seconds, not hours; a judge that passes what it sees (booleans drawn true).
    emu = await startEmulator({ port: 0, batchValidatingMs: 100, batchInProgressMs: 600, batchFinalizingMs: 100, booleanFalseRate: 0 });
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('estimate, run with sample, schema, windows and spot-checks in batch mode, status, results --parsed', async () => {
    const dir = tempDir();
    const docs = join(dir, 'documents.jsonl');
    const made = await exec(process.execPath, [join(REPO, 'scripts/make-documents.ts'), '300'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
    writeFileSync(docs, made.stdout);

    // 1. What it would cost, every model and mode.
    const estimate = await cli(['estimate', docs, '--json'], env);
    expect(estimate.code, estimate.stderr).toBe(0);
    const report = JSON.parse(estimate.stdout) as { accepted: number; models: { model: string; costUsd: { realtime: number; batch: number } }[] };
    expect(report.accepted).toBe(300);
    const mini = report.models.find((m) => m.model === 'gpt-4o-mini')!;
    expect(mini.costUsd.batch).toBeCloseTo(mini.costUsd.realtime / 2, 9);

    // 2. The run: a measured sample waiting for approval, then windows of 100 through the Batch API.
    const runId = `docs-${Date.now()}`;
    const start = await cli([
      'run', docs, '--run-id', runId, '--mode', 'batch', '--schema', SCHEMA,
      '--sample', '20', '--approve',
      '--window', '3s', '--per-window-items', '100',
      '--spot-check', '10', '--judge-model', 'gpt-4o-mini', '--judge-prompt', JUDGE_PROMPT,
      '--batch-poll-interval', '200ms', '--batch-poll-max', '500ms',
    ], env);
    expect(start.code, start.stderr).toBe(0);
    const statusOf = async (): Promise<Status> => JSON.parse((await cli(['status', runId, '--json'], env)).stdout) as Status;
    await waitFor(async () => (await statusOf()).state === 'awaiting_approval', 120_000, 'awaiting_approval');
    const sampled = await statusOf();
    expect(sampled.sample?.measured).toBe(20);
    expect(sampled.counts.succeeded + sampled.counts.failed).toBe(20);

    const approve = await cli(['approve', runId], env);
    expect(approve.code, approve.stderr).toBe(0);

    // 3. Follow it with status until it ends.
    await waitFor(async () => ['completed', 'failed', 'cancelled', 'rejected'].includes((await statusOf()).state), 180_000, 'the run to end');
    const final = await statusOf();
    expect(final.state).toBe('completed');
    expect(final.counts).toMatchObject({ total: 300, pending: 0 });
    // 280 items after the sample, 100 a window: three windows, each checked by the judge before the next.
    expect(final.windowsEnded?.map((w) => w.items)).toEqual([100, 100, 80]);
    const checkpoints = final.quality!.checkpoints;
    expect(checkpoints).toHaveLength(3);
    for (const c of checkpoints) expect(c).toMatchObject({ checked: 10, passRate: 1, outcome: 'pass' });
    expect(final.quality!.judgeCostUsd).toBeGreaterThan(0);
    const table = await cli(['status', runId], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('completed');

    // 4. The answers as data: one parsed record per success, each in the schema's shape.
    const out = join(dir, 'out.jsonl');
    const parsed = join(dir, 'parsed.jsonl');
    const results = await cli(['results', runId, '--out', out, '--parsed', parsed], env);
    expect(results.code, results.stderr).toBe(0);
    const records = readJsonl<{ custom_id: string; category: string; team: string; contains_personal_data: boolean; summary: string }>(parsed);
    expect(records).toHaveLength(final.counts.succeeded);
    expect(final.counts.succeeded).toBe(300);
    for (const r of records) {
      expect(r.custom_id).toMatch(/^doc-\d{7}$/);
      expect(typeof r.category).toBe('string');
      expect(typeof r.team).toBe('string');
      expect(typeof r.contains_personal_data).toBe('boolean');
      expect(typeof r.summary).toBe('string');
    }
    expect(readJsonl(out)).toHaveLength(300);
  }, 420_000);
});
