// What the dashboard shows, computed from the store's aggregates (store/dashboard-sql.ts):
// a run's progress and state, its spend against the budget's yellow and red lines, what
// all-realtime would have cost, the spend curve, and the dollars each lever saved.
import { budgetState } from './budget.ts';

/** Spend of one group (a feature, model, mode or day). */
export interface SpendRow {
  key: string;
  succeeded: number;
  failed: number;
  costUsd: number;
  /** Cache hits: what their calls would have cost (exact and semantic). */
  savedUsd: number;
  semanticSavedUsd: number;
  promptCacheSavedUsd: number;
}

/** A run as the store knows it. */
export interface RunRow {
  runId: string;
  /** realtime, batch or hybrid; absent for a run staged before runs were recorded. */
  mode?: string;
  budgetUsd?: number;
  budgetWarnAt?: number;
  /** Accepted items. */
  items: number;
  succeeded: number;
  failed: number;
  costUsd: number;
  /** Of costUsd, spent through the Batch API (at its discount). */
  batchCostUsd: number;
  savedUsd: number;
  /** UTC minutes (`YYYY-MM-DDTHH:MM`) of the first and last result. */
  firstMinute?: string;
  lastMinute?: string;
}

export type RunProgressState = 'staged' | 'running' | 'finished';

export interface RunView extends RunRow {
  done: number;
  pending: number;
  /** Share of items done, 0–1. */
  progress: number;
  /** From the store alone: finished once every item has a result. */
  state: RunProgressState;
  /** What Temporal says of the run (paused, budget_exhausted, completed …), when it was reachable. */
  temporalState?: string;
  /** Spend at which the run turns yellow, and red (the budget); absent without a budget. */
  yellowUsd?: number;
  redUsd?: number;
  budgetState: 'none' | 'green' | 'yellow' | 'red';
  /** What the same results would have cost all through the realtime path. */
  allRealtimeUsd: number;
  /** allRealtimeUsd − costUsd: what the Batch API saved. */
  batchSavedUsd: number;
}

export function runView(r: RunRow, batchDiscount: number): RunView {
  const done = r.succeeded + r.failed;
  const pending = Math.max(0, r.items - done);
  const state: RunProgressState = r.items > 0 && pending === 0 ? 'finished' : done > 0 ? 'running' : 'staged';
  const allRealtimeUsd = r.costUsd - r.batchCostUsd + r.batchCostUsd / batchDiscount;
  const view: RunView = {
    ...r, done, pending, progress: r.items > 0 ? done / r.items : 0, state,
    budgetState: 'none', allRealtimeUsd, batchSavedUsd: allRealtimeUsd - r.costUsd,
  };
  if (r.budgetUsd !== undefined) {
    view.redUsd = r.budgetUsd;
    view.yellowUsd = r.budgetUsd * (r.budgetWarnAt ?? 1);
    view.budgetState = budgetState({ limitUsd: r.budgetUsd, spentUsd: r.costUsd, reservedUsd: 0, warnAt: r.budgetWarnAt ?? 1 });
  }
  return view;
}

/** One minute of a run's results. */
export interface MinuteRow {
  minute: string;
  succeeded: number;
  failed: number;
  costUsd: number;
  rateLimited: number;
  latencyMsSum: number;
  latencyCount: number;
}

export interface MinutePoint {
  minute: string;
  /** Items done in the minute. */
  done: number;
  /** Spend up to the end of the minute. */
  cumulativeUsd: number;
  rateLimited: number;
  /** Mean latency of the minute's calls; null when it made none (cache hits, batch). */
  meanLatencyMs: number | null;
}

/** The spend curve and the per-minute 429s and latency. */
export function runCurve(minutes: readonly MinuteRow[]): MinutePoint[] {
  let cumulative = 0;
  return minutes.map((m) => {
    cumulative += m.costUsd;
    return {
      minute: m.minute, done: m.succeeded + m.failed, cumulativeUsd: cumulative, rateLimited: m.rateLimited,
      meanLatencyMs: m.latencyCount > 0 ? m.latencyMsSum / m.latencyCount : null,
    };
  });
}

export interface LeverSaving {
  lever: 'exact cache' | 'semantic cache' | 'prompt cache' | 'Batch API';
  savedUsd: number;
}

/** Dollars saved by each lever with data, from spend by mode; levers that saved nothing are left out. */
export function leverSavings(byMode: readonly SpendRow[], batchDiscount: number): LeverSaving[] {
  const sum = (f: (r: SpendRow) => number): number => byMode.reduce((s, r) => s + f(r), 0);
  const batchCost = byMode.find((r) => r.key === 'batch')?.costUsd ?? 0;
  const all: LeverSaving[] = [
    { lever: 'exact cache', savedUsd: sum((r) => r.savedUsd - r.semanticSavedUsd) },
    { lever: 'semantic cache', savedUsd: sum((r) => r.semanticSavedUsd) },
    { lever: 'prompt cache', savedUsd: sum((r) => r.promptCacheSavedUsd) },
    { lever: 'Batch API', savedUsd: batchCost / batchDiscount - batchCost },
  ];
  return all.filter((l) => l.savedUsd > 1e-12);
}
