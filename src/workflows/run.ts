// runWorkflow: stage the input, then run a sliding window of chunk child workflows,
// aggregate their small summaries, export the results. History grows with chunks, not
// items; past a threshold (or when Temporal suggests it) the run drains its window and
// continues as new, carrying its totals.
import {
  ApplicationFailure,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ChunkSummary, RunConfig, RunState, RunStatus, StageResult } from '../domain/run-types.ts';
import { emptyTokens } from '../domain/run-types.ts';
import { chunkCount, chunkRange } from '../domain/chunk-plan.ts';
import { chunkWorkflow } from './chunk.ts';
import { statusQuery } from './messages.ts';
import { LlmBatchModel, LlmBatchProgress, LlmBatchSpentUsd, LlmBatchState } from './search-attributes.ts';

/** What a run carries across continue-as-new. */
export interface RunProgress {
  stage: StageResult;
  nextChunk: number;
  chunksDone: number;
  succeeded: number;
  failed: number;
  costUsd: number;
  tokens: RunStatus['tokens'];
  startedAt: string;
  stopReason?: 'insufficient_quota';
}

export interface RunInput {
  config: RunConfig;
  progress?: RunProgress;
}

const { stageRun, exportRun } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput', 'UnknownModel'] },
});

export async function runWorkflow(input: RunInput): Promise<RunStatus> {
  const status = initialStatus(input);
  setHandler(statusQuery, () => status);
  try {
    return await executeRun(input, status);
  } catch (e) {
    if (e instanceof ContinueAsNew || isCancellation(e)) throw e;
    // Only invalid configuration or a bug ends here: say which, in the status and the failure.
    const cause = (e as { cause?: Error }).cause ?? (e as Error);
    status.state = 'failed';
    status.error = cause.message;
    status.updatedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: LlmBatchState, value: 'failed' }]);
    throw ApplicationFailure.nonRetryable(`run ${input.config.runId} failed: ${cause.message}`, (cause as { type?: string }).type ?? 'RunFailed');
  }
}

function initialStatus(input: RunInput): RunStatus {
  const now = new Date().toISOString();
  return {
    runId: input.config.runId,
    state: 'staging',
    counts: { total: 0, succeeded: 0, failed: 0, rejected: 0, pending: 0 },
    costUsd: { spent: 0, estimate: 0 },
    tokens: emptyTokens(),
    chunks: { total: 0, done: 0, inFlight: [] },
    startedAt: input.progress?.startedAt ?? now,
    updatedAt: now,
  };
}

async function executeRun(input: RunInput, status: RunStatus): Promise<RunStatus> {
  const { config } = input;
  const now = (): string => new Date().toISOString();

  const setState = (state: RunState): void => {
    status.state = state;
    status.updatedAt = now();
    // What the Temporal UI shows as the run's current details.
    const c = status.counts;
    setCurrentDetails(
      `**${state}** · ${c.succeeded + c.failed}/${c.total} done · ${c.failed} failed · ${c.rejected} rejected · $${status.costUsd.spent.toFixed(4)} spent (estimate ≤ $${status.costUsd.estimate.toFixed(4)}) · chunks ${status.chunks.done}/${status.chunks.total}`,
    );
    upsertSearchAttributes([
      { key: LlmBatchState, value: state },
      { key: LlmBatchProgress, value: status.counts.total ? (status.counts.succeeded + status.counts.failed) / status.counts.total : 0 },
      { key: LlmBatchSpentUsd, value: status.costUsd.spent },
    ]);
  };

  let progress: RunProgress;
  if (input.progress) {
    progress = input.progress;
  } else {
    setState('staging');
    const stage = await stageRun(config);
    progress = { stage, nextChunk: 0, chunksDone: 0, succeeded: 0, failed: 0, costUsd: 0, tokens: emptyTokens(), startedAt: status.startedAt };
    if (stage.models.length > 0) upsertSearchAttributes([{ key: LlmBatchModel, value: stage.models.join(',') }]);
  }
  const { stage } = progress;
  const totalChunks = chunkCount(stage.seqEnd, config.chunkSize);
  status.rejectsPath = stage.rejectsPath;
  status.chunks.total = totalChunks;
  status.costUsd.estimate = stage.estimateUsd;
  const refresh = (): void => {
    status.counts = {
      total: stage.accepted,
      succeeded: progress.succeeded,
      failed: progress.failed,
      rejected: stage.rejected,
      pending: stage.accepted - progress.succeeded - progress.failed,
    };
    // Sums of float prices: shown to the nano-dollar, so JSON does not carry float noise.
    status.costUsd.spent = Math.round(progress.costUsd * 1e9) / 1e9;
    status.tokens = progress.tokens;
    status.chunks.done = progress.chunksDone;
    status.updatedAt = now();
  };
  refresh();
  setState('running');

  const inFlight = new Set<number>();
  const onChunkDone = (s: ChunkSummary): void => {
    inFlight.delete(s.chunkIndex);
    status.chunks.inFlight = [...inFlight];
    progress.chunksDone++;
    progress.succeeded += s.succeeded;
    progress.failed += s.failed;
    progress.costUsd += s.costUsd;
    for (const k of ['prompt', 'cached', 'completion', 'reasoning'] as const) progress.tokens[k] += s.tokens[k];
    if (s.stopReason === 'insufficient_quota') progress.stopReason = 'insufficient_quota';
    refresh();
    setState(status.state);
  };
  let childFailure: unknown;
  const mustContinueAsNew = (): boolean =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= config.continueAsNewAfterEvents;

  while (progress.nextChunk < totalChunks && !progress.stopReason && childFailure === undefined) {
    await condition(() => inFlight.size < config.maxChunksInFlight || childFailure !== undefined);
    if (childFailure !== undefined || progress.stopReason) break;
    if (mustContinueAsNew()) {
      // Drain the window so nothing is in flight across the new run's start.
      await condition(() => inFlight.size === 0);
      await continueAsNew<typeof runWorkflow>({ config, progress });
    }
    const index = progress.nextChunk++;
    const range = chunkRange(index, stage.seqEnd, config.chunkSize);
    inFlight.add(index);
    status.chunks.inFlight = [...inFlight];
    const child = await startChild(chunkWorkflow, {
      workflowId: `${config.runId}/chunk-${index}`,
      args: [{ config, chunkIndex: index, seqStart: range.seqStart, seqEnd: range.seqEnd }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      staticSummary: `chunk ${index} of ${config.runId} · items ${range.seqStart}–${range.seqEnd - 1}`,
    });
    child.result().then(onChunkDone, (e: unknown) => {
      childFailure = e;
    });
  }
  await condition(() => inFlight.size === 0 || childFailure !== undefined);
  if (childFailure !== undefined) {
    throw ApplicationFailure.nonRetryable(`a chunk failed, which only a bug can cause: ${(childFailure as Error).message}`, 'ChunkFailed');
  }

  setState('exporting');
  const notDoneReason = progress.stopReason === 'insufficient_quota'
    ? 'not sent: the provider answered insufficient_quota, so the run stopped dispatching'
    : 'the run ended before this item was processed';
  const exported = await exportRun({ config, notDoneReason });
  status.outputPath = exported.outputPath;
  status.errorsPath = exported.errorsPath;
  refresh();
  setState(progress.stopReason === 'insufficient_quota' ? 'quota_exhausted' : 'completed');
  return status;
}
