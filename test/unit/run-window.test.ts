import { describe, expect, it } from 'vitest';
import {
  combineCaps,
  endWindow,
  firstWindow,
  MAX_WINDOW_RECORDS,
  fitToWindow,
  itemsLeft,
  nextWindowAt,
  settleDispatch,
  startNextWindow,
  windowDetails,
  windowFull,
  windowPolicyProblem,
  windowRecordStatus,
  windowStatus,
  type WindowRecord,
  type WindowLedger,
  type WindowPolicy,
} from '../../src/domain/run-window.ts';

const T0 = Date.parse('2026-12-02T00:00:00Z');
const DAY = 86_400_000;
const none = { items: 0, reservedUsd: 0 };
const win = (over: Partial<WindowLedger> = {}): WindowLedger => ({ ...firstWindow(T0), ...over });

describe('windowPolicyProblem', () => {
  it('accepts an item quota, a budget quota, or both', () => {
    expect(windowPolicyProblem({ everyMs: DAY, items: 100_000 })).toBeUndefined();
    expect(windowPolicyProblem({ everyMs: DAY, budgetUsd: 25 })).toBeUndefined();
    expect(windowPolicyProblem({ everyMs: 10_000, items: 300, budgetUsd: 1 })).toBeUndefined();
  });

  it('refuses a window without a quota, a zero length, or a bad quota, saying which', () => {
    expect(windowPolicyProblem({ everyMs: DAY })).toMatch(/needs a quota/);
    expect(windowPolicyProblem({ everyMs: 0, items: 5 })).toMatch(/at least 1 ms/);
    expect(windowPolicyProblem({ everyMs: DAY, items: 0 })).toMatch(/whole number ≥ 1, got 0/);
    expect(windowPolicyProblem({ everyMs: DAY, items: 2.5 })).toMatch(/got 2.5/);
    expect(windowPolicyProblem({ everyMs: DAY, budgetUsd: 0 })).toMatch(/> 0 USD/);
  });
});

describe('window rhythm', () => {
  const policy: WindowPolicy = { everyMs: DAY, items: 100 };

  it('the next window starts no earlier than everyMs after this one started', () => {
    expect(nextWindowAt(policy, win())).toBe(T0 + DAY);
  });

  it('the next window starts when it really starts: a late timer (a worker down) is not backdated', () => {
    const next = startNextWindow(policy, win({ items: 100, endedAt: T0 + 3_600_000 }), T0 + DAY + 15_000);
    expect(next).toEqual({ index: 1, startedAt: T0 + DAY + 15_000, items: 0, costUsd: 0, budgetUsed: false });
    // So the window after it is a full length later, not squeezed.
    expect(nextWindowAt(policy, next)).toBe(T0 + 2 * DAY + 15_000);
  });

  it('a window that overran its length starts the next one now: windows never overlap', () => {
    const next = startNextWindow(policy, win({ items: 100, endedAt: T0 + 2 * DAY + 4_000 }), T0 + 2 * DAY + 5_000);
    expect(next.startedAt).toBe(T0 + 2 * DAY + 5_000);
    expect(next.index).toBe(1);
  });

  it('never starts before its earliest start', () => {
    expect(startNextWindow(policy, win({ endedAt: T0 }), T0 + 5).startedAt).toBe(T0 + DAY);
  });
});

describe('item quota', () => {
  const policy: WindowPolicy = { everyMs: 10_000, items: 300 };

  it('counts what is done and what dispatches in flight may still do', () => {
    expect(itemsLeft(policy, win({ items: 100 }), { items: 150, reservedUsd: 0 })).toBe(50);
    expect(itemsLeft(policy, win({ items: 300 }), none)).toBe(0);
    expect(itemsLeft({ everyMs: 1, budgetUsd: 1 }, win(), none)).toBeUndefined();
  });

  it('caps a dispatch at what is left of the window, never more', () => {
    expect(fitToWindow(policy, win({ items: 200 }), none, { pending: 250, usd: 1 })).toEqual({ kind: 'dispatch', maxItems: 100 });
    expect(fitToWindow(policy, win({ items: 200 }), none, { pending: 100, usd: 1 })).toEqual({ kind: 'dispatch' });
    expect(fitToWindow(policy, win(), none, { pending: 1000, usd: 1 })).toEqual({ kind: 'dispatch', maxItems: 300 });
  });

  it('a full window waits for its dispatches in flight, then is full', () => {
    expect(windowFull(policy, win({ items: 100 }), { items: 200, reservedUsd: 0 })).toBe(true);
    expect(fitToWindow(policy, win({ items: 100 }), { items: 200, reservedUsd: 0 }, { pending: 5, usd: 1 })).toEqual({ kind: 'wait' });
    expect(fitToWindow(policy, win({ items: 300 }), none, { pending: 5, usd: 1 })).toEqual({ kind: 'full' });
  });

  it('a dispatch that came back short gives its room back', () => {
    const w = win();
    // 300 charged in flight: full; it came back with 180 done (stopped early): 120 left.
    expect(windowFull(policy, w, { items: 300, reservedUsd: 0 })).toBe(true);
    settleDispatch(w, 0, 180, 0.5);
    expect(w).toMatchObject({ items: 180, costUsd: 0.5 });
    expect(itemsLeft(policy, w, none)).toBe(120);
  });

  it('a charge to another window does not count in the current one', () => {
    const w = win({ index: 2, items: 10 });
    settleDispatch(w, 1, 50, 1);
    expect(w).toMatchObject({ items: 10, costUsd: 0 });
  });
});

describe('budget quota (the run\'s reservation rule with the window\'s budget)', () => {
  const policy: WindowPolicy = { everyMs: DAY, budgetUsd: 10 };

  it('dispatches all that fits, or the part that fits when nothing is in flight', () => {
    expect(fitToWindow(policy, win({ costUsd: 4 }), none, { pending: 100, usd: 5 })).toEqual({ kind: 'dispatch' });
    // $6 left at $0.10 an item: 60 of 100.
    expect(fitToWindow(policy, win({ costUsd: 4 }), none, { pending: 100, usd: 10 })).toEqual({ kind: 'dispatch', maxItems: 60 });
  });

  it('waits while reservations in flight may come back cheaper', () => {
    expect(fitToWindow(policy, win({ costUsd: 4 }), { items: 50, reservedUsd: 5 }, { pending: 100, usd: 10 })).toEqual({ kind: 'wait' });
  });

  it('is full when not one more item fits and nothing is in flight', () => {
    expect(fitToWindow(policy, win({ costUsd: 9.95 }), none, { pending: 100, usd: 10 })).toEqual({ kind: 'full' });
    expect(windowFull(policy, win({ budgetUsed: true }), none)).toBe(true);
  });

  it('with both quotas, the smaller cap wins', () => {
    const both: WindowPolicy = { everyMs: DAY, items: 50, budgetUsd: 10 };
    expect(fitToWindow(both, win({ costUsd: 4 }), none, { pending: 100, usd: 10 })).toEqual({ kind: 'dispatch', maxItems: 50 });
    expect(fitToWindow(both, win({ costUsd: 8 }), none, { pending: 100, usd: 10 })).toEqual({ kind: 'dispatch', maxItems: 20 });
  });
});

describe('combineCaps', () => {
  const work = { pending: 100, usd: 2 };

  it('keeps the run\'s decision when the window does not cap, or caps less', () => {
    expect(combineCaps(work, { reserveUsd: 2 }, undefined)).toEqual({ reserveUsd: 2 });
    expect(combineCaps(work, { reserveUsd: 0.6, maxItems: 30 }, 40)).toEqual({ reserveUsd: 0.6, maxItems: 30 });
  });

  it('reserves the window\'s cap at the work\'s mean cost per item', () => {
    expect(combineCaps(work, { reserveUsd: 2 }, 25)).toEqual({ reserveUsd: 0.5, maxItems: 25 });
    expect(combineCaps(work, { reserveUsd: 1.2, maxItems: 60 }, 25)).toEqual({ reserveUsd: 0.5, maxItems: 25 });
  });
});

describe('window status', () => {
  const policy: WindowPolicy = { everyMs: 10_000, items: 300, budgetUsd: 5 };

  it('numbers windows from 1 and says when the next may start', () => {
    const s = windowStatus(policy, win({ index: 1, startedAt: T0, items: 120, costUsd: 0.01234567891 }));
    expect(s).toEqual({
      number: 2, startedAt: '2026-12-02T00:00:00.000Z', items: 120, spentUsd: 0.012345679, itemsQuota: 300, budgetUsd: 5,
      everyMs: 10_000, nextStartAt: '2026-12-02T00:00:10.000Z', ended: false,
    });
  });

  it('shows the window\'s use, and while waiting when the next starts', () => {
    const s = windowStatus(policy, win({ items: 300, costUsd: 0.5, endedAt: T0 + 3000 }));
    expect(windowDetails(s, false)).toBe('window 1: 300/300 items, $0.5000/$5.00');
    expect(windowDetails(s, true)).toBe('window 1 done (300/300 items, $0.5000/$5.00); window 2 starts 2026-12-02T00:00:10.000Z');
    expect(windowDetails(windowStatus({ everyMs: 1000, items: 10 }, win({ items: 3 })), false)).toBe('window 1: 3/10 items');
  });
});

describe('ended windows', () => {
  it('are recorded with their span, items and spend, and shown numbered from 1', () => {
    const records: WindowRecord[] = [];
    const w = win({ items: 300, costUsd: 0.25 });
    endWindow(w, T0 + 4000, records);
    expect(w.endedAt).toBe(T0 + 4000);
    expect(records).toEqual([{ index: 0, startedAt: T0, endedAt: T0 + 4000, items: 300, costUsd: 0.25 }]);
    expect(windowRecordStatus(records[0]!)).toEqual({ number: 1, startedAt: '2026-12-02T00:00:00.000Z', endedAt: '2026-12-02T00:00:04.000Z', items: 300, spentUsd: 0.25 });
  });

  it('keep only the latest MAX_WINDOW_RECORDS, so a run of short windows stays small', () => {
    const records: WindowRecord[] = [];
    for (let i = 0; i < MAX_WINDOW_RECORDS + 5; i++) endWindow(win({ index: i }), T0 + i, records);
    expect(records).toHaveLength(MAX_WINDOW_RECORDS);
    expect(records[0]!.index).toBe(5);
    expect(records.at(-1)!.index).toBe(MAX_WINDOW_RECORDS + 4);
  });
});
