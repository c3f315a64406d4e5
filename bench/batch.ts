// Batch API benchmark: the three steps llm-batch adds around a batch, on 100,000 lines in
// two 50,000-line files, against the local emulator, on each item store (SQLite, and a
// throwaway PostgreSQL), each step next to a naive baseline measured in the same run:
// - write: pending items from the store → Batch input files (llm-batch: the stored body
//   text spliced into the line; naive: parse each body, JSON.stringify each line);
// - upload: the file to POST /v1/files (llm-batch: streamed from disk; naive: read whole
//   into memory, then the SDK's toFile);
// - merge: the finished batches' output files → the store → output.jsonl in input order
//   (llm-batch: collectBatch + export, streamed; naive: download whole, parse every line,
//   index by custom_id, write in input order — no store, no durability).
// The machine is shared and noisy: each store runs ROUNDS rounds (a fresh run each, staged
// anew), llm-batch and naive alternating which goes first, and the best of each side counts.
// Targets: ≥ 50,000 lines/s for each of llm-batch's three steps; merge ≥ 0.8× naive per store.
//   node bench/batch.ts [sqlite|postgres]     (also: npm run bench -- batch)
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
import type { ItemStore } from '../src/store/item-store.ts';
import { SqliteItemStore } from '../src/store/sqlite.ts';
import { PostgresItemStore } from '../src/store/postgres.ts';
import { startPostgresServer } from '../src/dev/postgres-server.ts';
import type { RunningServer } from '../src/dev/executables.ts';
import { writeInput } from './stage.ts';

const LINES = 100_000;
const TARGET = 50_000;
const MERGE_RATIO = 0.8;
const ROUNDS = 2;
const STEPS = ['write', 'upload', 'merge'] as const;
type StepName = (typeof STEPS)[number];
type Side = 'llmBatch' | 'naive';
type Times = Record<StepName, Record<Side, number>>;

const time = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const rate = (ms: number): number => LINES / (ms / 1000);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const log = (m: string): void => console.error(`[bench batch] ${m}`);

interface Env {
  dir: string;
  inputPath: string;
  emulatorUrl: string;
}

/** Runs one store's rounds; the best time of each side per step. */
async function benchStore(env: Env, name: string, store: ItemStore): Promise<{ times: Times; files: number }> {
  const best: Times = { write: { llmBatch: Infinity, naive: Infinity }, upload: { llmBatch: Infinity, naive: Infinity }, merge: { llmBatch: Infinity, naive: Infinity } };
  const batchClient = new BatchClient({ baseURL: env.emulatorUrl, requestTimeoutMs: 600_000 });
  const sdk = new OpenAI({ apiKey: 'bench', baseURL: env.emulatorUrl, maxRetries: 0 });
  const deps = { store, pricingFor: async () => loadDefaultPricing(), runDir: () => env.dir, batchClientFor: () => batchClient };
  const ops = batchOperations(deps);
  // A keep-alive connection to the emulator left idle while the other side ran can be reset
  // on a loaded machine (neither client retries; a real collect is retried by Temporal): one
  // untimed call first, so neither side is timed through a reconnect or fails on one.
  const warm = async (): Promise<void> => {
    await batchClient.ping().catch(() => batchClient.ping());
  };
  let files = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first, so neither side always meets a warmer (or busier) machine.
    const order: Side[] = round % 2 === 0 ? ['llmBatch', 'naive'] : ['naive', 'llmBatch'];
    const measure = async (step: StepName, sides: Record<Side, () => Promise<unknown>>): Promise<void> => {
      for (const side of order) {
        await warm();
        const ms = await time(sides[side]);
        best[step][side] = Math.min(best[step][side], ms);
        log(`${name} round ${round + 1} ${step} ${side === 'llmBatch' ? 'llm-batch' : 'naive'}: ${fmt(ms)} ms (${fmt(rate(ms))} lines/s)`);
      }
    };
    const runId = `bench-batch-${name}-${round}`;
    const config: RunConfig = { runId, inputPath: env.inputPath, mode: 'batch', ...DEFAULTS };
    await store.deleteRun(runId);
    log(`${name} round ${round + 1}: staging ${fmt(LINES)} lines …`);
    await stageInput(deps, config);
    const plan = await store.planParts(runId, { chunkSize: config.chunkSize, maxLines: config.maxBatchLines, maxBytes: config.maxBatchBytes });
    const parts = Array.from({ length: plan.batchParts }, (_, i) => plan.realtimeParts + i);
    files = parts.length;
    const sub = (part: number) => ({ config, chunkIndex: part, selection: { part }, dispatch: 0, submission: 0 });
    const inputFile = (side: string, p: number): string => join(env.dir, `${side}-${runId}-${p}.jsonl`);

    await measure('write', {
      llmBatch: async () => {
        for (const p of parts) await ops.writeInputFile(sub(p), inputFile('llm-batch', p), undefined);
      },
      naive: async () => {
        for (const p of parts) {
          const items = await store.pendingItems(runId, { part: p });
          writeFileSync(inputFile('naive', p), items.map((it) => `${JSON.stringify({ custom_id: it.customId, method: 'POST', url: it.url, body: it.body })}\n`).join(''));
        }
      },
    });

    const fileIds: string[] = [];
    await measure('upload', {
      llmBatch: async () => {
        fileIds.length = 0;
        for (const p of parts) fileIds.push(await batchClient.upload(inputFile('llm-batch', p)));
      },
      naive: async () => {
        for (const p of parts) await sdk.files.create({ file: await toFile(readFileSync(inputFile('naive', p)), `naive-${p}.jsonl`), purpose: 'batch' });
      },
    });

    // The provider runs the batches (not measured).
    log(`${name} round ${round + 1}: the emulator runs the batches …`);
    const batches = await Promise.all(fileIds.map((id) => batchClient.create(id, '/v1/chat/completions', { bench: runId })));
    for (;;) {
      const now = await Promise.all(batches.map((b) => batchClient.retrieve(b.id)));
      if (now.every((b) => b.status === 'completed')) break;
      if (now.some((b) => ['failed', 'expired', 'cancelled'].includes(b.status))) throw new Error(`a bench batch ended ${now.map((b) => b.status).join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const done = await Promise.all(batches.map((b) => batchClient.retrieve(b.id)));

    // merge = collect (output files → the store, durable) + export (the store → output.jsonl)
    await measure('merge', {
      llmBatch: async () => {
        const collectMs = await time(async () => {
          for (const [i, p] of parts.entries()) await ops.collect({ ...sub(p), batchId: done[i]!.id, attempt: 1, finalAttempt: true });
        });
        const exportMs = await time(async () => {
          const r = await exportResults(store, runId, join(env.dir, `output-${runId}.jsonl`), join(env.dir, `errors-${runId}.jsonl`));
          if (r.succeeded !== LINES) throw new Error(`merge: ${r.succeeded} of ${LINES} lines succeeded`);
        });
        log(`${name} round ${round + 1} merge: collect ${fmt(collectMs)} ms (${fmt(rate(collectMs))} lines/s), export ${fmt(exportMs)} ms (${fmt(rate(exportMs))} lines/s)`);
      },
      naive: async () => {
        const byId = new Map<string, unknown>();
        for (const b of done) {
          const text = await (await sdk.files.content(b.output_file_id!)).text();
          for (const line of text.split('\n')) if (line) byId.set((JSON.parse(line) as { custom_id: string }).custom_id, JSON.parse(line));
        }
        const order = readFileSync(env.inputPath, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
        writeFileSync(join(env.dir, `naive-output-${runId}.jsonl`), order.map((id) => `${JSON.stringify(byId.get(id))}\n`).join(''));
      },
    });
    await store.deleteRun(runId);
    for (const f of [`output-${runId}.jsonl`, `errors-${runId}.jsonl`, `naive-output-${runId}.jsonl`, ...parts.flatMap((p) => [inputFile('llm-batch', p), inputFile('naive', p)])]) rmSync(join(env.dir, f), { force: true });
  }
  return { times: best, files };
}

/** The table and verdicts of one store; true when all pass. */
function report(name: string, times: Times, files: number): boolean {
  console.log(`\nBatch API path on ${name}, ${fmt(LINES)} lines in ${files} files, best of ${ROUNDS} interleaved rounds, Node ${process.version}`);
  console.log('step      llm-batch lines/s   naive lines/s   llm-batch / naive');
  for (const s of STEPS) {
    const t = times[s];
    console.log(`${s.padEnd(9)} ${fmt(rate(t.llmBatch)).padStart(17)} ${fmt(rate(t.naive)).padStart(15)} ${(t.naive / t.llmBatch).toFixed(2).padStart(18)}×`);
  }
  let ok = true;
  for (const s of STEPS) {
    const pass = rate(times[s].llmBatch) >= TARGET;
    ok &&= pass;
    console.log(`${pass ? 'PASS' : 'FAIL'}  ${name} ${s}: ${fmt(rate(times[s].llmBatch))} lines/s (target ≥ ${fmt(TARGET)})`);
  }
  const ratio = times.merge.naive / times.merge.llmBatch;
  const pass = ratio >= MERGE_RATIO;
  ok &&= pass;
  console.log(`${pass ? 'PASS' : 'FAIL'}  ${name} merge: ${ratio.toFixed(2)}× the naive baseline (target ≥ ${MERGE_RATIO}×)`);
  return ok;
}

export async function benchBatch(stores: readonly string[] = ['sqlite', 'postgres']): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-batch-'));
  const emu = await startEmulator({ port: 0, batchValidatingMs: 10, batchInProgressMs: 200, batchFinalizingMs: 10 });
  let postgres: RunningServer | undefined;
  let ok = true;
  try {
    const env: Env = { dir, inputPath: join(dir, 'input.jsonl'), emulatorUrl: emu.baseUrl };
    await writeInput(env.inputPath, LINES);
    const results: { name: string; times: Times; files: number }[] = [];
    for (const name of stores) {
      let store: ItemStore;
      if (name === 'sqlite') store = new SqliteItemStore(join(dir, 'items.sqlite'));
      else if (name === 'postgres') {
        log('starting a throwaway PostgreSQL …');
        postgres = await startPostgresServer();
        store = await PostgresItemStore.open(postgres.url);
      } else throw new Error(`unknown store "${name}": use sqlite or postgres`);
      try {
        results.push({ name: name === 'sqlite' ? 'SQLite' : 'PostgreSQL', ...(await benchStore(env, name, store)) });
      } finally {
        await store.close();
      }
    }
    for (const r of results) ok = report(r.name, r.times, r.files) && ok;
  } finally {
    await postgres?.stop();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return ok ? 0 : 1;
}

if (import.meta.main) {
  const only = process.argv[2];
  process.exit(await benchBatch(only ? [only] : undefined));
}
