// chunkWorkflow: one dispatch of a piece of a run (a chunk's range, a part, or the sample).
// Batch API parts are in batch-chunk.ts. Realtime: a single processChunk activity that heartbeats its progress and resumes from
// the item store after a retry or a crash. The run can tell it to stop (pause, cancel,
// open circuit): the activity is cancelled through its heartbeat, finishes the calls it
// has in flight, and the chunk reports its totals with the reason it stopped.
import { ActivityCancellationType, CancellationScope, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities, ChunkInput } from '../activities/index.ts';
import type { ChunkStopSignal, ChunkSummary } from '../domain/run-types.ts';
import { stopChunkSignal } from './messages.ts';
import { taskPriority } from '../domain/priority.ts';
import { batchChunk } from './batch-chunk.ts';

export async function chunkWorkflow(input: ChunkInput): Promise<ChunkSummary> {
  if (input.route === 'batch') return batchChunk(input);
  // Every activity of the chunk goes at the run's Temporal priority.
  const priority = taskPriority(input.config);
  const { chunkTotals } = proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
    priority,
  });
  const { processChunk } = proxyActivities<Activities>({
    // A chunk may wait long on rate limits; the heartbeat timeout is what notices a dead worker.
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: input.config.heartbeatTimeoutMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
    // A stopped chunk must be really stopped before the run dispatches its items again.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    priority,
  });

  let stopReason: ChunkStopSignal | undefined;
  const scope = new CancellationScope();
  setHandler(stopChunkSignal, (reason) => {
    stopReason ??= reason;
    scope.cancel();
  });
  try {
    return await scope.run(() => processChunk(input));
  } catch (e) {
    if (!(isCancellation(e) && stopReason !== undefined)) throw e;
  }
  const totals = await chunkTotals({ config: input.config, selection: input.selection });
  return { ...totals, chunkIndex: input.chunkIndex, stopReason };
}
