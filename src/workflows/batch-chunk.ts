// A batch chunk: one part of a batch or hybrid run (one model, ≤ maxBatchLines lines)
// through the OpenAI Batch API, durably:
//   submitBatch → poll on workflow timers (30 s doubling to 10 min by default) → collectBatch
// then, while lines are left to retry, a new smaller batch of just those lines, up to
// maxBatchAttempts (or, with --on-batch-failure realtime, it hands them to the realtime path).
// A batch that failed validation has its named lines rejected and the rest resubmitted; one
// refused on the provider's enqueued-token limit is resubmitted after a backoff wait.
// A worker dying anywhere resumes from history; the activities are idempotent.
//
// Told to stop by the run: cancel, reject or deadline cancel the batch at the provider and
// collect its partial output; pause and an open circuit only stop a chunk that has not
// submitted yet (a batch at the provider cannot be paused, and its spend cannot be stopped).
import { ActivityFailure, ApplicationFailure, condition, log, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities, ChunkInput, PollResult } from '../activities/index.ts';
import type { BatchChunkView, ChunkStopReason, ChunkStopSignal, ChunkSummary } from '../domain/run-types.ts';
import { stopEndsBatch as endsBatch } from '../domain/run-types.ts';
import { taskPriority } from '../domain/priority.ts';
import { refusedFileGoesRealtime } from '../domain/batch-refusal.ts';
import { batchChunkQuery, stopChunkSignal } from './messages.ts';

const FINAL = ['completed', 'failed', 'expired', 'cancelled'];

export async function batchChunk(input: ChunkInput): Promise<ChunkSummary> {
  const { config } = input;
  // Every activity of the chunk goes at the run's Temporal priority.
  const priority = taskPriority(config);
  const { chunkTotals } = proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
    priority,
  });
  // A provider that keeps failing the submit is down: the run's circuit handles it.
  // Every Batch API activity heartbeats: a worker dying in one (mid-upload, mid-poll,
  // mid-collection) is noticed within the heartbeat timeout, not at its start-to-close.
  const { pollBatch, cancelBatch } = proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: config.heartbeatTimeoutMs,
    // The batch is at the provider whatever happens here: keep asking, however long it is down.
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['BatchRefused'] },
    priority,
  });
  const { submitBatch } = proxyActivities<Activities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: config.heartbeatTimeoutMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: config.circuitFailureThreshold, nonRetryableErrorTypes: ['BatchRefused'] },
    priority,
  });
  const { collectBatch } = proxyActivities<Activities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: config.heartbeatTimeoutMs,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['BatchRefused'] },
    priority,
  });

  let stop: ChunkStopSignal | undefined;
  const view: BatchChunkView = { workflowId: workflowInfo().workflowId, chunkIndex: input.chunkIndex, phase: 'submitting', submission: 0, lines: 0, completed: 0, failed: 0 };
  setHandler(stopChunkSignal, (reason) => {
    // A stop that ends the batch wins over one that only holds new submissions.
    if (stop === undefined || (endsBatch(reason) && !endsBatch(stop))) stop = reason;
  });
  setHandler(batchChunkQuery, () => view);
  const show = (): void => {
    const where = view.batchId ? `${view.batchId} ${view.status ?? ''} ${view.completed + view.failed}/${view.lines}` : 'no batch yet';
    setCurrentDetails(`**${view.phase}** · submission ${view.submission} · ${where}${view.note ? ` · ${view.note}` : ''}`);
  };
  /** Waits `ms`, or less if a stop that ends the batch arrives. */
  const pause = async (ms: number): Promise<void> => {
    view.nextCheckAt = new Date(Date.now() + ms).toISOString();
    show();
    await condition(() => endsBatch(stop), ms);
    delete view.nextCheckAt;
  };

  let outcome: ChunkStopReason = 'done';
  let attempts = 0;
  let queueWaitMs = config.batchPollInitialMs;
  for (let submission = 0; ; submission++) {
    if (stop !== undefined) {
      outcome = stop;
      break;
    }
    view.submission = submission;
    view.phase = 'submitting';
    delete view.batchId;
    delete view.status;
    show();
    let sub;
    try {
      sub = await submitBatch({
        config,
        chunkIndex: input.chunkIndex,
        selection: input.selection,
        dispatch: input.dispatch ?? 0,
        submission,
        before: input.before,
        ...(input.model !== undefined ? { model: input.model } : {}),
        ...(input.maxItems !== undefined ? { maxItems: input.maxItems } : {}),
      });
    } catch (e) {
      const refused = e instanceof ActivityFailure && e.cause instanceof ApplicationFailure && e.cause.type === 'BatchRefused';
      if (refused || !(e instanceof ActivityFailure)) throw e;
      outcome = 'provider_unavailable';
      break;
    }
    if ('refused' in sub) {
      // The provider refused the file or its batch: its items failed with the provider's
      // message, or (--on-batch-failure realtime) go through the realtime path. Not a bug.
      const r = sub.refused;
      view.note = `the provider refused the ${r.step === 'upload' ? 'upload' : 'batch'} (HTTP ${r.status}): ${r.message}`;
      log.warn(`chunk ${input.chunkIndex}: ${r.failed > 0 ? `${r.failed} item(s) failed (batch_refused)` : `${sub.lines} item(s) go realtime`}: ${view.note}`);
      if (refusedFileGoesRealtime(config)) outcome = 'to_realtime';
      break;
    }
    if (!('batchId' in sub)) break;
    attempts++;
    Object.assign(view, { phase: 'at_provider', batchId: sub.batchId, lines: sub.lines, completed: 0, failed: 0 });

    // The durable poll loop: workflow timers, so a worker may die at any moment in it.
    let interval = config.batchPollInitialMs;
    let cancelSent = false;
    let polled: PollResult;
    for (;;) {
      polled = await pollBatch({ config, batchId: sub.batchId });
      Object.assign(view, { status: polled.status, completed: polled.completed, failed: polled.failed });
      if (polled.total > 0) view.lines = polled.total;
      show();
      if (FINAL.includes(polled.status)) break;
      if (endsBatch(stop) && !cancelSent) {
        view.phase = 'cancelling';
        await cancelBatch({ config, batchId: sub.batchId });
        cancelSent = true;
        interval = config.batchPollInitialMs;
        continue;
      }
      await pause(interval);
      interval = Math.min(interval * 2, config.batchPollMaxMs);
    }

    view.phase = 'collecting';
    show();
    const finalAttempt = config.onBatchFailure === 'resubmit' && attempts >= config.maxBatchAttempts;
    const got = await collectBatch({
      config,
      chunkIndex: input.chunkIndex,
      selection: input.selection,
      dispatch: input.dispatch ?? 0,
      submission,
      batchId: sub.batchId,
      attempt: attempts,
      finalAttempt,
      ...(input.model !== undefined ? { model: input.model } : {}),
    });
    if (got.tokenLimitExceeded) {
      // Nothing ran: not an attempt. Wait for the provider's queue to drain, then resubmit.
      attempts--;
      view.phase = 'waiting_provider_queue';
      view.note = `waiting on the provider's queue: ${got.detail ?? 'token_limit_exceeded'}`;
      await pause(queueWaitMs);
      queueWaitMs = Math.min(queueWaitMs * 2, config.batchPollMaxMs);
      delete view.note;
      continue;
    }
    if (stop !== undefined) {
      outcome = stop;
      break;
    }
    // Validation named some lines (now rejected); the others never ran: send them again.
    if (got.invalidLines > 0) {
      attempts--;
      continue;
    }
    if (got.retryable > 0) {
      if (config.onBatchFailure === 'realtime') {
        outcome = 'to_realtime';
        break;
      }
      continue;
    }
    break;
  }
  view.phase = 'done';
  show();
  const totals = await chunkTotals({ config, selection: input.selection });
  // Items left without a reason (a budget-sized part, lines past the byte limit) go to a later dispatch.
  if (outcome === 'done' && totals.pending > 0) outcome = 'item_limit';
  return { ...totals, chunkIndex: input.chunkIndex, stopReason: outcome };
}
