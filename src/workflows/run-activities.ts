// The activities runWorkflow schedules, with their timeouts and retries, at the run's
// Temporal priority. Chunk workflows have their own (chunk.ts, batch-chunk.ts).
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { RunConfig } from '../domain/run-types.ts';
import { taskPriority } from '../domain/priority.ts';

/** The run's activities, scheduled at the run's Temporal priority. */
export function runActivities(config: RunConfig) {
  const priority = taskPriority(config);
  const { stageRun, planRun, exportRun, sampleStats, probeProvider } = proxyActivities<Activities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput', 'UnknownModel'] },
    priority,
  });
  // A failing webhook never blocks the run: a few tries, then it is logged and forgotten.
  const { sendAlert } = proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '2 seconds', maximumInterval: '10 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['AlertWebhookInvalid'] },
    priority,
  });
  // Pricing the next piece of work is one quick query. A regular activity, not a local one:
  // a local activity's result could reach the original run a workflow task after its marker
  // was recorded, so a replay (a query on an evicted run) issued the next chunk's start before
  // the search-attribute update that had come first: a nondeterminism error, seen in CI and
  // reproduced by replaying a circuit-breaker run's history.
  const { estimateWork } = proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['UnknownModel'] },
    priority,
  });
  return { stageRun, planRun, exportRun, sampleStats, probeProvider, sendAlert, estimateWork };
}
