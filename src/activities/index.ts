// The activities a worker registers, built from injected dependencies so tests and
// production share one wiring (src/worker.ts builds the real ones).
import { join } from 'node:path';
import { heartbeat } from '@temporalio/activity';
import type { RunConfig } from '../domain/run-types.ts';
import { makeStageRun, type StageDeps } from './stage.ts';
import { makeProcessChunk, type RealtimeDeps } from './realtime.ts';
import { makeRunControlActivities, type RunControlDeps } from './run-control.ts';
import { sendAlert } from './alerts.ts';
import { makeBatchActivities, type BatchDeps } from './batch-api.ts';
import { exportResults, type ExportResult, type NotDone } from './export.ts';
import { makeSpotCheck } from './spot-check.ts';

/** Everything the activities need; each file names its own part (stage, realtime, run control). */
export interface ActivityDeps extends StageDeps, RealtimeDeps, RunControlDeps, BatchDeps {}

export function createActivities(deps: ActivityDeps) {
  return {
    stageRun: makeStageRun(deps),
    processChunk: makeProcessChunk(deps),
    ...makeRunControlActivities(deps),
    ...makeBatchActivities(deps),
    sendAlert,
    spotCheck: makeSpotCheck(deps),
    async exportRun(input: { config: RunConfig; notDone?: NotDone }): Promise<ExportResult> {
      const dir = deps.runDir(input.config.runId);
      return exportResults(deps.store, input.config.runId, join(dir, 'output.jsonl'), join(dir, 'errors.jsonl'), input.notDone, (items) => heartbeat({ items }));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ChunkInput } from './realtime.ts';
export type { ExportResult, NotDone } from './export.ts';
export type { WorkEstimateResult, ProbeResult } from './run-control.ts';
export type { SpotCheckInput, SpotCheckOutcome } from './spot-check.ts';
export type { BatchSubmission, CollectResult, PollResult, SubmitResult } from './batch-api.ts';
