// chunkWorkflow: one chunk of a run. Realtime: a single processChunk activity that
// heartbeats its progress and resumes from the item store after a retry or a crash.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities, ChunkInput } from '../activities/index.ts';
import type { ChunkSummary } from '../domain/run-types.ts';

export async function chunkWorkflow(input: ChunkInput): Promise<ChunkSummary> {
  const { processChunk } = proxyActivities<Activities>({
    // A chunk may wait long on rate limits; the heartbeat timeout is what notices a dead worker.
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: input.config.heartbeatTimeoutMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
  return processChunk(input);
}
