// The collect side of a batch chunk (the collectBatch activity, batch-api.ts): streams the
// output and error files into the store, checks every submitted custom_id came back, and sorts
// failures into final (4xx) and retryable (5xx, expiry, rate limits, missing). Idempotent: a
// succeeded item is never overwritten, so spend, summed from the store, is never counted twice.
import { join } from 'node:path';
import { costOfUsage, promptCacheSavingUsd } from '../domain/pricing.ts';
import { submissionKey } from '../domain/batch-format.ts';
import type { ItemError, ItemResult, ItemRetry } from '../store/item-store.ts';
import { usageOf } from '../llm/provider.ts';
import { readOutputLine } from '../domain/batch-output.ts';
import { crashPoint } from './crash-points.ts';
import { ResultSpool } from './result-spool.ts';
import { CollectCache } from '../cache/batch-cache.ts';
import { cachePolicy } from '../domain/exact-cache.ts';
import { checkedResult, validatesAnswers } from './schema-attempts.ts';
import { RequestFormats } from './request-formats.ts';
import { DEFAULT_SCHEMA_RETRIES } from '../domain/response-schema.ts';
import { rethrow, submittedIds } from './batch-provider.ts';
import type { BatchDeps, CollectInput, CollectResult } from './batch-api.ts';

const WRITE_BATCH = 500;
/** Results per store write when collecting: large writes (fewer commits), two at most in memory. */
const COLLECT_BATCH = 2000;

/** Is a failed batch line worth sending again? 5xx, 408, 429, expiry, or no answer at all. */
function retryableLine(statusCode: number | undefined, code: string | undefined): boolean {
  if (code === 'batch_expired' || code === 'batch_cancelled') return true;
  if (statusCode === undefined) return true;
  return statusCode >= 500 || statusCode === 408 || statusCode === 429;
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

/** The collect operation over `deps`; `onProgress` hears how far a collection got. */
export function batchCollector(deps: BatchDeps, onProgress: (detail: { collected: number }) => void) {
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

  return { collect };
}
