// The Batch API activities of a batch chunk (see workflows/batch-chunk.ts):
// - submitBatch: writes, uploads and creates the chunk's batch, idempotently (batch-submit.ts).
// - pollBatch: the batch's status and request counts, for the workflow's durable poll loop.
// - collectBatch: records the batch's output and error files, every submitted line accounted
//   for, idempotently (batch-collect.ts).
// - cancelBatch, and planRun (parts of a batch or hybrid run).
// This file holds their types and wiring; what they share about the provider is in batch-provider.ts.
import { Context } from '@temporalio/activity';
import type { ItemTotals, RunConfig } from '../domain/run-types.ts';
import type { PricingTable } from '../domain/pricing.ts';
import type { PartPlan } from '../domain/batch-plan.ts';
import type { ItemSelection, ItemStore } from '../store/item-store.ts';
import type { BatchClient, Batch } from '../llm/batch-client.ts';
import { tooLargeGoesRealtime, type BatchRefusal } from '../domain/batch-refusal.ts';
import { failTooLargeItems } from './batch-refusals.ts';
import type { WorkerMetrics } from '../observability/metrics.ts';
import { rethrow } from './batch-provider.ts';
import { batchSubmitter } from './batch-submit.ts';
import { batchCollector } from './batch-collect.ts';

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

/**
 * The batch operations themselves, apart from Temporal (the benchmark calls them directly);
 * `onProgress` hears how far a collection got.
 */
export function batchOperations(deps: BatchDeps, onProgress: (detail: { collected: number }) => void = () => {}) {
  return { ...batchSubmitter(deps), ...batchCollector(deps, onProgress) };
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
