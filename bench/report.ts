// The printed result of a scenario: one table (baseline, llm-batch, ratio) and its verdicts,
// and on request (BENCH_PROFILE=1) the per-second profile each side left at the emulator.
import Table from 'cli-table3';
import type { BenchInput } from './input.ts';
import { perSecondProfile, type LimitKind } from './measure.ts';
import { idealWallMs, type Scenario } from './scenarios.ts';
import type { SideResult } from './sides.ts';

export interface ScenarioResult {
  scenario: Scenario;
  input: BenchInput;
  binding?: LimitKind;
  baseline: SideResult;
  llmBatch: SideResult;
}

export interface Verdict {
  pass: boolean;
  text: string;
}

const f1 = (n: number): string => n.toFixed(1);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);
const itemsPerSec = (r: SideResult): number => r.succeeded / (r.wallMs / 1000);
const rate429 = (r: SideResult): number => (r.stats.requests ? r.stats.rateLimited / r.stats.requests : 0);
const sec = (ms?: number): string => (ms === undefined ? 'n/a' : `${f1(Math.max(0, ms) / 1000)} s`);
/** "12.3" for one process, "12.3 (4.1 + 4.0 + 4.2)" for several. */
const perProcess = (total: number, each: number[]): string => (each.length > 1 ? `${f1(total)} (${each.map(f1).join(' + ')})` : f1(total));

export function report(r: ScenarioResult): { table: string; verdicts: Verdict[] } {
  const { baseline: a, llmBatch: b, scenario: s } = r;
  const n = s.processes;
  const table = new Table({ head: [s.title, n > 1 ? `baseline: ${n} scripts` : 'baseline', n > 1 ? `llm-batch: ${n} workers + Redis` : 'llm-batch', 'llm-batch / baseline'], style: { head: [], border: [] } });
  const row = (label: string, va: string, vb: string, ra = '') => table.push([label, va, vb, ra]);
  const ideal = idealWallMs(s, r.input);
  row('items succeeded / failed', `${int(a.succeeded)} / ${int(a.failed)}`, `${int(b.succeeded)} / ${int(b.failed)}`);
  row('wall time, start of work → last result', sec(a.wallMs), sec(b.wallMs), ratio(b.wallMs, a.wallMs));
  row('  of which: start → first call served', sec(a.firstCallMs), sec(b.firstCallMs));
  row('  of which: last call served → result', sec(a.tailMs), sec(b.tailMs));
  row('wall time, first → last call served (emulator)', sec(a.servedSpanMs), sec(b.servedSpanMs), ratio(b.servedSpanMs, a.servedSpanMs));
  if (ideal !== undefined) {
    const toIdeal = (x: SideResult) => (x.servedSpanMs === undefined ? 'n/a' : `${(x.servedSpanMs / ideal).toFixed(2)}×${x.failed ? ` (${int(x.failed)} items failed)` : ''}`);
    row('  ideal for the provider (bucket at once, rest at refill)', sec(ideal), sec(ideal));
    row('  first → last call served ÷ ideal', toIdeal(a), toIdeal(b));
  }
  row('items/s (succeeded ÷ wall time)', f1(itemsPerSec(a)), f1(itemsPerSec(b)), ratio(itemsPerSec(b), itemsPerSec(a)));
  if (r.binding) {
    const steadyCell = (x: SideResult, k: LimitKind, limit: number) =>
      x.steady ? `${int(x.steady[k].perMinute)}/min = ${pct(x.steady[k].fraction)} of ${int(limit)}` : 'n/a (no steady state)';
    const window = (x: SideResult) => (x.steady ? `${f1(x.steady.fromMs / 1000)}–${f1(x.steady.toMs / 1000)} s` : 'n/a');
    row('steady-state window (after first admission)', window(a), window(b));
    const mark = (k: LimitKind) => (r.binding === k ? ' (binding)' : '');
    row(`achieved RPM, steady state${mark('requests')}`, steadyCell(a, 'requests', s.rpm!), steadyCell(b, 'requests', s.rpm!), ratio(b.steady?.requests.fraction, a.steady?.requests.fraction));
    row(`achieved TPM, steady state${mark('tokens')}`, steadyCell(a, 'tokens', s.tpm!), steadyCell(b, 'tokens', s.tpm!), ratio(b.steady?.tokens.fraction, a.steady?.tokens.fraction));
    row(
      'binding limit: share of capacity incl. initial full bucket',
      a.steady ? pct(a.steady.burstInclusiveFraction) : 'n/a',
      b.steady ? pct(b.steady.burstInclusiveFraction) : 'n/a',
      ratio(b.steady?.burstInclusiveFraction, a.steady?.burstInclusiveFraction),
    );
  }
  row('calls received by the emulator', int(a.stats.requests), int(b.stats.requests), ratio(b.stats.requests, a.stats.requests));
  row('429 answers (% of calls)', `${int(a.stats.rateLimited)} (${pct(rate429(a))})`, `${int(b.stats.rateLimited)} (${pct(rate429(b))})`);
  const sum = n > 1 ? ', sum over the processes' : '';
  row(`CPU time of the process${n > 1 ? 'es' : ''} doing the work (s)`, perProcess(a.memory.cpuSeconds, a.cpuPerProcess), perProcess(b.memory.cpuSeconds, b.cpuPerProcess), ratio(b.memory.cpuSeconds, a.memory.cpuSeconds));
  row('  + CPU time of the Temporal dev server (s)', 'n/a', f1(b.serverCpuSeconds ?? 0));
  row(`worker RSS when the run started, idle (MiB${sum})`, 'n/a', f1(b.memory.atStartMiB));
  row(`peak RSS during the work, sampled (MiB${sum})`, f1(a.memory.sampledPeakMiB), f1(b.memory.sampledPeakMiB), ratio(b.memory.sampledPeakMiB, a.memory.sampledPeakMiB));
  row(`VmHWM, whole process life (MiB${sum})`, f1(a.memory.vmHwmMiB), f1(b.memory.vmHwmMiB), ratio(b.memory.vmHwmMiB, a.memory.vmHwmMiB));
  return { table: table.toString(), verdicts: verdicts(r, ideal) };
}

function verdicts(r: ScenarioResult, ideal: number | undefined): Verdict[] {
  const { baseline: a, llmBatch: b, scenario: s } = r;
  const t = s.target;
  if (t.kind === 'throughput') {
    const x = itemsPerSec(b) / itemsPerSec(a);
    return [{ pass: x >= t.itemsPerSecRatio && b.failed === 0, text: `${s.name}: llm-batch items/s is ${pct(x)} of the baseline's (target ≥ ${pct(t.itemsPerSecRatio)})` }];
  }
  const k = r.binding!;
  const frac = b.steady?.[k].fraction ?? 0;
  const share429 = rate429(b);
  const who = s.processes > 1 ? `${s.processes} llm-batch workers together reach` : 'llm-batch reaches';
  const out: Verdict[] = [
    {
      pass: frac >= t.steady && share429 < t.max429 && b.failed === 0,
      text: `${s.name}: ${who} ${pct(frac)} of the binding ${k === 'tokens' ? 'TPM' : 'RPM'} limit in the steady state (target ≥ ${pct(t.steady)}) with ${pct(share429)} of calls answered 429 (target < ${pct(t.max429)}), ${b.failed} failed`,
    },
  ];
  if (t.idealFactor !== undefined && ideal !== undefined) {
    const x = b.servedSpanMs === undefined ? Infinity : b.servedSpanMs / ideal;
    out.push({
      pass: x <= t.idealFactor,
      text: `${s.name}: llm-batch's first → last call served is ${sec(b.servedSpanMs)} = ${x.toFixed(2)}× the provider's ideal ${sec(ideal)} (target ≤ ${t.idealFactor}×)`,
    });
  }
  return out;
}

/** Per-second served / 429 / tokens / lowest bucket level of each side, for stderr. */
export function profileText(r: ScenarioResult): string {
  if (!r.binding) return '';
  const out: string[] = [];
  for (const [name, side] of [['baseline', r.baseline], ['llm-batch', r.llmBatch]] as const) {
    out.push(`${r.scenario.name} ${name}: second, served, 429, tokens charged, lowest ${r.binding} level`);
    for (const p of perSecondProfile(side.samples, r.binding)) out.push(`  ${String(p.second).padStart(3)} ${String(p.served).padStart(5)} ${String(p.rateLimited).padStart(5)} ${String(p.tokens).padStart(7)} ${String(p.minLevel).padStart(7)}`);
  }
  return out.join('\n');
}
