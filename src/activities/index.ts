// The activities a worker registers, built from injected dependencies so tests and
// production share one wiring (src/worker.ts builds the real ones).
import { join } from 'node:path';
import { heartbeat } from '@temporalio/activity';
import type { RunConfig } from '../domain/run-types.ts';
import type { PricingTable } from '../domain/pricing.ts';
import type { ItemStore } from '../store/item-store.ts';
import type { ProviderClient } from '../llm/provider.ts';
import type { SharedProviderHealth } from '../llm/provider-health.ts';
import { makeStageRun } from './stage.ts';
import { makeProcessChunk } from './realtime.ts';
import { makeRunControlActivities } from './run-control.ts';
import { sendAlert } from './alerts.ts';
import { exportResults, type ExportResult, type NotDone } from './export.ts';

export interface ActivityDeps {
  store: ItemStore;
  pricingFor(config: RunConfig): Promise<PricingTable>;
  providerFor(config: RunConfig): ProviderClient;
  runSlots(config: RunConfig): <T>(fn: () => Promise<T>) => Promise<T>;
  providerHealth(config: RunConfig, epoch: number): SharedProviderHealth;
  runDir(runId: string): string;
}

export function createActivities(deps: ActivityDeps) {
  return {
    stageRun: makeStageRun(deps),
    processChunk: makeProcessChunk(deps),
    ...makeRunControlActivities(deps),
    sendAlert,
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
