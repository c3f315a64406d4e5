// stageRun: the staging activity, stageInput (src/input/stage-input.ts) with its progress
// heartbeated to Temporal.
import { heartbeat } from '@temporalio/activity';
import type { RunConfig, StageResult } from '../domain/run-types.ts';
import { stageInput, type StageDeps } from '../input/stage-input.ts';

export type { StageDeps };

/** The staging activity: stageInput with progress heartbeated to Temporal. */
export function makeStageRun(deps: StageDeps) {
  return (config: RunConfig): Promise<StageResult> => stageInput(deps, config, (lines) => heartbeat({ lines }));
}
