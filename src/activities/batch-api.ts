// The Batch API activities of a batch chunk (see workflows/batch-chunk.ts):
// - submitBatch: writes the chunk's pending items as a Batch input file, uploads it and
//   creates the batch. Idempotent: a retry finds the upload and the batch it already made
//   (the store's record, then a lookup by metadata), so a crash never creates a second batch.
// - pollBatch: the batch's status and request counts, for the workflow's durable poll loop.
// - collectBatch: streams the output and error files into the store, checks every submitted
//   custom_id came back, and sorts failures into final (4xx) and retryable (5xx, expiry,
//   rate limits, missing). Idempotent: a succeeded item is never overwritten, so spend,
//   summed from the store, is never counted twice.
// - cancelBatch, and planRun (parts of a batch or hybrid run).
import { createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { APIError } from 'openai';
import type { ItemTotals, RunConfig } from '../domain/run-types.ts';
import { costOfUsage, promptCacheSavingUsd, type PricingTable } from '../domain/pricing.ts';
import { batchInputLine, batchMetadata, submissionKey, withModel } from '../domain/batch-format.ts';
import type { PartPlan } from '../domain/batch-plan.ts';
import type { ItemError, ItemResult, ItemRetry, ItemSelection, ItemStore } from '../store/item-store.ts';
import type { BatchClient, Batch } from '../llm/batch-client.ts';
import { usageOf } from '../llm/provider.ts';
import { readOutputLine } from '../domain/batch-output.ts';
import { crashPoint } from './crash-points.ts';
import { ResultSpool } from './result-spool.ts';
import { CollectCache, keyOfInputLine, SubmitCache } from '../cache/batch-cache.ts';
import { cachePolicy } from '../domain/exact-cache.ts';
import { checkedResult, validatesAnswers } from './schema-attempts.ts';
import { RequestFormats } from './request-formats.ts';
import { DEFAULT_SCHEMA_RETRIES } from '../domain/response-schema.ts';
import { refusedFileGoesRealtime, tooLargeGoesRealtime, type BatchRefusal } from '../domain/batch-refusal.ts';
import { customIdsOfFile, failRefusedItems, failTooLargeItems, refusalOf } from './batch-refusals.ts';
import type { WorkerMetrics } from '../observability/metrics.ts';

export interface BatchDeps {
  store: ItemStore;
  pricingFor(config: RunConfig): Promise<PricingTable>;
  runDir(runId: string): string;
  batchClientFor(config: RunConfig): BatchClient;
  /** The worker's Prometheus metrics (batch states); none when absent. */
  metrics?: WorkerMetrics;
}

/** One submission of a batch chunk. */
export interface BatchSubmission {
  config: RunConfig;
  chunkIndex: number;
  selection: ItemSelection;
  /** How many times the run dispatched this piece before (a stopped piece is dispatched again). */
  dispatch: number;
  /** 0, 1, …: each resubmission of the chunk's pending items is a new batch. */
  submission: number;
  /** The model to use instead of the items' own (the budget's fallback). */
  model?: string;
}

/**
 * A batch at the provider; nothing to submit; or the provider refused the file's upload or its
 * batch (batch-refusals.ts): `failed` of its lines failed with batch_refused, the rest (all,
 * with --on-batch-failure realtime) are pending for the realtime path.
 */
export type SubmitResult = { batchId: string; lines: number; model: string } | { lines: 0 } | { lines: number; refused: BatchRefusal & { failed: number } };

export interface PollResult {
  status: Batch['status'];
  total: number;
  completed: number;
  failed: number;
}

export interface CollectInput extends BatchSubmission {
  batchId: string;
  /** Batch submissions the chunk's items have had, this one included. */
  attempt: number;
  /** Retryable failures become final (the last allowed attempt). */
  finalAttempt: boolean;
}

export interface CollectResult {
  status: Batch['status'];
  succeeded: number;
  /** Failed for good: 4xx answers, lines the provider's validation named, or retryable ones on the last attempt. */
  failed: number;
  /** Left pending to be sent again (5xx, batch_expired, 429, missing from the output). */
  retryable: number;
  /** The batch failed validation: lines it named (now failed); the others are pending. */
  invalidLines: number;
  /** Submitted lines the output did not account for (counted in retryable or failed). */
  missing: number;
  /** A cancelled batch's lines that were never run: still pending. */
  notRun: number;
  /** The batch failed on the provider's enqueued-token limit: nothing ran, all still pending. */
  tokenLimitExceeded: boolean;
  /** The provider's message when the whole batch failed. */
  detail?: string;
  /** Requests that waited on a line of this batch (left out of its file as repeats) and got its answer. */
  cacheHits?: number;
}

const PAGE = 5000;
const HEARTBEAT_MS = 1000;

/** Heartbeats while `fn` runs (an upload or a download may take minutes), so a dead worker is noticed within the heartbeat timeout. */
async function beating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}
const WRITE_BATCH = 500;
/** Results per store write when collecting: large writes (fewer commits), two at most in memory. */
const COLLECT_BATCH = 2000;

/** 5xx, timeouts, connection errors and rate limits are the provider's trouble: retry. Other 4xx are ours: stop and say why. */
function rethrow(what: string, e: unknown): never {
  if (e instanceof APIError && e.status !== undefined && e.status >= 400 && e.status < 500 && ![408, 409, 429].includes(e.status)) {
    throw ApplicationFailure.nonRetryable(`${what}: the provider refused it (HTTP ${e.status}): ${e.message}`, 'BatchRefused');
  }
  throw e;
}

/** Is a failed batch line worth sending again? 5xx, 408, 429, expiry, or no answer at all. */
function retryableLine(statusCode: number | undefined, code: string | undefined): boolean {
  if (code === 'batch_expired' || code === 'batch_cancelled') return true;
  if (statusCode === undefined) return true;
  return statusCode >= 500 || statusCode === 408 || statusCode === 429;
}

function customIdOf(line: string): string {
  try {
    const id = (JSON.parse(line) as { custom_id?: unknown }).custom_id;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}

/** An output line's custom_id: read from the line's head when it is there (OpenAI writes id, then custom_id), else parsed. */
function outputCustomId(line: string): string | undefined {
  const m = /^\{\s*"id"\s*:\s*"[^"\\]*"\s*,\s*"custom_id"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(line);
  if (m) return JSON.parse(m[1]!) as string;
  try {
    const id = (JSON.parse(line) as { custom_id?: unknown }).custom_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The batch operations themselves, apart from Temporal (the benchmark calls them directly);
 * `onProgress` hears how far a collection got.
 */
export function batchOperations(deps: BatchDeps, onProgress: (detail: { collected: number }) => void = () => {}) {
  /** Writes the pending items of a submission as a Batch input file; returns its lines and model. */
  async function writeInputFile(input: BatchSubmission, path: string, maxItems: number | undefined): Promise<{ lines: number; model: string }> {
    const { config } = input;
    const out = createWriteStream(path);
    let lines = 0;
    let bytes = 0;
    let model = input.model ?? '';
    let after = -1;
    const limit = maxItems ?? Number.MAX_SAFE_INTEGER;
    // The exact cache: hits are recorded now and left out, as are repeats of a line already in the file.
    // --schema: a stored answer is a hit only if it passes the check a collected one does.
    const fit = validatesAnswers(config)
      ? (bodyJson: string, responseJson: string) => checkedResult({ customId: '', status: 'succeeded', attempts: 0, model: '', mode: '', responseJson }, JSON.parse(bodyJson)).result.status === 'succeeded'
      : undefined;
    const cache = cachePolicy(config.cache).dedupe ? new SubmitCache(deps.store, config, await deps.pricingFor(config), input.submission, fit) : undefined;
    try {
      while (lines < limit) {
        const page = await deps.store.pendingRequests(config.runId, input.selection, after, Math.min(PAGE, limit - lines));
        if (page.length === 0) break;
        const leftOut = await cache?.leaveOut(page, input.model);
        let text = '';
        for (const r of page) {
          if (leftOut?.has(r.customId)) {
            after = r.seq;
            continue;
          }
          const line = batchInputLine(r.customId, r.url, withModel(r.bodyJson, input.model));
          const size = Buffer.byteLength(line);
          // A part fits by plan; only a fallback model's longer name could push it over.
          if (lines > 0 && bytes + size > config.maxBatchBytes) break;
          if (model === '') model = r.model;
          text += line;
          bytes += size;
          lines++;
          after = r.seq;
        }
        if (!out.write(text)) await once(out, 'drain');
        if (after !== page[page.length - 1]!.seq) break;
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    return { lines, model };
  }

  /**
   * The custom_ids of a submission's input file, by 1-based line, read back from the provider;
   * with `keys`, each line's cache key too; with `formats` (--schema), what each line asked its answer to be.
   */
  async function submittedIds(client: BatchClient, inputFileId: string, keys?: { key: string; url: string }[], formats?: RequestFormats): Promise<string[]> {
    const ids: string[] = [];
    for await (const line of client.lines(inputFileId)) {
      // Our own lines start with the custom_id: read it without parsing the whole line.
      const m = /^\{"custom_id":("(?:[^"\\]|\\.)*")/.exec(line);
      ids.push(m ? (JSON.parse(m[1]!) as string) : customIdOf(line));
      keys?.push(keyOfInputLine(line));
      formats?.addLine(line);
    }
    return ids;
  }


  async function submit(input: BatchSubmission & { maxItems?: number; before: Pick<ItemTotals, 'succeeded' | 'failed'> }): Promise<SubmitResult> {
    const { config } = input;
    const runId = config.runId;
    const key = submissionKey(input.chunkIndex, input.dispatch, input.submission);
    const client = deps.batchClientFor(config);
    const metadata = batchMetadata(runId, key);
    let rec = await deps.store.batchRecord(runId, key);
    if (rec?.batchId) return { batchId: rec.batchId, lines: rec.lines, model: rec.model };
    // The file as written here; kept until the batch is created, so a refusal reads its ids without a download.
    const path = join(deps.runDir(runId), 'batches', `chunk-${key}.jsonl`);
    try {
      // Created before a crash, but the record was not saved: the provider knows it by its metadata.
      if (rec?.inputFileId) {
        const found = await client.find(metadata, (rec.uploadedAt ?? 0) - 5 * 60_000);
        if (found) {
          await deps.store.saveBatchRecord(runId, { ...rec, batchId: found.id });
          rmSync(path, { force: true });
          return { batchId: found.id, lines: rec.lines, model: rec.model };
        }
        if (!(await client.fileExists(rec.inputFileId))) rec = undefined;
      }
      if (!rec?.inputFileId) {
        mkdirSync(dirname(path), { recursive: true });
        let limit: number | undefined;
        if (input.maxItems !== undefined) {
          const now = await deps.store.totals(runId, input.selection);
          limit = Math.max(0, input.maxItems - (now.succeeded + now.failed - input.before.succeeded - input.before.failed));
        }
        const { lines, model } = limit === 0 ? { lines: 0, model: '' } : await writeInputFile(input, path, limit);
        if (lines === 0) {
          rmSync(path, { force: true });
          return { lines: 0 };
        }
        const uploadedAt = Date.now();
        let inputFileId: string;
        try {
          inputFileId = await client.upload(path);
        } catch (e) {
          const refusal = refusalOf('upload', e);
          if (!refusal) throw e;
          const ids = await customIdsOfFile(path);
          rmSync(path, { force: true });
          return await refused(input, refusal, ids, model);
        }
        rec = { key, model, lines, inputFileId, uploadedAt };
        await deps.store.saveBatchRecord(runId, rec);
        crashPoint('submit:after-upload');
      }
      const url = (await deps.store.pendingRequests(runId, input.selection, -1, 1))[0]?.url ?? '/v1/chat/completions';
      let batch: Batch;
      try {
        batch = await client.create(rec.inputFileId!, url, metadata);
      } catch (e) {
        const refusal = refusalOf('create', e);
        if (!refusal) throw e;
        // The file this worker uploaded, or (another worker uploaded it) the provider's copy.
        const ids = existsSync(path) ? await customIdsOfFile(path) : await submittedIds(client, rec.inputFileId!);
        rmSync(path, { force: true });
        return await refused(input, refusal, ids, rec.model);
      }
      rmSync(path, { force: true });
      crashPoint('submit:after-create');
      await deps.store.saveBatchRecord(runId, { ...rec, batchId: batch.id });
      return { batchId: batch.id, lines: rec.lines, model: rec.model };
    } catch (e) {
      rethrow(`submitting batch ${key} of ${runId}`, e);
    }
  }

  /** A refused file: its items fail with the provider's message, or (--on-batch-failure realtime) stay pending for the realtime path. */
  async function refused(input: BatchSubmission, refusal: BatchRefusal, ids: string[], model: string): Promise<SubmitResult> {
    const failed = refusedFileGoesRealtime(input.config) ? 0 : await failRefusedItems(deps.store, input.config.runId, ids, refusal, input.submission + 1, model);
    return { lines: ids.length, refused: { ...refusal, failed } };
  }

  async function collect(input: CollectInput): Promise<CollectResult> {
    const { config, batchId } = input;
    const runId = config.runId;
    const client = deps.batchClientFor(config);
    const [pricing, rec] = await Promise.all([deps.pricingFor(config), deps.store.batchRecord(runId, submissionKey(input.chunkIndex, input.dispatch, input.submission))]);
    const model = rec?.model ?? input.model;
    const result: CollectResult = { status: 'completed', succeeded: 0, failed: 0, retryable: 0, invalidLines: 0, missing: 0, notRun: 0, tokenLimitExceeded: false };
    try {
      const batch = await client.retrieve(batchId);
      result.status = batch.status;
      const keyed = cachePolicy(config.cache).dedupe ? ([] as { key: string; url: string }[]) : undefined;
      // --schema: every answer is checked against what its line asked for (schema-attempts.ts).
      const formats = validatesAnswers(config) ? new RequestFormats() : undefined;
      const schemaRetries = config.schemaRetries ?? DEFAULT_SCHEMA_RETRIES;
      const ids = await submittedIds(client, batch.input_file_id, keyed, formats);

      if (batch.status === 'failed') {
        const errors = batch.errors?.data ?? [];
        if (errors.some((e) => e.code === 'token_limit_exceeded')) {
          result.tokenLimitExceeded = true;
          result.detail = errors.find((e) => e.code === 'token_limit_exceeded')?.message ?? 'token_limit_exceeded';
          return result;
        }
        const named = errors.filter((e) => typeof e.line === 'number' && ids[e.line - 1] !== undefined);
        const failures: ItemResult[] = named.map((e) => ({
          customId: ids[e.line! - 1]!,
          status: 'failed',
          attempts: input.attempt,
          model: model ?? '',
          mode: 'batch',
          statusCode: 400,
          error: { code: e.code ?? 'invalid_request', message: `the Batch API rejected line ${e.line} of its file: ${e.message ?? ''}`.trim(), status: 400 },
        }));
        await deps.store.recordResults(runId, failures);
        result.invalidLines = new Set(failures.map((f) => f.customId)).size;
        result.failed = result.invalidLines;
        if (result.invalidLines === 0) {
          // A failure naming no line: every line goes again (or fails on the last attempt).
          const error: ItemError = { code: errors[0]?.code ?? 'batch_failed', message: errors[0]?.message ?? 'the batch failed without naming a line' };
          await settle(ids, error, result, input, model);
        }
        result.detail = errors.slice(0, 3).map((e) => `${e.code}${e.line ? ` (line ${e.line})` : ''}: ${e.message}`).join('; ');
        return result;
      }

      // Spool both files by position, then record in input order (see result-spool.ts).
      const position = new Map<string, number>();
      ids.forEach((id, i) => position.set(id, i));
      const cache = keyed && keyed.length > 0
        ? await CollectCache.open(deps.store, config, pricing, { url: keyed[0]!.url, keys: keyed.map((k) => k.key), submitted: position, model: input.model }, input.selection)
        : undefined;
      const seen = new Set<string>();
      const spool = new ResultSpool(join(deps.runDir(runId), 'batches', `collect-${submissionKey(input.chunkIndex, input.dispatch, input.submission)}`));
      let pending: ItemResult[] = [];
      let retries: ItemRetry[] = [];
      // One write in flight while the next batch is parsed (the store commits it on the
      // server or on its writer thread); at most two batches in memory.
      let writing: Promise<void> = Promise.resolve();
      const flush = async (): Promise<void> => {
        await writing;
        const [results, retried, answers] = [pending, retries, cache?.take() ?? []];
        pending = [];
        retries = [];
        writing = (async () => {
          await deps.store.recordResults(runId, results);
          await deps.store.recordRetries(runId, retried);
          // Remembered once recorded: an entry never stands without its item's result.
          await deps.store.cachePut(answers);
        })();
        // Observed by the next flush or at the end; never an unhandled rejection meanwhile.
        writing.catch(() => {});
      };
      try {
        for (const fileId of [batch.output_file_id, batch.error_file_id]) {
          if (!fileId) continue;
          for await (const text of client.lines(fileId)) {
            const id = outputCustomId(text);
            const at = id === undefined ? undefined : position.get(id);
            if (at === undefined || seen.has(id!)) continue;
            seen.add(id!);
            spool.add(at, text);
          }
        }
        let recorded = 0;
        for (const text of spool.sorted()) {
          const line = readOutputLine(text);
          const id = line.customId!;
          const status = line.statusCode;
          if (status !== undefined && status >= 200 && status < 300 && !line.error) {
            const usage = usageOf(line.body);
            const m = model ?? ((line.body as { model?: string } | undefined)?.model ?? '');
            const r: ItemResult = {
              customId: id, status: 'succeeded', attempts: input.attempt, model: m, mode: 'batch', statusCode: status,
              usage,
              costUsd: costOfUsage(pricing, m, { promptTokens: usage.prompt, cachedTokens: usage.cached, completionTokens: usage.completion, reasoningTokens: usage.reasoning }, { batch: true }),
              promptCacheSavedUsd: promptCacheSavingUsd(pricing, m, usage.cached, { batch: true }),
            };
            // The body's text as it came: stored and exported without serialising it again.
            if (line.bodyJson !== undefined) r.responseJson = line.bodyJson;
            if (line.requestId) r.requestId = line.requestId;
            const checked = formats ? checkedResult({ ...r, response: line.body }, formats.requestOf(position.get(id)!)) : undefined;
            if (checked && checked.result.status !== 'succeeded') {
              // Paid for, but unfit: a mismatch goes into the chunk's next submission while the
              // item's submissions so far are within --schema-retries (and --max-batch-attempts
              // allows one more); its discarded answer's cost is counted now. Else it fails.
              const failed: ItemResult = { ...checked.result, response: undefined };
              if (checked.retryable && !input.finalAttempt && input.attempt <= schemaRetries) {
                retries.push({ customId: id, attempts: input.attempt, error: failed.error!, mode: 'batch', costUsd: r.costUsd ?? 0, usage });
                result.retryable++;
              } else {
                pending.push(failed);
                result.failed++;
              }
            } else {
              pending.push(r);
              cache?.succeeded(position.get(id)!, r, line.body);
              result.succeeded++;
            }
          } else {
            const body = (line.body as { error?: { code?: string | null; message?: string; type?: string } } | undefined)?.error;
            const code = line.error?.code ?? body?.code ?? body?.type ?? (status !== undefined ? `http_${status}` : 'batch_error');
            const error: ItemError = { code, message: line.error?.message ?? body?.message ?? 'the request failed in the batch' };
            if (status !== undefined) error.status = status;
            if (retryableLine(status, line.error?.code) && !input.finalAttempt) {
              retries.push({ customId: id, attempts: input.attempt, error, mode: 'batch' });
              result.retryable++;
            } else {
              const r: ItemResult = { customId: id, status: 'failed', attempts: input.attempt, model: model ?? '', mode: 'batch', error };
              if (status !== undefined) r.statusCode = status;
              if (line.bodyJson !== undefined) r.responseJson = line.bodyJson;
              if (line.requestId) r.requestId = line.requestId;
              pending.push(r);
              result.failed++;
            }
          }
          recorded++;
          const middle = recorded === Math.ceil(seen.size / 2);
          if (pending.length + retries.length >= COLLECT_BATCH || middle) {
            await flush();
            onProgress({ collected: recorded });
            if (middle) {
              // Half the results are in the store, half not: where the crash test kills the worker.
              await writing;
              crashPoint('collect:mid');
            }
          }
        }
        await flush();
        await writing;
        if (cache) {
          // Repeats left out of the file: the answer of the line they waited on, or the next submission.
          const fan = await cache.fanOut();
          result.cacheHits = fan.hits;
          result.retryable += fan.left;
        }
      } finally {
        // Nothing is still being written once the activity has answered, even on a failure.
        await writing.catch(() => {});
        spool.remove();
      }

      // Every submitted line is accounted for: what a cancelled batch never ran stays pending;
      // anything else missing is an error, never a silent gap.
      const unseen = ids.filter((id) => !seen.has(id));
      if (batch.status === 'cancelled' || batch.status === 'cancelling') result.notRun = unseen.length;
      else if (unseen.length > 0) {
        result.missing = unseen.length;
        await settle(unseen, { code: 'missing_from_batch_output', message: `batch ${batchId} ended (${batch.status}) without a result for this line` }, result, input, model);
      }
      return result;
    } catch (e) {
      rethrow(`collecting batch ${batchId}`, e);
    }
  }

  /** Lines that need another go: retries, or final failures on the last attempt. */
  async function settle(ids: string[], error: ItemError, result: CollectResult, input: CollectInput, model: string | undefined): Promise<void> {
    const runId = input.config.runId;
    for (let i = 0; i < ids.length; i += WRITE_BATCH) {
      const slice = ids.slice(i, i + WRITE_BATCH);
      if (input.finalAttempt) {
        await deps.store.recordResults(runId, slice.map((customId) => ({ customId, status: 'failed', attempts: input.attempt, model: model ?? '', mode: 'batch', error })));
        result.failed += slice.length;
      } else {
        await deps.store.recordRetries(runId, slice.map((customId) => ({ customId, attempts: input.attempt, error, mode: 'batch' })));
        result.retryable += slice.length;
      }
    }
  }

  return { writeInputFile, submit, collect };
}

export function makeBatchActivities(deps: BatchDeps) {
  const ops = batchOperations(deps, (d) => Context.current().heartbeat(d));
  return {
    /** Gives a batch or hybrid run's items their parts; the Batch discount comes along for the status. */
    async planRun(config: RunConfig): Promise<PartPlan & { batchDiscount: number; tooLargeForBatch?: number }> {
      const pricing = await deps.pricingFor(config);
      // Items over --max-batch-bytes: realtime parts, or failed here (domain/batch-refusal.ts); never a file the provider would refuse.
      const tooLargeToRealtime = tooLargeGoesRealtime(config);
      const tooLarge = tooLargeToRealtime ? 0 : await failTooLargeItems(deps.store, config);
      const plan = await deps.store.planParts(config.runId, { chunkSize: config.chunkSize, maxLines: config.maxBatchLines, maxBytes: config.maxBatchBytes, tooLargeToRealtime });
      // They were batch items: the batch path counts them, failed.
      return { ...plan, batchItems: plan.batchItems + tooLarge, batchDiscount: pricing.batchDiscount, ...(tooLarge > 0 ? { tooLargeForBatch: tooLarge } : {}) };
    },

    /**
     * `maxItems` (a budget-sized part) bounds what this dispatch does over all its submissions:
     * items it already finished count against it, so a resubmission holds only the lines to retry.
     */
    async submitBatch(input: BatchSubmission & { maxItems?: number; before: Pick<ItemTotals, 'succeeded' | 'failed'> }): Promise<SubmitResult> {
      return beating(() => ops.submit(input));
    },

    async pollBatch(input: { config: RunConfig; batchId: string }): Promise<PollResult> {
      return beating(async () => {
        try {
          const b = await deps.batchClientFor(input.config).retrieve(input.batchId);
          const c = b.request_counts;
          const poll: PollResult = { status: b.status, total: c?.total ?? 0, completed: c?.completed ?? 0, failed: c?.failed ?? 0 };
          deps.metrics?.batchPolled(input.batchId, poll);
          return poll;
        } catch (e) {
          rethrow(`polling batch ${input.batchId}`, e);
        }
      });
    },

    async cancelBatch(input: { config: RunConfig; batchId: string }): Promise<void> {
      return beating(async () => {
        try {
          await deps.batchClientFor(input.config).cancel(input.batchId);
        } catch (e) {
          rethrow(`cancelling batch ${input.batchId}`, e);
        }
      });
    },

    async collectBatch(input: CollectInput): Promise<CollectResult> {
      return beating(() => ops.collect(input));
    },
  };
}
