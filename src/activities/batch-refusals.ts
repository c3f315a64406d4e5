// The provider's refusals of Batch API work, kept as data (DESIGN invariant 6):
// - a refused upload or batch creation (4xx other than 408/409/429): the file's items fail
//   with code batch_refused and the provider's message, or stay pending for the realtime path
//   (--on-batch-failure realtime); the chunk and the run go on;
// - items whose line alone is over --max-batch-bytes fail at planning with code
//   too_large_for_batch (unless planning sends them realtime, domain/batch-refusal.ts).
// Every write is an idempotent upsert of a failure: a retried activity writes the same rows.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { APIError } from 'openai';
import type { RunConfig } from '../domain/run-types.ts';
import { batchRefusedError, isRefusalStatus, tooLargeForBatchError, type BatchRefusal, type RefusedStep } from '../domain/batch-refusal.ts';
import type { ItemStore } from '../store/item-store.ts';

const WRITE_BATCH = 500;
const PAGE = 5000;

/** The refusal in an error from the provider, or undefined when it is anything else (to retry, or a bug). */
export function refusalOf(step: RefusedStep, e: unknown): BatchRefusal | undefined {
  if (!(e instanceof APIError) || !isRefusalStatus(e.status)) return undefined;
  // The body's own message, without the SDK's "400 " prefix.
  const body = e.error as { message?: unknown } | undefined;
  const message = typeof body?.message === 'string' && body.message !== '' ? body.message : e.message;
  return { step, status: e.status!, message };
}

/** The custom_ids of a Batch input file on this machine, in line order (our lines start with the custom_id). */
export async function customIdsOfFile(path: string): Promise<string[]> {
  const ids: string[] = [];
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line === '') continue;
    const m = /^\{"custom_id":("(?:[^"\\]|\\.)*")/.exec(line);
    ids.push(m ? (JSON.parse(m[1]!) as string) : String((JSON.parse(line) as { custom_id?: unknown }).custom_id));
  }
  return ids;
}

/** Fails the items of a refused file with the provider's message; returns how many. */
export async function failRefusedItems(store: ItemStore, runId: string, ids: string[], refusal: BatchRefusal, attempt: number, model: string): Promise<number> {
  const error = batchRefusedError(refusal);
  for (let i = 0; i < ids.length; i += WRITE_BATCH) {
    await store.recordResults(runId, ids.slice(i, i + WRITE_BATCH).map((customId) => ({ customId, status: 'failed' as const, attempts: attempt, model, mode: 'batch', statusCode: refusal.status, error })));
  }
  return ids.length;
}

/**
 * Fails, at planning, every batch-routed item whose line alone is over --max-batch-bytes;
 * returns how many. The same count on a retry: items are listed whatever their status.
 */
export async function failTooLargeItems(store: ItemStore, config: RunConfig): Promise<number> {
  let after = -1;
  let failed = 0;
  for (;;) {
    const page = await store.tooLargeForBatch(config.runId, config.maxBatchBytes, after, PAGE);
    if (page.length === 0) return failed;
    for (let i = 0; i < page.length; i += WRITE_BATCH) {
      await store.recordResults(config.runId, page.slice(i, i + WRITE_BATCH).map((t) => ({ customId: t.customId, status: 'failed' as const, attempts: 0, model: t.model, mode: 'batch', error: tooLargeForBatchError(t.customId, t.bytes, config.maxBatchBytes) })));
    }
    failed += page.length;
    after = page[page.length - 1]!.seq;
  }
}
