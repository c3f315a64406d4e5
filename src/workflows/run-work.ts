// The run's pieces of work: which one goes next when a window has room (nextChunkWork), on
// which route (routeNow: past --deadline, Batch API work goes realtime), how its dispatch
// is named in the Temporal UI (workSummary) and what its chunk workflow gets (chunkInputOf).
// Workflow-side but free of Temporal calls; the queue and its counters live in RunProgress,
// so they survive continue-as-new.
import type { ChunkInput } from '../activities/index.ts';
import type { ItemTotals, Route, RunConfig } from '../domain/run-types.ts';
import { chunkCapUsd } from '../domain/budget.ts';
import { chunkRange } from '../domain/chunk-plan.ts';
import type { QueuedWork, RunProgress } from './run-status.ts';
import type { WindowCharge } from './run-windows.ts';

/** Room in each window: realtime chunks (maxChunksInFlight) and batches at the provider (maxBatchesInFlight). */
export type Room = Record<Route, boolean>;

/** Where a piece of work goes now: past the deadline, Batch API work goes realtime. */
export function routeNow(p: RunProgress, route: Route): Route {
  return route === 'batch' && p.deadlinePassed ? 'realtime' : route;
}

/**
 * The next piece of work that has room: pieces stopped early first, then new realtime
 * chunks (or parts), then new batch parts. `totalChunks` counts the chunks of a run without
 * a plan (realtime mode).
 */
export function nextChunkWork(p: RunProgress, config: RunConfig, totalChunks: number, room: Room): QueuedWork | undefined {
  const i = p.requeued.findIndex((w) => room[routeNow(p, w.route)]);
  if (i >= 0) {
    const [again] = p.requeued.splice(i, 1);
    again!.route = routeNow(p, again!.route);
    return again;
  }
  if (!p.plan) {
    if (!room.realtime || p.nextChunk >= totalChunks) return undefined;
    const index = p.nextChunk++;
    return { chunkIndex: index, selection: chunkRange(index, p.stage.seqEnd, config.chunkSize), route: 'realtime', dispatches: 0 };
  }
  if (room.realtime && p.nextChunk < p.plan.realtimeParts) {
    const part = p.nextChunk++;
    return { chunkIndex: part, selection: { part }, route: 'realtime', dispatches: 0 };
  }
  const route = routeNow(p, 'batch');
  if (room[route] && p.nextBatch < p.plan.batchParts) {
    const part = p.plan.realtimeParts + p.nextBatch++;
    return { chunkIndex: part, selection: { part }, route, dispatches: 0 };
  }
  return undefined;
}

/** The one-line summary a dispatch's chunk workflow shows in the Temporal UI. */
export function workSummary(config: RunConfig, p: RunProgress, work: QueuedWork, reserveUsd: number, maxItems: number | undefined, windowCharge: WindowCharge | undefined): string {
  const model = p.modelSwitch?.to;
  const sel = work.selection;
  const what = 'sampleSeed' in sel ? `random sample of ${sel.sampleSize}` : 'part' in sel ? `part ${sel.part}` : `items ${sel.seqStart}–${sel.seqEnd - 1}`;
  return [
    `${work.chunkIndex < 0 ? 'sample' : `chunk ${work.chunkIndex}`} of ${config.runId}`,
    work.route === 'batch' ? 'Batch API' : 'realtime',
    what + (maxItems !== undefined ? ` (first ${maxItems} pending, as the ${windowCharge ? `budget and window ${windowCharge.index + 1}` : 'budget'} allow)` : ''),
    model ?? p.stage.models.join(','),
    p.budgetUsd !== undefined ? `reserved $${reserveUsd.toFixed(4)}` : undefined,
  ].filter(Boolean).join(' · ');
}

/** The input of a dispatch's chunk workflow (its `dispatch` number: work.dispatches was already counted). */
export function chunkInputOf(config: RunConfig, p: RunProgress, work: QueuedWork, before: ItemTotals, reserveUsd: number, maxItems: number | undefined, outputTokensPerItem: number | undefined, windowCharge: WindowCharge | undefined): ChunkInput {
  const model = p.modelSwitch?.to;
  const sel = work.selection;
  return {
    config,
    chunkIndex: work.chunkIndex,
    selection: sel,
    route: work.route,
    dispatch: work.dispatches - 1,
    before: { succeeded: before.succeeded, failed: before.failed, costUsd: before.costUsd },
    circuitEpoch: p.circuit.epoch,
    ...(model !== undefined ? { model } : {}),
    ...(maxItems !== undefined ? { maxItems } : {}),
    // A batch's spend cannot be stopped mid-batch: only realtime chunks have a cap.
    ...((p.budgetUsd !== undefined || (windowCharge && config.window?.budgetUsd !== undefined)) && work.route === 'realtime' ? { capUsd: chunkCapUsd(reserveUsd, config.chunkCapFactor) } : {}),
    ...(outputTokensPerItem !== undefined ? { outputTokensPerItem } : {}),
  };
}
