// What a run carries across continue-as-new, and how its status is computed from it.
// Workflow-side but free of Temporal calls, so the run workflow stays about control flow.
import { emptyTokens } from '../domain/run-types.ts';
import type { BatchTotals, CacheTotals, ItemTotals, ModelSwitch, Route, RunConfig, RunStatus, SampleEstimate, StageResult, TokenTotals } from '../domain/run-types.ts';
import type { PartPlan } from '../domain/batch-plan.ts';
import { budgetState, MIN_MEASURED_ITEMS, overshootUsd, type Ledger, type OutputMeasure } from '../domain/budget.ts';
import { closedCircuit, type Circuit } from '../domain/circuit-breaker.ts';
import type { AlertSummary } from '../domain/alerts.ts';
import { windowDetails, windowRecordStatus, windowStatus, type WindowLedger, type WindowRecord } from '../domain/run-window.ts';
import { newQualityProgress, qualityStatusOf, type QualityProgress } from '../domain/spot-check.ts';

/** A piece of work waiting for dispatch: a chunk's range or a part (again, after a stop), or the sample. */
export interface QueuedWork {
  /** -1 for the sample; the part number in batch and hybrid runs. */
  chunkIndex: number;
  selection: { seqStart: number; seqEnd: number } | { sampleSeed: number; sampleSize: number } | { part: number };
  route: Route;
  /** Dispatches of this piece so far: names the next child workflow uniquely. */
  dispatches: number;
}

/** What a run carries across continue-as-new. */
export interface RunProgress {
  stage: StageResult;
  phase: 'sample' | 'approval' | 'chunks';
  nextChunk: number;
  /** Pieces stopped with items left: dispatched again before new chunks. */
  requeued: QueuedWork[];
  chunksDone: number;
  succeeded: number;
  failed: number;
  costUsd: number;
  tokens: TokenTotals;
  /** Succeeded items and their completion tokens: the measured mean output per item. */
  measured: OutputMeasure;
  startedAt: string;
  stopReason?: 'insufficient_quota';
  budgetUsd?: number;
  modelSwitch?: ModelSwitch;
  circuit: Circuit;
  sample?: SampleEstimate;
  operator: { paused: boolean; cancelled: boolean; approved: boolean; rejected: boolean; probeRequested: boolean };
  /** Alerts already sent for the current episode, so each fires once. */
  alerted: { yellow: boolean; red: boolean };
  /** Batch and hybrid runs: the parts planned after staging, and the Batch discount. */
  plan?: PartPlan & { batchDiscount: number };
  /** The next batch part to dispatch (counted from the first batch part). */
  nextBatch: number;
  /** What was done through the Batch API (part of succeeded, failed, costUsd). */
  batch: BatchTotals;
  /** Items answered from the exact cache (part of succeeded) and what that saved; absent before the first hit. */
  cache?: CacheTotals;
  /** --deadline as epoch ms, and whether it passed (batches cancelled, the rest realtime). */
  deadlineAt?: number;
  deadlinePassed: boolean;
  /** What the provider's prompt cache saved (absent in runs started before it was counted: 0). */
  promptCacheSavedUsd?: number;
  /** --window: the current window (absent before the run's chunks start, and without --window). */
  window?: WindowLedger;
  /** --window: the windows that ended, oldest first (the latest MAX_WINDOW_RECORDS). */
  windowsEnded?: WindowRecord[];
  /** --spot-check: checkpoints taken, their results, a hold waiting for approve or reject (workflows/run-quality.ts). */
  quality?: QualityProgress;
}

const round9 = (n: number): number => Math.round(n * 1e9) / 1e9;

export function ledgerOf(p: RunProgress, config: RunConfig, reservedUsd: number): Ledger {
  return { limitUsd: p.budgetUsd, spentUsd: p.costUsd, reservedUsd, warnAt: config.budgetWarnAt };
}

/** Spent plus the cost to finish: measured mean per item once there are enough, else the upper bound's share. */
export function estimateTotalUsd(p: RunProgress): number {
  const remaining = p.stage.accepted - p.succeeded - p.failed;
  if (remaining <= 0) return p.costUsd;
  if (p.succeeded >= MIN_MEASURED_ITEMS) return p.costUsd + remaining * (p.costUsd / p.succeeded);
  return p.costUsd + (p.stage.accepted > 0 ? (p.stage.estimateUsd * remaining) / p.stage.accepted : 0);
}

/** Adds what a dispatch did (its totals now minus its totals when dispatched) to the run's. */
export function addDelta(p: RunProgress, after: ItemTotals, before: ItemTotals | Pick<ItemTotals, 'succeeded' | 'failed' | 'costUsd' | 'tokens'>): void {
  const succeeded = after.succeeded - before.succeeded;
  p.succeeded += succeeded;
  p.failed += after.failed - before.failed;
  p.costUsd += after.costUsd - before.costUsd;
  for (const k of ['prompt', 'cached', 'completion', 'reasoning'] as const) p.tokens[k] += after.tokens[k] - before.tokens[k];
  // Cache hits produced no output tokens of their own: they would pull the measured mean down.
  const hits = (after.cache?.hits ?? 0) - ('cache' in before ? (before.cache?.hits ?? 0) : 0);
  p.measured.items += succeeded - hits;
  p.measured.completionTokens += after.tokens.completion - before.tokens.completion;
  if (after.cache && (hits !== 0 || after.cache.savedUsd !== 0)) {
    const b = 'cache' in before ? before.cache : undefined;
    p.cache ??= { hits: 0, savedUsd: 0 };
    p.cache.hits += hits;
    p.cache.savedUsd += after.cache.savedUsd - (b?.savedUsd ?? 0);
    const semantic = (after.cache.semanticHits ?? 0) - (b?.semanticHits ?? 0);
    if (semantic !== 0) p.cache.semanticHits = (p.cache.semanticHits ?? 0) + semantic;
  }
  const saved = (after.promptCacheSavedUsd ?? 0) - (('promptCacheSavedUsd' in before ? before.promptCacheSavedUsd : undefined) ?? 0);
  if (saved !== 0) p.promptCacheSavedUsd = (p.promptCacheSavedUsd ?? 0) + saved;
  const b0 = 'batch' in before ? before.batch : undefined;
  if (after.batch) {
    p.batch.succeeded += after.batch.succeeded - (b0?.succeeded ?? 0);
    p.batch.failed += after.batch.failed - (b0?.failed ?? 0);
    p.batch.costUsd += after.batch.costUsd - (b0?.costUsd ?? 0);
  }
}

/** Realtime and Batch API paths side by side, against what all-realtime would have cost. */
export function pathSplit(p: RunProgress): RunStatus['paths'] {
  if (!p.plan) return undefined;
  const realtimeCost = p.costUsd - p.batch.costUsd;
  const allRealtimeUsd = realtimeCost + p.batch.costUsd / p.plan.batchDiscount;
  return {
    // Cache hits took neither path (the status shows them apart).
    realtime: { items: p.plan.realtimeItems, succeeded: p.succeeded - p.batch.succeeded - (p.cache?.hits ?? 0), failed: p.failed - p.batch.failed, costUsd: round9(realtimeCost) },
    batch: { items: p.plan.batchItems, succeeded: p.batch.succeeded, failed: p.batch.failed, costUsd: round9(p.batch.costUsd) },
    allRealtimeUsd: round9(allRealtimeUsd),
    savedUsd: round9(allRealtimeUsd - p.costUsd),
  };
}

/** The prompt cache's share of prompt tokens (cached ÷ prompt) and what it saved, as the provider reported and the table prices it. */
export function promptCacheStatus(p: RunProgress): NonNullable<RunStatus['promptCache']> {
  const out: NonNullable<RunStatus['promptCache']> = {
    hitShare: p.tokens.prompt > 0 ? Math.round((p.tokens.cached / p.tokens.prompt) * 1e6) / 1e6 : 0,
    savedUsd: round9(p.promptCacheSavedUsd ?? 0),
  };
  if (p.stage.promptPrefix) out.eligibleTokens = p.stage.promptPrefix.eligibleCachedTokens;
  return out;
}

export function fillStatus(status: RunStatus, p: RunProgress, config: RunConfig, reservedUsd: number, inFlight: string[], batchInFlight: string[], totalChunks: number, now: string): void {
  const { stage } = p;
  const ledger = ledgerOf(p, config, reservedUsd);
  status.counts = {
    total: stage.accepted,
    succeeded: p.succeeded,
    failed: p.failed,
    rejected: stage.rejected,
    pending: stage.accepted - p.succeeded - p.failed,
  };
  // Sums of float prices: shown to the nano-dollar, so JSON does not carry float noise.
  status.costUsd = {
    spent: round9(p.costUsd),
    reserved: round9(reservedUsd),
    budget: p.budgetUsd ?? null,
    overshoot: round9(overshootUsd(ledger)),
    estimateTotal: round9(estimateTotalUsd(p)),
    upperBound: round9(stage.estimateUsd),
  };
  // Exhausted means red even a little short of 100%: not one more item fits.
  status.budgetState = status.state === 'budget_exhausted' ? 'red' : budgetState(ledger);
  status.circuit = { state: p.circuit.state, openings: p.circuit.openings, probes: p.circuit.probes };
  if (p.circuit.openedAt !== undefined) status.circuit.openedAt = new Date(p.circuit.openedAt).toISOString();
  if (p.circuit.nextProbeAt !== undefined && p.circuit.state === 'open') status.circuit.nextProbeAt = new Date(p.circuit.nextProbeAt).toISOString();
  if (p.modelSwitch) status.modelSwitch = p.modelSwitch;
  if (p.sample) status.sample = p.sample;
  status.tokens = { ...p.tokens };
  status.chunks = { total: totalChunks, done: p.chunksDone, inFlight };
  if (p.plan) status.chunks.batchInFlight = batchInFlight;
  const paths = pathSplit(p);
  if (paths) status.paths = paths;
  if (p.cache) {
    status.cache = { hits: p.cache.hits, savedUsd: round9(p.cache.savedUsd) };
    if (p.cache.semanticHits) status.cache.semanticHits = p.cache.semanticHits;
  }
  if (p.deadlineAt !== undefined) status.deadline = { at: new Date(p.deadlineAt).toISOString(), passed: p.deadlinePassed };
  if (p.window && config.window) status.window = windowStatus(config.window, p.window);
  if (p.windowsEnded?.length) status.windowsEnded = p.windowsEnded.map(windowRecordStatus);
  status.promptCache = promptCacheStatus(p);
  if (stage.warnings?.length) status.warnings = stage.warnings;
  // A run with --spot-check shows its gate from the start, before its first checkpoint.
  if (config.spotCheck) status.quality = qualityStatusOf(p.quality ?? newQualityProgress(0), config.spotCheck.minPassRate);
  status.rejectsPath = stage.rejectsPath;
  status.updatedAt = now;
}

export function alertSummaryOf(status: RunStatus, detail?: string): AlertSummary {
  const done = status.counts.succeeded + status.counts.failed;
  const s: AlertSummary = {
    runId: status.runId,
    state: status.state,
    done,
    remaining: status.counts.pending,
    total: status.counts.total,
    spentUsd: status.costUsd.spent,
    budgetUsd: status.costUsd.budget,
    estimateToFinishUsd: Math.max(0, status.costUsd.estimateTotal - status.costUsd.spent),
  };
  if (detail !== undefined) s.detail = detail;
  return s;
}

/** The Temporal UI's current details: progress, money against budget, state, circuit. */
export function currentDetails(s: RunStatus): string {
  const c = s.counts;
  const money = s.costUsd.budget === null
    ? `$${s.costUsd.spent.toFixed(4)} spent (no budget; estimate $${s.costUsd.estimateTotal.toFixed(4)})`
    : `$${s.costUsd.spent.toFixed(4)} of $${s.costUsd.budget.toFixed(2)} budget (${s.budgetState}), $${s.costUsd.reserved.toFixed(4)} reserved`;
  const circuit = s.circuit.state === 'closed' ? '' : ` · circuit ${s.circuit.state}${s.circuit.nextProbeAt ? `, next probe ${s.circuit.nextProbeAt}` : ''}`;
  const sw = s.modelSwitch ? ` · switched ${s.modelSwitch.from} → ${s.modelSwitch.to}` : '';
  const atProvider = s.chunks.batchInFlight?.length
    ? ` · ${s.chunks.batchInFlight.length} batch(es) at the provider: their spend counts when collected and cannot be stopped mid-batch`
    : '';
  const split = s.paths ? ` · realtime $${s.paths.realtime.costUsd.toFixed(4)} + batch $${s.paths.batch.costUsd.toFixed(4)} (all-realtime $${s.paths.allRealtimeUsd.toFixed(4)})` : '';
  const semantic = s.cache?.semanticHits ? `, ${s.cache.semanticHits} semantic` : '';
  const cache = s.cache && s.cache.hits > 0 ? ` · ${s.cache.hits} cache hits${semantic} (saved $${s.cache.savedUsd.toFixed(4)})` : '';
  const windowText = s.window ? ` · ${windowDetails(s.window, s.state === 'waiting_window')}` : '';
  const last = s.quality?.checkpoints[s.quality.checkpoints.length - 1];
  const quality = last ? ` · spot-check ${last.index}: ${Math.round(last.passRate * 1000) / 10}% passed${s.quality?.holding !== undefined ? ' (held: approve or reject)' : ''}` : '';
  return `**${s.state}** · ${c.succeeded + c.failed}/${c.total} done · ${c.failed} failed · ${c.rejected} rejected · ${money}${windowText}${circuit}${sw}${split}${cache}${quality} · chunks ${s.chunks.done}/${s.chunks.total}${atProvider}`;
}

/** A new run's progress: nothing staged or done yet, the circuit closed, no operator signal. */
export function newProgress(config: RunConfig, now: string): RunProgress {
  const p: RunProgress = {
    stage: { lines: 0, accepted: 0, rejected: 0, seqEnd: 0, rejectsPath: '', promptTokens: 0, maxOutputTokens: 0, estimateUsd: 0, models: [] },
    phase: 'sample',
    nextChunk: 0,
    requeued: [],
    chunksDone: 0,
    succeeded: 0,
    failed: 0,
    costUsd: 0,
    tokens: emptyTokens(),
    measured: { items: 0, completionTokens: 0 },
    startedAt: now,
    circuit: closedCircuit(),
    operator: { paused: false, cancelled: false, approved: false, rejected: false, probeRequested: false },
    alerted: { yellow: false, red: false },
    nextBatch: 0,
    batch: { succeeded: 0, failed: 0, costUsd: 0 },
    deadlinePassed: false,
  };
  if (config.budgetUsd !== undefined) p.budgetUsd = config.budgetUsd;
  return p;
}
