// The CLI's pure line builders: cost, estimate, circuit, sample, hints, rate and ETA.
import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../../src/domain/run-types.ts';
import {
  batchesLine,
  cacheLine,
  pathsLine,
  circuitLine,
  costLine,
  estimateLine,
  etaSeconds,
  formatDuration,
  modelSwitchLine,
  plainLine,
  rateFromSnapshots,
  rateLine,
  sampleLine,
  stateHint,
  summaryTable,
  usd,
  watchLines,
} from '../../src/cli/format.ts';

const NOW = Date.parse('2026-01-10T12:00:00Z');

function status(over: Partial<RunStatus> = {}, cost: Partial<RunStatus['costUsd']> = {}): RunStatus {
  return {
    runId: 'run-abc',
    state: 'running',
    priority: 3,
    counts: { total: 1000, succeeded: 400, failed: 10, rejected: 2, pending: 590 },
    costUsd: { spent: 8.5, reserved: 1.25, budget: null, overshoot: 0, estimateTotal: 20.75, upperBound: 42, ...cost },
    budgetState: 'none',
    circuit: { state: 'closed', openings: 0, probes: 0 },
    tokens: { prompt: 1000, cached: 0, completion: 500, reasoning: 0 },
    chunks: { total: 2, done: 0, inFlight: ['run-abc/chunk-0', 'run-abc/chunk-1'] },
    startedAt: '2026-01-10T11:50:00Z',
    updatedAt: '2026-01-10T12:00:00Z',
    ...over,
  };
}

describe('costLine', () => {
  it('shows spent and reserved; no budget part without a budget', () => {
    expect(costLine(status())).toBe('spent $8.50 · reserved $1.25');
  });
  it('adds the budget with its state, and the overshoot only when > 0', () => {
    expect(costLine(status({ budgetState: 'yellow' }, { budget: 10 }))).toBe('spent $8.50 · reserved $1.25 · budget $10.00 (yellow)');
    expect(costLine(status({ budgetState: 'red' }, { spent: 10.3, reserved: 0, budget: 10, overshoot: 0.3 }))).toBe(
      'spent $10.30 · reserved $0.0000 · budget $10.00 (red) · overshoot $0.3000',
    );
  });
});

describe('estimateLine', () => {
  it('shows the total, what is left to finish and the upper bound while running', () => {
    expect(estimateLine(status())).toBe('$20.75 total ($12.25 to finish) · upper bound $42.00');
  });
  it('shows only the upper bound once the run is final', () => {
    expect(estimateLine(status({ state: 'completed' }))).toBe('upper bound was $42.00');
  });
});

describe('usd and durations', () => {
  it('prints cents above a dollar and four decimals below', () => {
    expect(usd(12.345)).toBe('$12.35');
    expect(usd(0.01234)).toBe('$0.0123');
    expect(usd(-0.5)).toBe('-$0.5000');
    expect(usd(0)).toBe('$0.0000');
    expect(usd(0.0000234)).toBe('$0.000023');
    expect(usd(0.00009999)).toBe('$0.000100');
  });
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
  });
});

describe('rate and ETA', () => {
  it('etaSeconds: remaining over rate; 0 when nothing is left; undefined when the rate says nothing', () => {
    expect(etaSeconds(100, 10)).toBe(10);
    expect(etaSeconds(0, 0)).toBe(0);
    expect(etaSeconds(-3, 5)).toBe(0);
    expect(etaSeconds(100, 0)).toBeUndefined();
    expect(etaSeconds(100, Number.NaN)).toBeUndefined();
    expect(etaSeconds(100, Number.POSITIVE_INFINITY)).toBeUndefined();
  });
  it('rateFromSnapshots: items done over time, within the window, robust to one snapshot and to no time', () => {
    expect(rateFromSnapshots([])).toBe(0);
    expect(rateFromSnapshots([{ t: 0, done: 5 }])).toBe(0);
    expect(rateFromSnapshots([{ t: 1000, done: 5 }, { t: 1000, done: 9 }])).toBe(0);
    expect(rateFromSnapshots([{ t: 0, done: 0 }, { t: 1000, done: 10 }, { t: 2000, done: 30 }])).toBe(15);
    // Only the last 30 s count: the early burst is left out.
    expect(rateFromSnapshots([{ t: 0, done: 0 }, { t: 10_000, done: 1000 }, { t: 40_000, done: 1300 }], 30_000)).toBe(10);
    // Paused: nothing moved.
    expect(rateFromSnapshots([{ t: 0, done: 50 }, { t: 5000, done: 50 }])).toBe(0);
  });
  it('rateLine shows the ETA from the rate while running, and why there is none otherwise', () => {
    expect(rateLine(status(), 5.9)).toBe('5.9 items/s · ETA 1m 40s · 10 failed · chunks 0/2, 2 in flight');
    expect(rateLine(status(), 0)).toContain('ETA –');
    expect(rateLine(status({ state: 'paused' }), 5)).toContain('ETA – (paused)');
  });
});

describe('circuit, model switch, sample', () => {
  it('shows no circuit line when it never opened', () => {
    expect(circuitLine(status(), NOW)).toBeUndefined();
  });
  it('shows an open circuit with its next probe, openings and probes', () => {
    const s = status({ state: 'circuit_open', circuit: { state: 'open', openedAt: '2026-01-10T11:59:30Z', nextProbeAt: '2026-01-10T12:00:25Z', openings: 2, probes: 3 } });
    const line = circuitLine(s, NOW)!;
    expect(line).toMatch(/^open since \S+ · next probe \S+ \(in 25s\) · opened 2× · 3 probes$/);
  });
  it('shows a circuit that opened and closed again', () => {
    expect(circuitLine(status({ circuit: { state: 'closed', openings: 1, probes: 1 } }), NOW)).toBe('closed · opened 1× · 1 probe');
  });
  it('shows the model switch', () => {
    expect(modelSwitchLine(status())).toBeUndefined();
    expect(modelSwitchLine(status({ modelSwitch: { from: 'gpt-4o', to: 'gpt-4o-mini', at: '2026-01-10T11:55:00Z', spentUsd: 8 } }))).toBe('gpt-4o → gpt-4o-mini at $8.00 spent');
  });
  it('shows the sample estimate with its 90% interval', () => {
    const s = status({ sample: { measured: 50, meanInputTokens: 120.4, meanOutputTokens: 80.6, meanCostUsd: 0.0021, totalUsd: { estimate: 2.1, low: 1.8, high: 2.4 } } });
    expect(sampleLine(s)).toBe('$0.0021/item over 50 measured (120 in / 81 out tokens) · total ≈ $2.10 (90%: $1.80–$2.40)');
  });
});

describe('hints', () => {
  it('tells the operator what moves the run on', () => {
    const sample = { measured: 50, meanInputTokens: 100, meanOutputTokens: 80, meanCostUsd: 0.002, totalUsd: { estimate: 2, low: 1.8, high: 2.4 } };
    expect(stateHint(status({ state: 'awaiting_approval', sample }))).toBe('awaiting approval (the sample extrapolates to $2.00, 90%: $1.80–$2.40): llm-batch approve run-abc (or llm-batch reject run-abc)');
    expect(stateHint(status({ state: 'budget_exhausted', budgetState: 'red' }, { budget: 10, spent: 10.1 }))).toBe(
      'budget reached ($10.10 spent of $10.00): llm-batch budget run-abc --raise USD (or llm-batch cancel run-abc)',
    );
    expect(stateHint(status({ state: 'paused' }))).toContain('llm-batch resume run-abc');
    expect(stateHint(status({ state: 'circuit_open', circuit: { state: 'open', nextProbeAt: '2026-01-10T12:01:00Z', openings: 1, probes: 0 } }), NOW)).toContain('(in 1m 00s); llm-batch probe run-abc');
    expect(stateHint(status())).toBeUndefined();
  });
});

describe('views', () => {
  it('watchLines: cost, rate, and the circuit while it is open', () => {
    const open = status({ state: 'circuit_open', circuit: { state: 'open', nextProbeAt: '2026-01-10T12:00:10Z', openings: 1, probes: 0 } });
    const [cost, rate, extra] = watchLines(open, 0, NOW);
    expect(cost).toBe('spent $8.50 · reserved $1.25');
    expect(rate).toContain('ETA – (circuit_open)');
    expect(extra).toMatch(/^open · next probe \S+ \(in 10s\) · opened 1× · 0 probes$/);
    expect(watchLines(status(), 1, NOW)[2]).toBe('');
  });
  it('plainLine: one line with state, progress and money', () => {
    expect(plainLine(status({ budgetState: 'green' }, { budget: 50 }))).toBe('running: 410/1,000 done, 10 failed, spent $8.50 · reserved $1.25 · budget $50.00 (green)');
  });
  it('summaryTable shows the optional rows only when they apply', () => {
    const plain = summaryTable(status({ state: 'completed' }), 10_000);
    expect(plain).toMatch(/cost\s+│ spent \$8\.50 · reserved \$1\.25/);
    for (const k of ['circuit', 'model switch', 'sample', 'last signal refused', 'priority']) expect(plain).not.toContain(k);
    const full = summaryTable(
      status({
        circuit: { state: 'closed', openings: 1, probes: 2 },
        modelSwitch: { from: 'gpt-4o', to: 'gpt-4o-mini', at: '2026-01-10T11:55:00Z', spentUsd: 8 },
        sample: { measured: 5, meanInputTokens: 1, meanOutputTokens: 1, meanCostUsd: 0.001, totalUsd: { estimate: 1, low: 0.9, high: 1.1 } },
        lastSignalError: 'approve: the run is not awaiting approval',
        priority: 1,
      }),
      10_000,
    );
    for (const k of ['circuit', 'model switch', 'sample', 'last signal refused', 'the run is not awaiting approval']) expect(full).toContain(k);
    expect(full).toMatch(/priority\s+│ 1 \(1 most urgent … 5 least\)/);
  });
});

describe('batch and hybrid lines', () => {
  const split = {
    realtime: { items: 40, succeeded: 40, failed: 0, costUsd: 0.004 },
    batch: { items: 260, succeeded: 100, failed: 0, costUsd: 0.005 },
    allRealtimeUsd: 0.014,
    savedUsd: 0.005,
  };

  it('shows each path and what all-realtime would have cost; nothing for a realtime run', () => {
    expect(pathsLine(status())).toBeUndefined();
    const line = pathsLine(status({ paths: split }))!;
    expect(line).toContain('realtime 40 items (40 routed)');
    expect(line).toContain('Batch API 100 items (260 routed)');
    expect(line).toContain(`all-realtime ${usd(0.014)} (saved ${usd(0.005)})`);
    expect(summaryTable(status({ paths: split }), 1000)).toContain('Batch API 100 items (260 routed)');
  });

  it('lists batches at the provider and says their spend cannot be stopped mid-batch', () => {
    expect(batchesLine(status())).toBeUndefined();
    const s = status({
      batches: [
        { chunkIndex: 0, phase: 'at_provider', submission: 0, batchId: 'batch_1', status: 'in_progress', lines: 50_000, completed: 1200, failed: 34 },
        { chunkIndex: 1, phase: 'waiting_provider_queue', submission: 1, lines: 0, completed: 0, failed: 0, note: 'token_limit_exceeded' },
      ],
    });
    const line = batchesLine(s)!;
    expect(line).toMatch(/^2 batches at the provider: 1,234\/50,000 in_progress, chunk 1 waiting on the provider's queue/);
    expect(line).toContain('cannot be stopped mid-batch');
    expect(plainLine(s)).toContain('2 batches at the provider (in_progress, waiting_provider_queue)');
  });
});

describe('cache line', () => {
  it('shows hits, their share of the items and the dollars saved; nothing without a hit', () => {
    expect(cacheLine(status())).toBeUndefined();
    expect(cacheLine(status({ cache: { hits: 0, savedUsd: 0 } }))).toBeUndefined();
    const s = status({ cache: { hits: 135, savedUsd: 0.0123 } });
    expect(cacheLine(s)).toBe(`135 hits (13.5% of items) · saved ${usd(0.0123)}`);
    expect(summaryTable(s, 1000)).toMatch(/cache\s+│ 135 hits \(13\.5% of items\) · saved \$0\.0123/);
    expect(plainLine(s)).toContain('cache 135 hits');
  });

  it('counts the semantic cache\'s hits among them, said apart', () => {
    const s = status({ cache: { hits: 135, semanticHits: 40, savedUsd: 0.0123 } });
    expect(cacheLine(s)).toBe(`135 hits (13.5% of items), 40 semantic · saved ${usd(0.0123)}`);
  });
});
