// Staging: streams the input once, validates every line, writes accepted items into the
// item store in transactions of STAGE_BATCH, rejects into rejects.jsonl, and counts exact
// prompt tokens for the estimate. Memory is bounded by one batch, whatever the file size.
// Safe to retry: re-staging a line is a no-op in the store, and rejects.jsonl is rewritten.
// The staging activity runs it on a worker; with a shared store (PostgreSQL) the CLI runs it
// itself, so the workers never need to read the file.
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig, StageResult } from '../domain/run-types.ts';
import { estimateCostUsd, type PricingTable } from '../domain/pricing.ts';
import type { ItemStore, NewItem } from '../store/item-store.ts';
import { readInput, type RejectRecord } from './reader.ts';
import { parseUrgentRule, routeOf } from '../domain/routing.ts';
import { countRequestPromptTokens, maxOutputTokens, DEFAULT_MAX_OUTPUT_TOKENS } from '../llm/tokens.ts';

const STAGE_BATCH = 500;
const PROGRESS_EVERY_LINES = 20_000;

export interface StageDeps {
  store: ItemStore;
  pricingFor(config: RunConfig): Promise<PricingTable>;
  /** The run's folder on this machine: rejects.jsonl (and, on a worker, output.jsonl and errors.jsonl) go there. */
  runDir(runId: string): string;
}

/** Streams, validates and stores the input; `onProgress` hears the line count now and then. */
export async function stageInput(deps: StageDeps, config: RunConfig, onProgress: (lines: number) => void = () => {}): Promise<StageResult> {
  const pricing = await deps.pricingFor(config);
  const rule = config.urgentIf === undefined ? [] : parseUrgentRule(config.urgentIf);
  if (typeof rule === 'string') throw ApplicationFailure.nonRetryable(`--urgent-if: ${rule}`, 'InvalidInput');
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
        const m = perModel.get(it.model) ?? { prompt: 0, output: 0 };
        m.prompt += it.promptTokens;
        m.output += it.maxOutputTokens;
        perModel.set(it.model, m);
      }
      batch = [];
    }
    await flushRejects();
  };

  try {
    for await (const { lineNumber, result } of readInput(config.inputPath, config)) {
      lines++;
      if (!result.ok) {
        rejected++;
        await writeReject({ line: lineNumber, custom_id: result.reject.customId ?? null, code: result.reject.code, message: result.reject.message });
        if (rejectBatch.length >= STAGE_BATCH) await flushRejects();
        continue;
      }
      const { line } = result;
      const isEmbedding = line.url === '/v1/embeddings';
      batch.push({
        customId: line.customId,
        // seq numbers valid lines in order; a duplicate found at flush leaves a gap, which
        // chunk ranges tolerate (a range is [seqStart, seqEnd) over whatever seqs exist).
        seq: nextSeq++,
        line: lineNumber,
        url: line.url,
        body: line.body,
        model: line.body.model,
        ...(line.feature !== undefined ? { feature: line.feature } : {}),
        ...(line.priority !== undefined ? { priority: line.priority } : {}),
        route: routeOf(config.mode, line, rule),
        promptTokens: countRequestPromptTokens(line.url, line.body),
        maxOutputTokens: isEmbedding ? 0 : maxOutputTokens(line.body, DEFAULT_MAX_OUTPUT_TOKENS),
      });
      if (batch.length >= STAGE_BATCH) await flush();
      if (lines % PROGRESS_EVERY_LINES === 0) onProgress(lines);
    }
    await flush();
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
  return { lines, accepted, rejected, seqEnd: nextSeq, rejectsPath, promptTokens, maxOutputTokens: maxOut, estimateUsd, models: [...perModel.keys()].sort() };
}
