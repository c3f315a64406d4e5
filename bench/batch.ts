// Batch API benchmark: the three steps llm-batch adds around a batch, on 100,000 lines in
// two 50,000-line files, against the local emulator, each next to a naive baseline
// measured in the same run:
// - write: pending items from the store → Batch input files (llm-batch: the stored body
//   text spliced into the line; naive: parse each body, JSON.stringify each line);
// - upload: the file to POST /v1/files (llm-batch: streamed from disk; naive: read whole
//   into memory, then the SDK's toFile);
// - merge: the finished batches' output files → the store → output.jsonl in input order
//   (llm-batch: collectBatch + export, streamed; naive: download whole, parse every line,
//   index by custom_id, write in input order — no store, no durability).
// Target: ≥ 50,000 lines/s for each of llm-batch's three.
//   node bench/batch.ts            (also: npm run bench -- batch)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { batchOperations } from '../src/activities/batch-api.ts';
import { exportResults } from '../src/activities/export.ts';
import { stageInput } from '../src/input/stage-input.ts';
import { DEFAULTS } from '../src/client.ts';
import type { RunConfig } from '../src/domain/run-types.ts';
import { startEmulator } from '../src/emulator/server.ts';
import { BatchClient } from '../src/llm/batch-client.ts';
import { loadDefaultPricing } from '../src/llm/pricing-file.ts';
import { SqliteItemStore } from '../src/store/sqlite.ts';
import { writeInput } from './stage.ts';

const LINES = 100_000;
const TARGET = 50_000;

interface Step {
  name: string;
  llmBatchMs: number;
  naiveMs: number;
}

const time = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const rate = (ms: number): number => LINES / (ms / 1000);
const log = (m: string): void => console.error(`[bench batch] ${m}`);

export async function benchBatch(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-batch-'));
  const emu = await startEmulator({ port: 0, batchValidatingMs: 10, batchInProgressMs: 200, batchFinalizingMs: 10 });
  const store = new SqliteItemStore(join(dir, 'items.sqlite'));
  try {
    const inputPath = join(dir, 'input.jsonl');
    await writeInput(inputPath, LINES);
    const config: RunConfig = { runId: 'bench-batch', inputPath, mode: 'batch', ...DEFAULTS };
    const batchClient = new BatchClient({ baseURL: emu.baseUrl, requestTimeoutMs: 600_000 });
    const deps = { store, pricingFor: async () => loadDefaultPricing(), runDir: () => dir, batchClientFor: () => batchClient };
    log(`staging ${LINES.toLocaleString('en-US')} lines …`);
    await stageInput(deps, config);
    const plan = await store.planParts(config.runId, { chunkSize: config.chunkSize, maxLines: config.maxBatchLines, maxBytes: config.maxBatchBytes });
    const parts = Array.from({ length: plan.batchParts }, (_, i) => plan.realtimeParts + i);
    log(`${parts.length} batch files planned`);
    const ops = batchOperations(deps);
    const sub = (part: number) => ({ config, chunkIndex: part, selection: { part }, dispatch: 0, submission: 0 });
    const steps: Step[] = [];

    // write
    const files = parts.map((p) => join(dir, `llm-batch-${p}.jsonl`));
    const writeMs = await time(async () => {
      for (const [i, p] of parts.entries()) await ops.writeInputFile(sub(p), files[i]!, undefined);
    });
    const naiveWriteMs = await time(async () => {
      for (const p of parts) {
        const items = await store.pendingItems(config.runId, { part: p });
        writeFileSync(join(dir, `naive-${p}.jsonl`), items.map((it) => `${JSON.stringify({ custom_id: it.customId, method: 'POST', url: it.url, body: it.body })}\n`).join(''));
      }
    });
    steps.push({ name: 'write', llmBatchMs: writeMs, naiveMs: naiveWriteMs });

    // upload
    const fileIds: string[] = [];
    const uploadMs = await time(async () => {
      for (const f of files) fileIds.push(await batchClient.upload(f));
    });
    const sdk = new OpenAI({ apiKey: 'bench', baseURL: emu.baseUrl, maxRetries: 0 });
    const naiveUploadMs = await time(async () => {
      for (const p of parts) await sdk.files.create({ file: await toFile(readFileSync(join(dir, `naive-${p}.jsonl`)), `naive-${p}.jsonl`), purpose: 'batch' });
    });
    steps.push({ name: 'upload', llmBatchMs: uploadMs, naiveMs: naiveUploadMs });

    // the provider runs the batches (not measured)
    log('the emulator runs the batches …');
    const batches = await Promise.all(fileIds.map((id) => batchClient.create(id, '/v1/chat/completions', { bench: 'batch' })));
    for (;;) {
      const now = await Promise.all(batches.map((b) => batchClient.retrieve(b.id)));
      if (now.every((b) => b.status === 'completed')) break;
      if (now.some((b) => ['failed', 'expired', 'cancelled'].includes(b.status))) throw new Error(`a bench batch ended ${now.map((b) => b.status).join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const done = await Promise.all(batches.map((b) => batchClient.retrieve(b.id)));

    // merge = collect (output files → the store, durable) + export (the store → output.jsonl)
    const collectMs = await time(async () => {
      for (const [i, p] of parts.entries()) await ops.collect({ ...sub(p), batchId: done[i]!.id, attempt: 1, finalAttempt: true });
    });
    const exportMs = await time(async () => {
      const r = await exportResults(store, config.runId, join(dir, 'output.jsonl'), join(dir, 'errors.jsonl'));
      if (r.succeeded !== LINES) throw new Error(`merge: ${r.succeeded} of ${LINES} lines succeeded`);
    });
    const mergeMs = collectMs + exportMs;
    log(`merge: collect ${Math.round(collectMs)} ms (${Math.round(rate(collectMs)).toLocaleString('en-US')} lines/s), export ${Math.round(exportMs)} ms (${Math.round(rate(exportMs)).toLocaleString('en-US')} lines/s)`);
    const naiveMergeMs = await time(async () => {
      const byId = new Map<string, unknown>();
      for (const b of done) {
        const text = await (await sdk.files.content(b.output_file_id!)).text();
        for (const line of text.split('\n')) if (line) byId.set((JSON.parse(line) as { custom_id: string }).custom_id, JSON.parse(line));
      }
      const order = readFileSync(inputPath, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
      writeFileSync(join(dir, 'naive-output.jsonl'), order.map((id) => `${JSON.stringify(byId.get(id))}\n`).join(''));
    });
    steps.push({ name: 'merge', llmBatchMs: mergeMs, naiveMs: naiveMergeMs });

    console.log(`\nBatch API path, ${LINES.toLocaleString('en-US')} lines in ${parts.length} files, Node ${process.version}`);
    console.log('step      llm-batch lines/s   naive lines/s   llm-batch / naive');
    for (const s of steps) {
      console.log(`${s.name.padEnd(9)} ${Math.round(rate(s.llmBatchMs)).toLocaleString('en-US').padStart(17)} ${Math.round(rate(s.naiveMs)).toLocaleString('en-US').padStart(15)} ${(s.naiveMs / s.llmBatchMs).toFixed(2).padStart(18)}×`);
    }
    let ok = true;
    for (const s of steps) {
      const pass = rate(s.llmBatchMs) >= TARGET;
      ok &&= pass;
      console.log(`${pass ? 'PASS' : 'FAIL'}  ${s.name}: ${Math.round(rate(s.llmBatchMs)).toLocaleString('en-US')} lines/s (target ≥ ${TARGET.toLocaleString('en-US')})`);
    }
    return ok ? 0 : 1;
  } finally {
    await store.close();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) process.exit(await benchBatch());
