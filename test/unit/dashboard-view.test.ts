// The dashboard's arithmetic (domain/dashboard-view.ts): state and progress from counts, the
// budget's lines, the all-realtime cost, the spend curve, and what each lever saved.
import { describe, expect, it } from 'vitest';
import { leverSavings, runCurve, runView, type RunRow, type SpendRow } from '../../src/domain/dashboard-view.ts';

const run = (over: Partial<RunRow> = {}): RunRow => ({ runId: 'r', items: 100, succeeded: 0, failed: 0, costUsd: 0, batchCostUsd: 0, savedUsd: 0, ...over });
const spend = (key: string, over: Partial<SpendRow> = {}): SpendRow => ({ key, succeeded: 0, failed: 0, costUsd: 0, savedUsd: 0, semanticSavedUsd: 0, promptCacheSavedUsd: 0, ...over });

describe('runView', () => {
  it('is staged with nothing done, running with some, finished once every item has a result', () => {
    expect(runView(run(), 0.5)).toMatchObject({ state: 'staged', done: 0, pending: 100, progress: 0 });
    expect(runView(run({ succeeded: 30, failed: 10 }), 0.5)).toMatchObject({ state: 'running', done: 40, pending: 60, progress: 0.4 });
    expect(runView(run({ succeeded: 95, failed: 5 }), 0.5)).toMatchObject({ state: 'finished', pending: 0, progress: 1 });
    expect(runView(run({ items: 0 }), 0.5)).toMatchObject({ state: 'staged', progress: 0 });
  });

  it('draws yellow at the warn share of the budget and red at the budget, and says which side spend is on', () => {
    expect(runView(run({ costUsd: 5 }), 0.5)).toMatchObject({ budgetState: 'none' });
    expect(runView(run({ costUsd: 5 }), 0.5).redUsd).toBeUndefined();
    expect(runView(run({ budgetUsd: 10, budgetWarnAt: 0.8, costUsd: 7.99 }), 0.5)).toMatchObject({ yellowUsd: 8, redUsd: 10, budgetState: 'green' });
    expect(runView(run({ budgetUsd: 10, budgetWarnAt: 0.8, costUsd: 8 }), 0.5).budgetState).toBe('yellow');
    expect(runView(run({ budgetUsd: 10, budgetWarnAt: 0.8, costUsd: 10.5 }), 0.5).budgetState).toBe('red');
  });

  it('prices the Batch API share at realtime for the all-realtime cost', () => {
    const v = runView(run({ costUsd: 3, batchCostUsd: 1 }), 0.5);
    expect(v.allRealtimeUsd).toBe(4);
    expect(v.batchSavedUsd).toBe(1);
  });
});

describe('runCurve', () => {
  it('adds spend up minute by minute; latency is the mean of the minute\'s calls, null without calls', () => {
    expect(runCurve([
      { minute: '2026-12-01T10:00', succeeded: 3, failed: 1, costUsd: 0.5, rateLimited: 2, latencyMsSum: 900, latencyCount: 3 },
      { minute: '2026-12-01T10:01', succeeded: 2, failed: 0, costUsd: 0.25, rateLimited: 0, latencyMsSum: 0, latencyCount: 0 },
    ])).toEqual([
      { minute: '2026-12-01T10:00', done: 4, cumulativeUsd: 0.5, rateLimited: 2, meanLatencyMs: 300 },
      { minute: '2026-12-01T10:01', done: 2, cumulativeUsd: 0.75, rateLimited: 0, meanLatencyMs: null },
    ]);
  });
});

describe('leverSavings', () => {
  it('splits cache savings into exact and semantic, adds the prompt cache and the Batch API, and leaves out levers that saved nothing', () => {
    const byMode = [
      spend('cache', { savedUsd: 3, semanticSavedUsd: 1 }),
      spend('realtime', { costUsd: 10, promptCacheSavedUsd: 0.5 }),
      spend('batch', { costUsd: 2, promptCacheSavedUsd: 0.25 }),
    ];
    expect(leverSavings(byMode, 0.5)).toEqual([
      { lever: 'exact cache', savedUsd: 2 },
      { lever: 'semantic cache', savedUsd: 1 },
      { lever: 'prompt cache', savedUsd: 0.75 },
      { lever: 'Batch API', savedUsd: 2 },
    ]);
    expect(leverSavings([spend('realtime', { costUsd: 10 })], 0.5)).toEqual([]);
  });
});
