// The provider's refusals in a batch run are data, not bugs: against a real Temporal dev
// server and the emulator over HTTP (through the openai SDK), the emulator refuses one of three
// batch input uploads (and a batch creation) with a 400, and an item is over --max-batch-bytes.
// Without --on-batch-failure realtime the refused file's items fail with the provider's message
// (batch_refused) and the oversize item fails at planning (too_large_for_batch); with it, they
// all go realtime. Either way the other files complete and the run ends `completed`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';
import { chatLine, client, readJsonl, runConfig, runToEnd, startWorker, tempDir, writeChatInput } from '../support/harness.ts';

type OutLine = { custom_id: string; response: { status_code: number } | null; error: { code: string; message: string } | null };

/** The emulator's batches of one run, by the metadata llm-batch puts on them. */
const batchesOf = (emu: RunningEmulator, runId: string) => emu.batches().filter((b) => (b.metadata as Record<string, string> | null)?.llm_batch_run === runId);

describe('Batch API refusals', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `batch-refusals-${Date.now()}`;
  // 30 items in 3 files of 10 (each ~2.3 KB), and one item whose line alone is over the 8 KB limit.
  const MAX_BYTES = 8000;
  const input = (name: string): { path: string; ids: string[] } => {
    const { path, ids } = writeChatInput(home, 30, name);
    appendFileSync(path, `${chatLine('huge', `Summarise: ${'lorem ipsum '.repeat(1000)}`)}\n`);
    return { path, ids };
  };
  const batchConfig = (runId: string, inputPath: string, extra: Partial<RunConfig> = {}): RunConfig =>
    runConfig({ runId, inputPath, mode: 'batch', maxBatchLines: 10, maxBatchBytes: MAX_BYTES, batchPollInitialMs: 200, batchPollMaxMs: 1000, ...extra });

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, batchValidatingMs: 100, batchInProgressMs: 500, batchFinalizingMs: 100 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('a refused upload fails only its file\'s items, with the provider\'s message; an oversize item fails at planning; the run completes', async () => {
    emu.configure({ refuseUploads: [2], refuseBatchCreates: [] });
    emu.resetStats();
    const { path, ids } = input('refused.jsonl');
    const runId = `brefused-${Date.now()}`;
    const status = await runToEnd(c, batchConfig(runId, path), taskQueue);

    expect(status.state).toBe('completed');
    expect(status.counts).toEqual({ total: 31, succeeded: 20, failed: 11, rejected: 0, pending: 0 });
    expect(emu.stats()).toMatchObject({ uploadsRefused: 1, filesUploaded: 2, batchesCreated: 2, batchLinesServed: 20 });
    // The two other files ran to completion at the provider.
    const batches = batchesOf(emu, runId);
    expect(batches.map((b) => [b.status, b.request_counts?.total])).toEqual([['completed', 10], ['completed', 10]]);

    const errors = readJsonl<OutLine>(status.errorsPath!);
    const refused = errors.filter((e) => e.error?.code === 'batch_refused');
    expect(refused).toHaveLength(10);
    for (const e of refused) {
      expect(e.error!.message).toMatch(/^the provider refused the upload of its batch input file \(HTTP 400\): Invalid file: .*was refused/);
    }
    // The refused file is one of the three parts: ten consecutive items.
    const first = ids.indexOf(refused[0]!.custom_id);
    expect(first % 10).toBe(0);
    expect(refused.map((e) => e.custom_id)).toEqual(ids.slice(first, first + 10));
    const [huge] = errors.filter((e) => e.error?.code === 'too_large_for_batch');
    expect(huge!.custom_id).toBe('huge');
    expect(huge!.error!.message).toMatch(new RegExp(`^custom_id "huge": its batch input line is \\d{5} bytes, over the ${MAX_BYTES}-byte limit of a batch file \\(--max-batch-bytes\\)`));
    // Succeeded: the other 20, in input order.
    expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids.filter((id) => !refused.some((e) => e.custom_id === id)));
  }, 90_000);

  it('--on-batch-failure realtime: a refused upload\'s and a refused batch\'s items, and the oversize item, go realtime; every item succeeds', async () => {
    emu.configure({ refuseUploads: [1], refuseBatchCreates: [1] });
    emu.resetStats();
    const { path, ids } = input('refused-realtime.jsonl');
    const runId = `brefrt-${Date.now()}`;
    const status = await runToEnd(c, batchConfig(runId, path, { onBatchFailure: 'realtime' }), taskQueue);

    expect(status.state).toBe('completed');
    expect(status.counts).toEqual({ total: 31, succeeded: 31, failed: 0, rejected: 0, pending: 0 });
    expect(readJsonl(status.errorsPath!)).toEqual([]);
    expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual([...ids, 'huge']);
    const stats = emu.stats();
    expect(stats).toMatchObject({ uploadsRefused: 1, batchCreatesRefused: 1, batchesCreated: 1, batchLinesServed: 10 });
    // 20 refused items and the oversize one, each served once realtime.
    expect(stats.byEndpoint['/v1/chat/completions']).toBe(21);
    expect(stats.duplicateCalls).toBe(0);
    expect(status.paths!.batch).toMatchObject({ succeeded: 10, failed: 0 });
  }, 90_000);
});
