// The run's money: what was spent (priced from the provider's usage), what the chunks in
// flight have reserved, and whether the next piece of work may be dispatched. Pure: the
// run workflow keeps a Ledger and asks these functions what to do.
import type { BudgetState } from './run-types.ts';

export interface Ledger {
  /** USD; undefined means no budget is enforced. */
  limitUsd: number | undefined;
  spentUsd: number;
  /** Sum of the reservations of the chunks in flight. */
  reservedUsd: number;
  /** Share of the limit (0–1) where yellow starts. */
  warnAt: number;
}

export function budgetState(l: Ledger): BudgetState {
  if (l.limitUsd === undefined) return 'none';
  if (l.spentUsd >= l.limitUsd) return 'red';
  if (l.spentUsd >= l.limitUsd * l.warnAt) return 'yellow';
  return 'green';
}

/** How far spend went past the budget: never more than what was in flight when it was reached. */
export const overshootUsd = (l: Ledger): number => (l.limitUsd === undefined ? 0 : Math.max(0, l.spentUsd - l.limitUsd));

/** The estimate of the pending items of one piece of work (a chunk or a sample). */
export interface WorkEstimate {
  /** Items still pending in it. */
  pending: number;
  /** Upper-bound cost of those items at the reservation's output tokens. */
  usd: number;
}

export type DispatchDecision =
  /** Dispatch; maxItems is set when only part of the work fits the budget. */
  | { kind: 'dispatch'; reserveUsd: number; maxItems?: number }
  /** It does not fit now, but chunks in flight may free their reservations: wait for them. */
  | { kind: 'wait' }
  /** Nothing is in flight and not even one item fits: budget_exhausted until an operator acts. */
  | { kind: 'exhausted' };

/**
 * A piece of work is dispatched only if spent + reserved + its estimate ≤ budget. When it
 * does not fit and nothing is in flight, the part of it that fits is dispatched (at the
 * mean cost per item), so a run uses its budget instead of stopping a whole chunk early.
 */
export function decideDispatch(l: Ledger, work: WorkEstimate): DispatchDecision {
  if (l.limitUsd === undefined || work.pending === 0) return { kind: 'dispatch', reserveUsd: work.usd };
  const available = l.limitUsd - l.spentUsd - l.reservedUsd;
  if (work.usd <= available) return { kind: 'dispatch', reserveUsd: work.usd };
  if (l.reservedUsd > 0) return { kind: 'wait' };
  const perItem = work.usd / work.pending;
  const fits = perItem > 0 ? Math.floor(available / perItem) : work.pending;
  if (fits < 1) return { kind: 'exhausted' };
  return { kind: 'dispatch', reserveUsd: fits * perItem, maxItems: fits };
}

/** Measured output so far: completion tokens over the items that produced them. */
export interface OutputMeasure {
  items: number;
  completionTokens: number;
}

/** Fewer measured items than this and reservations stay at max_tokens. */
export const MIN_MEASURED_ITEMS = 20;

/**
 * Output tokens to reserve per item: max_tokens (undefined) until enough items were
 * measured, then their mean plus the margin. Items' own max_tokens still cap it.
 */
export function reservedOutputTokens(m: OutputMeasure, margin: number): number | undefined {
  if (m.items < MIN_MEASURED_ITEMS) return undefined;
  // The epsilon keeps float noise from adding a token: 100 × 1.1 is 110.00000000000001.
  return Math.max(1, Math.ceil((m.completionTokens / m.items) * (1 + margin) - 1e-9));
}

/** The most a chunk may spend before it stops itself: its reservation times the factor. */
export const chunkCapUsd = (reserveUsd: number, factor: number): number => reserveUsd * factor;

/** The fallback switch happens once, when yellow is first reached and a fallback is given. */
export function shouldSwitchModel(state: BudgetState, fallbackModel: string | undefined, alreadySwitched: boolean): boolean {
  return !alreadySwitched && fallbackModel !== undefined && (state === 'yellow' || state === 'red');
}

/**
 * The amount of a raiseBudget/setBudget signal, as typed in the Temporal UI:
 * `{"amountUsd": 25}` (or a bare number). A string says what is wrong.
 */
export function parseBudgetAmount(arg: unknown): number | string {
  const v = typeof arg === 'number' ? arg : (arg as { amountUsd?: unknown } | null | undefined)?.amountUsd;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    return `expected {"amountUsd": <a number > 0>}, got ${JSON.stringify(arg) ?? 'nothing'}`;
  }
  return v;
}
