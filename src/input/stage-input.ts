// Staging: streams the input once, validates every line, writes accepted items into the
// item store in transactions of STAGE_BATCH, rejects into rejects.jsonl, and counts exact
// prompt tokens for the estimate. Validation and token counts run on staging threads
// (prepare-pool.ts) while this thread writes to the store. Memory is bounded by the batches
// in flight, whatever the file size.
// Safe to retry: re-staging a line is a no-op in the store, and rejects.jsonl is rewritten.
// The staging activity runs it on a worker; with a shared store (PostgreSQL) the CLI runs it
// itself, so the workers never need to read the file.
import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { extname, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig, StageResult } from '../domain/run-types.ts';
import { estimateCostUsd, type PricingTable } from '../domain/pricing.ts';
import type { ItemStore, NewItem } from '../store/item-store.ts';
import { detectFormat, readLines, type RejectRecord } from './reader.ts';
import { parseUrgentRule } from '../domain/routing.ts';
import type { LineContext } from './prepare-line.ts';
import { preparedBatches, type PrepareOptions } from './prepare-pool.ts';
import { routeRulesProblem } from '../domain/route-rules.ts';
import { PromptCacheStaging } from './prompt-cache-staging.ts';

const STAGE_BATCH = 500;
const PROGRESS_EVERY_LINES = 20_000;
/** Inputs from this size are prepared on staging threads; smaller ones on this thread. */
const THREADS_FROM_BYTES = 4 * 1024 * 1024;

export interface StageDeps {
  store: ItemStore;
  pricingFor(config: RunConfig): Promise<PricingTable>;
  /** The run's folder on this machine: rejects.jsonl (and, on a worker, output.jsonl and errors.jsonl) go there. */
  runDir(runId: string): string;
}

/** Streams, validates and stores the input; `onProgress` hears the line count now and then. */
export async function stageInput(deps: StageDeps, config: RunConfig, onProgress: (lines: number) => void = () => {}, threads: PrepareOptions = {}): Promise<StageResult> {
  // `threads` is for tests and the bench; by default the input's size decides.
  const pricing = await deps.pricingFor(config);
  const rule = config.urgentIf === undefined ? [] : parseUrgentRule(config.urgentIf);
  if (typeof rule === 'string') throw ApplicationFailure.nonRetryable(`--urgent-if: ${rule}`, 'InvalidInput');
  const routeProblem = config.routeRules && routeRulesProblem(config.routeRules, config.mode, pricing);
  if (routeProblem) throw ApplicationFailure.nonRetryable(`--route: ${routeProblem}`, 'InvalidInput');
  // What the dashboard shows of the run besides its items (store/spend-rollup.ts).
  await deps.store.recordRun({ runId: config.runId, mode: config.mode, budgetWarnAt: config.budgetWarnAt, ...(config.budgetUsd !== undefined ? { budgetUsd: config.budgetUsd } : {}) });
  const runDir = deps.runDir(config.runId);
  mkdirSync(runDir, { recursive: true });
  const rejectsPath = join(runDir, 'rejects.jsonl');
  const rejects = createWriteStream(rejectsPath, { encoding: 'utf8' });
  // Rejects go to the file here and, with the items, into the store (rejects.jsonl from anywhere).
  let rejectBatch: RejectRecord[] = [];
  const writeReject = async (r: RejectRecord): Promise<void> => {
    rejectBatch.push(r);
    if (!rejects.write(`${JSON.stringify(r)}\n`)) await once(rejects, 'drain');
  };

  const perModel = new Map<string, { prompt: number; output: number }>();
  let lines = 0;
  let accepted = 0;
  let rejected = 0;
  let nextSeq = 0;
  let batch: NewItem[] = [];
  const promptCache = new PromptCacheStaging();

  const flushRejects = async (): Promise<void> => {
    if (rejectBatch.length === 0) return;
    await deps.store.recordRejects(config.runId, rejectBatch);
    rejectBatch = [];
  };

  /** Stages the batch of items, then records the rejects so far (its duplicates among them). */
  const flush = async (): Promise<void> => {
    if (batch.length > 0) {
      const { duplicates } = await deps.store.stageItems(config.runId, batch);
      const dupLines = new Set(duplicates.map((d) => d.line));
      for (const d of duplicates) {
        rejected++;
        await writeReject({ line: d.line, custom_id: d.customId, code: 'duplicate_custom_id', message: `custom_id "${d.customId}" was already used on line ${d.firstLine}` });
      }
      for (const it of batch) {
        if (dupLines.has(it.line)) continue;
        accepted++;
        promptCache.add(it);
        const m = perModel.get(it.model) ?? { prompt: 0, output: 0 };
        m.prompt += it.promptTokens;
        m.output += it.maxOutputTokens;
        perModel.set(it.model, m);
        // A classifier rule's rating call, at its upper bound, is part of the estimate.
        const c = it.routing?.classifier;
        if (c) {
          const r = perModel.get(c.model) ?? { prompt: 0, output: 0 };
          r.prompt += c.promptTokens;
          r.output += c.outputTokens;
          perModel.set(c.model, r);
        }
      }
      batch = [];
    }
    await flushRejects();
  };

  try {
    const ctx: LineContext = {
      format: await detectFormat(config.inputPath),
      json: extname(config.inputPath).toLowerCase() !== '.txt',
      // Only what prompts files need: the context is copied to the staging threads.
      defaults: { model: config.model, system: config.system, maxTokens: config.maxTokens },
      mode: config.mode,
      rule,
      ...(config.routeRules ? { routes: config.routeRules } : {}),
      ...(config.responseSchema ? { responseSchema: config.responseSchema } : {}),
    };
    // A small file is staged sooner on this thread than a staging thread starts (~0.5 s: the tokenizer's tables).
    const small = statSync(config.inputPath).size < THREADS_FROM_BYTES;
    const opts = small ? { threads: 0, ...threads } : threads;
    for await (const prepared of preparedBatches(readLines(config.inputPath), ctx, opts)) {
      for (const p of prepared) {
        lines++;
        if ('reject' in p) {
          rejected++;
          await writeReject(p.reject);
          if (rejectBatch.length >= STAGE_BATCH) await flushRejects();
          continue;
        }
        // seq numbers valid lines in order; a duplicate found at flush leaves a gap, which
        // chunk ranges tolerate (a range is [seqStart, seqEnd) over whatever seqs exist).
        batch.push(Object.assign(p.item, { seq: nextSeq++ }));
        if (batch.length >= STAGE_BATCH) await flush();
        if (lines % PROGRESS_EVERY_LINES === 0) onProgress(lines);
      }
    }
    await flush();
    // Items that share a long prefix go out together (and the layout is checked), unless turned off.
    await promptCache.finish(deps.store, config);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR') {
      throw ApplicationFailure.nonRetryable(`cannot read input ${config.inputPath}: ${err.message}`, 'InvalidInput');
    }
    throw e;
  } finally {
    rejects.end();
    await once(rejects, 'close');
  }

  let estimateUsd = 0;
  let promptTokens = 0;
  let maxOut = 0;
  for (const [model, t] of perModel) {
    promptTokens += t.prompt;
    maxOut += t.output;
    try {
      estimateUsd += estimateCostUsd(pricing, model, t.prompt, t.output);
    } catch (e) {
      throw ApplicationFailure.nonRetryable((e as Error).message, 'UnknownModel');
    }
  }
  if (config.fallbackModel !== undefined) {
    // The yellow switch must be priceable, or the budget could not be kept after it.
    try {
      estimateCostUsd(pricing, config.fallbackModel, 0, 0);
    } catch (e) {
      throw ApplicationFailure.nonRetryable(`--fallback-model: ${(e as Error).message}`, 'UnknownModel');
    }
  }
  return { lines, accepted, rejected, seqEnd: nextSeq, rejectsPath, promptTokens, maxOutputTokens: maxOut, estimateUsd, models: [...perModel.keys()].sort(), ...promptCache.result(config) };
}
