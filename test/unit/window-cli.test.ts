// --window, --per-window-items, --per-window-budget as a user types them, into the RunConfig;
// and how the CLI shows a run's windows.
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { addRunOptions, runConfigFrom, type RunOptions } from '../../src/cli/run.ts';
import { CliError } from '../../src/cli/options.ts';
import { stateHint, summaryTable, windowLine } from '../../src/cli/format.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';

function parse(args: string[]): RunOptions {
  const cmd = addRunOptions(new Command('run').argument('<file>').exitOverride().configureOutput({ writeErr: () => {} }));
  cmd.parse(['/in.jsonl', ...args], { from: 'user' });
  return cmd.opts<RunOptions>();
}

const refusal = (args: string[]): string => {
  try {
    runConfigFrom('/in.jsonl', parse(args));
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('window options', () => {
  it('go into the RunConfig as a window policy', () => {
    expect(runConfigFrom('/in.jsonl', parse(['--window', '24h', '--per-window-items', '100000'])).window).toEqual({ everyMs: 86_400_000, items: 100_000 });
    expect(runConfigFrom('/in.jsonl', parse(['--window', '10s', '--per-window-budget', '$2.50'])).window).toEqual({ everyMs: 10_000, budgetUsd: 2.5 });
    expect(runConfigFrom('/in.jsonl', parse(['--window', '1d', '--per-window-items', '5', '--per-window-budget', '1'])).window).toEqual({ everyMs: 86_400_000, items: 5, budgetUsd: 1 });
  });

  it('a run without them has no window', () => {
    expect(runConfigFrom('/in.jsonl', parse([])).window).toBeUndefined();
  });

  it('refuses a window without a quota, a quota without a window, and a zero window', () => {
    expect(refusal(['--window', '24h'])).toMatch(/--window needs a quota: --per-window-items N and\/or --per-window-budget USD/);
    expect(refusal(['--per-window-items', '10'])).toMatch(/need --window DURATION/);
    expect(refusal(['--window', '0s', '--per-window-items', '10'])).toMatch(/--window: the window must be at least 1 ms long/);
  });

  it('bad values name the option', () => {
    expect(() => parse(['--window', 'tomorrow', '--per-window-items', '5'])).toThrow(/--window <duration>.*expected a duration/);
    expect(() => parse(['--window', '1h', '--per-window-items', '0'])).toThrow(/--per-window-items <n>.*a whole number ≥ 1/);
  });
});

describe('how the CLI shows windows', () => {
  const NOW = Date.parse('2026-01-10T12:00:00Z');
  const base: RunStatus = {
    runId: 'run-w',
    state: 'running',
    priority: 3,
    counts: { total: 1000, succeeded: 420, failed: 0, rejected: 0, pending: 580 },
    costUsd: { spent: 0.5, reserved: 0.1, budget: null, overshoot: 0, estimateTotal: 1, upperBound: 2 },
    budgetState: 'none',
    circuit: { state: 'closed', openings: 0, probes: 0 },
    tokens: { prompt: 1, cached: 0, completion: 1, reasoning: 0 },
    chunks: { total: 10, done: 4, inFlight: [] },
    startedAt: '2026-01-10T11:59:00Z',
    updatedAt: '2026-01-10T12:00:00Z',
    window: { number: 2, startedAt: '2026-01-10T11:59:50Z', items: 120, spentUsd: 0.0123, itemsQuota: 300, budgetUsd: 5, everyMs: 10_000, nextStartAt: '2026-01-10T12:00:00Z', ended: false },
  };

  it('a window in progress: its use, and the earliest start of the next', () => {
    expect(windowLine(base, NOW - 5000)).toMatch(/^window 2 · 120\/300 items · \$0\.0123 of \$5\.00 · next window \S+ \(in 5s\) at the earliest$/);
    expect(windowLine({ ...base, window: undefined }, NOW)).toBeUndefined();
  });

  it('waiting: when the next window starts, and that pause and cancel act at once', () => {
    const waiting: RunStatus = { ...base, state: 'waiting_window', window: { ...base.window!, items: 300, ended: true } };
    expect(windowLine(waiting, NOW - 25_000)).toMatch(/^window 2 done \(300\/300 items, \$0\.0123 of \$5\.00\) · window 3 starts \S+ \(in 25s\)$/);
    expect(stateHint(waiting, NOW - 25_000)).toMatch(/^waiting for the next window: window 2 done .* \(in 25s\) \(llm-batch pause run-w or llm-batch cancel run-w act at once\)$/);
  });

  it('the summary table has a window row', () => {
    expect(summaryTable(base, 1000)).toMatch(/window\s+│\s+window 2 · 120\/300 items/);
  });
});
