// Daily windows (run --window 24h --per-window-items N --per-window-budget USD): a run paced
// by quota periods. Pure arithmetic; the run workflow keeps a WindowLedger in its progress
// (so it survives continue-as-new) and asks these functions what to do.
//
// What a window is:
// - window 0 starts when the run starts dispatching its chunks (the --sample runs before and
//   counts in none); window k+1 starts once window k has ended, but never before window k's
//   start + everyMs. Windows never overlap: each holds at most its quota, and window starts
//   are at least everyMs apart (like a daily quota that resets once a day).
// - A dispatch (a realtime chunk or a batch file) is charged to the window it starts in:
//   its item cap (maxItems) and its reservation while it is in flight, then what it did.
//   A window must not exceed its quota: dispatches are sized by what is left of it.
// - A window ends when its quota is used (items, or not one more item fits its budget) and
//   its dispatches are back: then the run waits in waiting_window for the next window.
// - A window that does not use its quota within everyMs simply goes on: the next window
//   starts when this one's quota is used (a slow provider stretches windows, never overlaps them).
import { decideDispatch, type WorkEstimate } from './budget.ts';

/** RunConfig.window: how long a window is, and its quotas (one at least). */
export interface WindowPolicy {
  everyMs: number;
  /** Most items a window may do (dispatch caps count while in flight). */
  items?: number;
  /** Most a window may spend, USD (reservations count while in flight). */
  budgetUsd?: number;
}

/** The current window, as the run carries it across continue-as-new. */
export interface WindowLedger {
  /** 0 for the first window. */
  index: number;
  /** When it started (epoch ms, workflow time). */
  startedAt: number;
  /** Items done (succeeded or failed) by dispatches charged to this window and back. */
  items: number;
  /** What those dispatches spent. */
  costUsd: number;
  /** Not even one more item fits the window's budget (nothing of it was in flight then). */
  budgetUsed: boolean;
  /** Set once the window has ended (its end was handled): the run waits for `nextStartAt`. */
  endedAt?: number;
}

/** A window that ended, as the run keeps it (the latest MAX_WINDOW_RECORDS of them). */
export interface WindowRecord {
  index: number;
  startedAt: number;
  endedAt: number;
  items: number;
  costUsd: number;
}

/** Ended windows kept in the run's progress and status: enough for months of daily windows, bounded for short ones. */
export const MAX_WINDOW_RECORDS = 100;

/** Marks the window ended at `now` and adds it to `records` (dropping the oldest past the bound). */
export function endWindow(w: WindowLedger, now: number, records: WindowRecord[]): void {
  w.endedAt = now;
  records.push({ index: w.index, startedAt: w.startedAt, endedAt: now, items: w.items, costUsd: w.costUsd });
  if (records.length > MAX_WINDOW_RECORDS) records.splice(0, records.length - MAX_WINDOW_RECORDS);
}

/** What the dispatches charged to the current window and still in flight hold. */
export interface WindowInFlight {
  /** Sum of their item caps. */
  items: number;
  /** Sum of their reservations, USD. */
  reservedUsd: number;
}

/** Why a policy cannot work, or undefined when it can. */
export function windowPolicyProblem(p: WindowPolicy): string | undefined {
  if (!(Number.isFinite(p.everyMs) && p.everyMs >= 1)) return `the window must be at least 1 ms long, got ${p.everyMs}`;
  if (p.items === undefined && p.budgetUsd === undefined) return 'a window needs a quota: items per window and/or a budget per window';
  if (p.items !== undefined && !(Number.isSafeInteger(p.items) && p.items >= 1)) return `items per window must be a whole number ≥ 1, got ${p.items}`;
  if (p.budgetUsd !== undefined && !(Number.isFinite(p.budgetUsd) && p.budgetUsd > 0)) return `the budget per window must be > 0 USD, got ${p.budgetUsd}`;
  return undefined;
}

export const firstWindow = (now: number): WindowLedger => ({ index: 0, startedAt: now, items: 0, costUsd: 0, budgetUsed: false });

/** The earliest moment the next window may start. */
export const nextWindowAt = (p: WindowPolicy, w: WindowLedger): number => w.startedAt + p.everyMs;

/**
 * The window after `w`, starting `now` (never before its earliest start). Not backdated to
 * that earliest start when the timer fired late: a worker down over the boundary would
 * otherwise squeeze two windows' items into less than one window's length.
 */
export function startNextWindow(p: WindowPolicy, w: WindowLedger, now: number): WindowLedger {
  return { index: w.index + 1, startedAt: Math.max(now, nextWindowAt(p, w)), items: 0, costUsd: 0, budgetUsed: false };
}

/** Items the window still has room for (after its dispatches in flight); undefined without an item quota. */
export function itemsLeft(p: WindowPolicy, w: WindowLedger, f: WindowInFlight): number | undefined {
  return p.items === undefined ? undefined : Math.max(0, p.items - w.items - f.items);
}

/** The window's quota is used: no new dispatch may be charged to it. */
export function windowFull(p: WindowPolicy, w: WindowLedger, f: WindowInFlight): boolean {
  return w.budgetUsed || itemsLeft(p, w, f) === 0;
}

export type WindowDecision =
  /** Dispatch, capped to `maxItems` when the window limits it. */
  | { kind: 'dispatch'; maxItems?: number }
  /** Not now: dispatches of this window in flight may give back part of what they hold. */
  | { kind: 'wait' }
  /** The window's quota is used (once its dispatches are back, it ends). */
  | { kind: 'full' };

/** How much of a piece of work (`pending` items, an upper bound of `usd`) the window lets go now. */
export function fitToWindow(p: WindowPolicy, w: WindowLedger, f: WindowInFlight, work: WorkEstimate): WindowDecision {
  if (windowFull(p, w, f)) return f.items > 0 || f.reservedUsd > 0 ? { kind: 'wait' } : { kind: 'full' };
  let cap = itemsLeft(p, w, f);
  if (p.budgetUsd !== undefined) {
    // The run's own reservation rule, with the window's budget as the limit.
    const d = decideDispatch({ limitUsd: p.budgetUsd, spentUsd: w.costUsd, reservedUsd: f.reservedUsd, warnAt: 1 }, work);
    if (d.kind === 'wait') return d;
    if (d.kind === 'exhausted') return { kind: 'full' };
    if (d.maxItems !== undefined) cap = cap === undefined ? d.maxItems : Math.min(cap, d.maxItems);
  }
  return cap === undefined || cap >= work.pending ? { kind: 'dispatch' } : { kind: 'dispatch', maxItems: cap };
}

/**
 * One dispatch's item cap and reservation when both the run (its budget) and the window
 * cap it: the smaller cap, and the reservation of that many items at the work's mean cost.
 */
export function combineCaps(work: WorkEstimate, run: { reserveUsd: number; maxItems?: number }, windowMaxItems: number | undefined): { reserveUsd: number; maxItems?: number } {
  if (windowMaxItems === undefined || (run.maxItems !== undefined && run.maxItems <= windowMaxItems)) return run;
  const perItem = work.pending > 0 ? work.usd / work.pending : 0;
  return { reserveUsd: windowMaxItems * perItem, maxItems: windowMaxItems };
}

/** A dispatch charged to window `index` came back having done `items` items for `costUsd`. */
export function settleDispatch(w: WindowLedger, index: number, items: number, costUsd: number): void {
  // A window ends only once its dispatches are back, so this is the current one; a charge to
  // another window (none should exist) must not change the current window's count.
  if (index !== w.index) return;
  w.items += items;
  w.costUsd += costUsd;
}

/** The window as the status shows it. */
export interface WindowStatus {
  /** 1 for the first window. */
  number: number;
  startedAt: string;
  /** Items done and spend of the window's dispatches that are back. */
  items: number;
  spentUsd: number;
  itemsQuota?: number;
  budgetUsd?: number;
  everyMs: number;
  /** The earliest start of the next window (while waiting_window: when it starts). */
  nextStartAt: string;
  /** The window's quota is used and its dispatches are back: the run waits for nextStartAt. */
  ended: boolean;
}

export function windowStatus(p: WindowPolicy, w: WindowLedger): WindowStatus {
  const s: WindowStatus = {
    number: w.index + 1,
    startedAt: new Date(w.startedAt).toISOString(),
    items: w.items,
    spentUsd: Math.round(w.costUsd * 1e9) / 1e9,
    everyMs: p.everyMs,
    nextStartAt: new Date(nextWindowAt(p, w)).toISOString(),
    ended: w.endedAt !== undefined,
  };
  if (p.items !== undefined) s.itemsQuota = p.items;
  if (p.budgetUsd !== undefined) s.budgetUsd = p.budgetUsd;
  return s;
}

/** `window 2: 120/300 items, $0.0123/$5.00`, or while waiting `window 2 done (…); window 3 starts <ISO>`. */
export function windowDetails(w: WindowStatus, waiting: boolean): string {
  const use = [
    w.itemsQuota !== undefined ? `${w.items}/${w.itemsQuota} items` : `${w.items} items`,
    w.budgetUsd !== undefined ? `$${w.spentUsd.toFixed(4)}/$${w.budgetUsd.toFixed(2)}` : undefined,
  ].filter(Boolean).join(', ');
  return waiting ? `window ${w.number} done (${use}); window ${w.number + 1} starts ${w.nextStartAt}` : `window ${w.number}: ${use}`;
}

/** An ended window as the status lists it. */
export interface WindowRecordStatus {
  number: number;
  startedAt: string;
  endedAt: string;
  items: number;
  spentUsd: number;
}

export const windowRecordStatus = (r: WindowRecord): WindowRecordStatus => ({
  number: r.index + 1,
  startedAt: new Date(r.startedAt).toISOString(),
  endedAt: new Date(r.endedAt).toISOString(),
  items: r.items,
  spentUsd: Math.round(r.costUsd * 1e9) / 1e9,
});
