// How the CLI shows a run: a live multi-line view on a TTY, plain lines when piped, and
// the summary table at the end. Colours only on a TTY. The line builders are pure
// functions of a RunStatus (and the time), so they are unit-tested without a terminal.
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { FINAL_STATES, type BudgetState, type RunStatus } from '../domain/run-types.ts';
import { DEFAULT_PRIORITY } from '../domain/priority.ts';
import { qualityHoldHint, spotCheckFailuresText, spotCheckLine } from './spot-check-format.ts';

export const isTty = (): boolean => Boolean(process.stdout.isTTY);
const paint = (code: number) => (s: string): string => (isTty() && !process.env.NO_COLOR ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = paint(1);
export const green = paint(32);
export const yellow = paint(33);
export const red = paint(31);
export const dim = paint(2);

/** Cents from a dollar up, four decimals below, and two significant digits for less than $0.0001 (costs per item). */
export function usd(n: number): string {
  const a = Math.abs(n);
  const digits = a >= 1 ? 2 : a >= 0.0001 || a === 0 ? 4 : Math.min(12, 1 - Math.floor(Math.log10(a)));
  return `${n < 0 ? '-' : ''}$${a.toFixed(digits)}`;
}
export const int = (n: number): string => n.toLocaleString('en-US');

const isFinal = (s: RunStatus): boolean => FINAL_STATES.includes(s.state);
const itemsDone = (s: RunStatus): number => s.counts.succeeded + s.counts.failed;

const paintBudget = (b: BudgetState): string => (b === 'green' ? green(b) : b === 'yellow' ? yellow(b) : b === 'red' ? red(b) : b);

function paintState(s: RunStatus): string {
  if (s.state === 'completed') return green(s.state);
  if (isFinal(s)) return red(s.state);
  if (['paused', 'awaiting_approval', 'budget_exhausted', 'circuit_open', 'quality_hold'].includes(s.state)) return yellow(s.state);
  return s.state;
}

/** `spent $x · reserved $y · budget $z (yellow) · overshoot $w`: budget only when there is one, overshoot only when > 0. */
export function costLine(s: RunStatus): string {
  const c = s.costUsd;
  const parts = [`spent ${usd(c.spent)}`, `reserved ${usd(c.reserved)}`];
  if (c.budget !== null) parts.push(`budget ${usd(c.budget)} (${paintBudget(s.budgetState)})`);
  if (c.overshoot > 0) parts.push(`overshoot ${usd(c.overshoot)}`);
  return parts.join(' · ');
}

/** The estimate to finish and in total while the run goes on; the staging upper bound always. */
export function estimateLine(s: RunStatus): string {
  const c = s.costUsd;
  if (isFinal(s)) return `upper bound was ${usd(c.upperBound)}`;
  const toFinish = Math.max(0, c.estimateTotal - c.spent);
  return `${usd(c.estimateTotal)} total (${usd(toFinish)} to finish) · upper bound ${usd(c.upperBound)}`;
}

/** `42s`, `3m 05s`, `1h 02m`. */
export function formatDuration(seconds: number): string {
  const t = Math.max(0, Math.round(seconds));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m ${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h ${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

const clock = (iso: string): string => new Date(iso).toLocaleTimeString('en-GB', { hour12: false });

/** When a moment is, as a clock time and relative to now: `12:00:30 (in 25s)`. */
export function when(iso: string, now: number): string {
  const dt = (Date.parse(iso) - now) / 1000;
  return `${clock(iso)} (${dt >= 0 ? `in ${formatDuration(dt)}` : `${formatDuration(-dt)} ago`})`;
}

/** The circuit, only if it ever opened: state, next probe while open, openings and probes. */
export function circuitLine(s: RunStatus, now: number = Date.now()): string | undefined {
  const c = s.circuit;
  if (!c || c.openings === 0) return undefined;
  const parts: string[] = [c.state === 'closed' ? 'closed' : red(c.state.replace('_', '-'))];
  if (c.state !== 'closed' && c.openedAt) parts[0] += ` since ${clock(c.openedAt)}`;
  if (c.state === 'open' && c.nextProbeAt) parts.push(`next probe ${when(c.nextProbeAt, now)}`);
  parts.push(`opened ${c.openings}×`, `${c.probes} probe${c.probes === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

/** `gpt-4o → gpt-4o-mini at $8.00 spent`. */
export function modelSwitchLine(s: RunStatus): string | undefined {
  const m = s.modelSwitch;
  return m ? `${m.from} → ${m.to} at ${usd(m.spentUsd)} spent` : undefined;
}

/** What the sample measured and the total it extrapolates to, with its 90% interval. */
export function sampleLine(s: RunStatus): string | undefined {
  const x = s.sample;
  if (!x) return undefined;
  const t = x.totalUsd;
  return `${usd(x.meanCostUsd)}/item over ${int(x.measured)} measured (${Math.round(x.meanInputTokens)} in / ${Math.round(x.meanOutputTokens)} out tokens) · total ≈ ${usd(t.estimate)} (90%: ${usd(t.low)}–${usd(t.high)})`;
}

/**
 * The provider's prompt cache: `62.5% of prompt tokens cached · saved $0.0123` (and the tokens
 * staging found eligible); nothing when no prompt could be cached and none was.
 */
export function promptCacheLine(s: RunStatus): string | undefined {
  const c = s.promptCache;
  if (!c || (s.tokens.cached === 0 && !c.eligibleTokens)) return undefined;
  const parts = [`${(c.hitShare * 100).toFixed(1)}% of prompt tokens cached`, `saved ${usd(c.savedUsd)}`];
  if (c.eligibleTokens) parts.push(`${int(c.eligibleTokens)} tokens eligible in shared prefixes`);
  return parts.join(' · ');
}

/**
 * --window: `window 2 · 120/300 items · $0.0123 of $5.00 · next window 12:00:30 (in 25s)`;
 * while the run waits, `window 2 done (…) · window 3 starts 12:00:30 (in 25s)`.
 */
export function windowLine(s: RunStatus, now: number = Date.now()): string | undefined {
  const w = s.window;
  if (!w) return undefined;
  const use = [w.itemsQuota !== undefined ? `${int(w.items)}/${int(w.itemsQuota)} items` : `${int(w.items)} items`];
  if (w.budgetUsd !== undefined) use.push(`${usd(w.spentUsd)} of ${usd(w.budgetUsd)}`);
  if (s.state === 'waiting_window') return `window ${w.number} done (${use.join(', ')}) · window ${w.number + 1} starts ${when(w.nextStartAt, now)}`;
  return [`window ${w.number}`, ...use, isFinal(s) ? undefined : `next window ${when(w.nextStartAt, now)} at the earliest`].filter(Boolean).join(' · ');
}

/** What an operator can do about the run's state now, or nothing. */
export function stateHint(s: RunStatus, now: number = Date.now()): string | undefined {
  const id = s.runId;
  switch (s.state) {
    case 'awaiting_approval': {
      const est = s.sample ? ` (the sample extrapolates to ${usd(s.sample.totalUsd.estimate)}, 90%: ${usd(s.sample.totalUsd.low)}–${usd(s.sample.totalUsd.high)})` : '';
      return `awaiting approval${est}: llm-batch approve ${id} (or llm-batch reject ${id})`;
    }
    case 'budget_exhausted':
      return `budget reached (${usd(s.costUsd.spent)} spent of ${s.costUsd.budget === null ? 'no budget' : usd(s.costUsd.budget)}): llm-batch budget ${id} --raise USD (or llm-batch cancel ${id})`;
    case 'paused':
      return `paused: llm-batch resume ${id} (or llm-batch cancel ${id})`;
    case 'quality_hold':
      return qualityHoldHint(s);
    case 'circuit_open': {
      const next = s.circuit?.nextProbeAt ? `, next probe ${when(s.circuit.nextProbeAt, now)}` : '';
      return `circuit open: the provider is failing${next}; llm-batch probe ${id} probes now`;
    }
    case 'waiting_window':
      return `waiting for the next window: ${windowLine(s, now) ?? ''} (llm-batch pause ${id} or llm-batch cancel ${id} act at once)`;
    default:
      return undefined;
  }
}

/** A point of progress: when, and how many items were done. */
export interface Snapshot {
  t: number;
  done: number;
}

/**
 * Items per second over the last `windowMs` of snapshots (oldest first). 0 when there is
 * not yet a time span to measure over, or nothing moved.
 */
export function rateFromSnapshots(snaps: readonly Snapshot[], windowMs = 30_000): number {
  if (snaps.length < 2) return 0;
  const last = snaps[snaps.length - 1]!;
  const first = snaps.find((p) => last.t - p.t <= windowMs) ?? snaps[0]!;
  const dt = (last.t - first.t) / 1000;
  const dd = last.done - first.done;
  return dt > 0 && dd > 0 ? dd / dt : 0;
}

/** Seconds left at `ratePerSecond`; 0 when nothing is left, undefined when the rate says nothing. */
export function etaSeconds(remaining: number, ratePerSecond: number): number | undefined {
  if (!(remaining > 0)) return 0;
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) return undefined;
  return remaining / ratePerSecond;
}

/** Batch and hybrid: `realtime 40 items (40 routed) $0.0012 · Batch API 100 items (260 routed) $0.0040 · all-realtime $0.0092 (saved $0.0040)`. */
export function pathsLine(s: RunStatus): string | undefined {
  const p = s.paths;
  if (!p) return undefined;
  // Done on each path, next to what planning routed there: the sample, --deadline and
  // --on-batch-failure realtime move items from the Batch API to realtime.
  const path = (name: string, t: { items: number; succeeded: number; failed: number; costUsd: number }): string => `${name} ${int(t.succeeded + t.failed)} items (${int(t.items)} routed) ${usd(t.costUsd)}`;
  return `${path('realtime', p.realtime)} · ${path('Batch API', p.batch)} · all-realtime ${usd(p.allRealtimeUsd)} (saved ${usd(p.savedUsd)})`;
}

/**
 * The caches: `540 hits (13.5% of items) · saved $0.0123`, with `, 40 semantic` after the share
 * when the semantic cache answered some of them; nothing before the first hit.
 */
export function cacheLine(s: RunStatus): string | undefined {
  const c = s.cache;
  if (!c || c.hits === 0) return undefined;
  const share = s.counts.total > 0 ? ` (${((100 * c.hits) / s.counts.total).toFixed(1)}% of items)` : '';
  const semantic = c.semanticHits ? `, ${int(c.semanticHits)} semantic` : '';
  return `${int(c.hits)} hit${c.hits === 1 ? '' : 's'}${share}${semantic} · saved ${usd(c.savedUsd)}`;
}

/**
 * The batches at the provider: `2 batches at the provider: 1,234/50,000 in_progress, …`.
 * Their spend counts when they are collected and cannot be stopped mid-batch.
 */
export function batchesLine(s: RunStatus): string | undefined {
  const views = s.batches ?? [];
  if (views.length === 0) return undefined;
  const one = (b: (typeof views)[number]): string =>
    b.phase === 'waiting_provider_queue'
      ? `chunk ${b.chunkIndex} waiting on the provider's queue${b.nextCheckAt ? ` (again ${when(b.nextCheckAt, Date.now())})` : ''}`
      : b.batchId
        ? `${int(b.completed + b.failed)}/${int(b.lines)} ${b.status ?? b.phase}`
        : `chunk ${b.chunkIndex} ${b.phase}`;
  return `${views.length} batch${views.length === 1 ? '' : 'es'} at the provider: ${views.map(one).join(', ')} (their spend counts when collected; it cannot be stopped mid-batch)`;
}

/** `12.3 items/s · ETA 1m 35s · 3 failed · chunks 2/5, 2 in flight`. */
export function rateLine(s: RunStatus, ratePerSecond: number): string {
  const eta = etaSeconds(s.counts.pending, ratePerSecond);
  const etaText = s.state !== 'running' && !isFinal(s) ? `ETA – (${s.state})` : eta === undefined ? 'ETA –' : `ETA ${formatDuration(eta)}`;
  return [
    `${ratePerSecond.toFixed(1)} items/s`,
    etaText,
    `${int(s.counts.failed)} failed`,
    `chunks ${s.chunks.done}/${s.chunks.total}, ${s.chunks.inFlight.length} in flight`,
  ].join(' · ');
}

/** The lines under the bar of the live view. */
export function watchLines(s: RunStatus, ratePerSecond: number, now: number = Date.now()): [string, string, string] {
  const extra = (s.circuit?.state !== 'closed' ? circuitLine(s, now) : undefined) ?? stateHint(s, now) ?? batchesLine(s) ?? modelSwitchLine(s) ?? pathsLine(s) ?? '';
  return [costLine(s), rateLine(s, ratePerSecond), extra];
}

/** One line for logs and pipes; printed only when it changes. */
export function plainLine(s: RunStatus): string {
  const parts = [`${s.state}: ${int(itemsDone(s))}/${int(s.counts.total)} done`, `${int(s.counts.failed)} failed`, costLine(s)];
  if (s.cache && s.cache.hits > 0) parts.push(`cache ${cacheLine(s)}`);
  if (s.circuit && s.circuit.state !== 'closed') parts.push(`circuit ${s.circuit.state}`);
  const batches = s.batches ?? [];
  if (batches.length > 0) parts.push(`${batches.length} batch${batches.length === 1 ? '' : 'es'} at the provider (${batches.map((b) => b.status ?? b.phase).join(', ')})`);
  return parts.join(', ');
}

export interface ProgressView {
  update(s: RunStatus): void;
  /** A line that stays (a hint to the operator), above the live view on a TTY. */
  note(line: string): void;
  stop(): void;
}

/** The live view: a bar and three lines redrawn in place on a TTY; a line per change otherwise. */
export function progressView(): ProgressView {
  const snaps: Snapshot[] = [];
  const record = (s: RunStatus): number => {
    const now = Date.now();
    snaps.push({ t: now, done: itemsDone(s) });
    while (snaps.length > 2 && now - snaps[0]!.t > 60_000) snaps.shift();
    return rateFromSnapshots(snaps);
  };
  if (isTty()) {
    const multi = new cliProgress.MultiBar(
      { stream: process.stdout, hideCursor: true, clearOnComplete: false, linewrap: false, format: ' {bar} {percentage}% | {value}/{total} items | {state}' },
      cliProgress.Presets.shades_classic,
    );
    const text = (_o: unknown, _p: unknown, payload: { text?: string }): string => ` ${payload.text ?? ''}`;
    let bar: cliProgress.SingleBar | undefined;
    let lines: cliProgress.SingleBar[] = [];
    // Ctrl-C while watching: leave the terminal as it was (cursor back), then the default exit.
    const onSigint = (): void => {
      if (bar) multi.stop();
      process.kill(process.pid, 'SIGINT');
    };
    process.once('SIGINT', onSigint);
    return {
      update(s) {
        const rate = record(s);
        const total = Math.max(1, s.counts.total);
        const texts = watchLines(s, rate);
        if (!bar) {
          bar = multi.create(total, itemsDone(s), { state: paintState(s) });
          lines = texts.map((t) => multi.create(1, 0, { text: t }, { format: text as never }));
        }
        bar.setTotal(total);
        bar.update(itemsDone(s), { state: paintState(s) });
        texts.forEach((t, i) => lines[i]!.update(0, { text: t }));
        multi.update();
      },
      note(line) {
        if (bar) multi.log(`${line}\n`);
        else console.log(line);
      },
      stop() {
        process.removeListener('SIGINT', onSigint);
        if (bar) multi.stop();
      },
    };
  }
  let last = '';
  return {
    update(s) {
      const line = plainLine(s);
      if (line !== last) console.log(line);
      last = line;
    },
    note: (line) => console.log(line),
    stop() {},
  };
}

export function summaryTable(s: RunStatus, wallMs: number): string {
  const table = new Table({ style: { head: isTty() ? ['cyan'] : [], border: isTty() ? ['grey'] : [] } });
  const rows: Record<string, string>[] = [
    { 'run': s.runId },
    { 'state': paintState(s) },
    // Only a run of another --priority than the default says so (a run from before it has none).
    ...(s.priority !== undefined && s.priority !== DEFAULT_PRIORITY ? [{ 'priority': `${s.priority} (1 most urgent … 5 least)` }] : []),
    { 'items ok': int(s.counts.succeeded) },
    { 'items failed': int(s.counts.failed) },
    { 'lines rejected': int(s.counts.rejected) },
    { 'items not done': int(s.counts.pending) },
    { 'tokens in / cached / out': `${int(s.tokens.prompt)} / ${int(s.tokens.cached)} / ${int(s.tokens.completion)}` },
    { 'cost': costLine(s) },
    { 'estimate': estimateLine(s) },
  ];
  const optional: [string, string | undefined][] = [
    ['circuit', circuitLine(s)],
    ['model switch', modelSwitchLine(s)],
    ['sample', sampleLine(s)],
    ['spot-checks', spotCheckLine(s, usd)],
    ['failing (held)', spotCheckFailuresText(s)],
    ['paths', pathsLine(s)],
    ['window', windowLine(s)],
    ['cache', cacheLine(s)],
    ['prompt cache', promptCacheLine(s)],
    ['deadline', s.deadline ? `${s.deadline.at}${s.deadline.passed ? ' (passed: the rest went realtime)' : ''}` : undefined],
    ['last signal refused', s.lastSignalError],
    ['error', s.error],
  ];
  for (const [k, v] of optional) if (v) rows.push({ [k]: v });
  for (const w of s.warnings ?? []) rows.push({ [yellow('warning')]: w });
  rows.push({ 'wall time': `${(wallMs / 1000).toFixed(1)} s` }, { 'items/s': (itemsDone(s) / Math.max(0.001, wallMs / 1000)).toFixed(1) });
  table.push(...rows);
  return table.toString();
}
