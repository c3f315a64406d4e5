// How the CLI shows a run's spot-checks (`run --spot-check N`): each checkpoint's pass rate,
// and while the run is held, the failing items and why. Pure functions of a RunStatus.
import type { RunStatus } from '../domain/run-types.ts';

/** Checkpoints shown in the table (the status JSON has up to 50). */
const SHOWN = 8;

const pct = (x: number): string => `${(Math.round(x * 1000) / 10).toString()}%`;

/** `#1 80% (16/20) hold → approved · #2 100% (20/20) · gate 95% · judge $0.0012`, or nothing without checkpoints. */
export function spotCheckLine(s: RunStatus, usd: (n: number) => string): string | undefined {
  const q = s.quality;
  if (!q) return undefined;
  const list = q.checkpoints.slice(-SHOWN).map((c) => {
    const outcome = c.outcome === 'pass' ? '' : c.outcome === 'hold' ? ' HOLD' : ` held → ${c.outcome}`;
    return `#${c.index} ${pct(c.passRate)} (${c.passed}/${c.checked})${outcome}`;
  });
  const earlier = q.checkpoints.length > SHOWN ? [`${q.checkpoints.length - SHOWN} earlier`] : [];
  const parts = [...earlier, ...(list.length ? list : ['no checkpoint yet']), `gate ${pct(q.minPassRate)}`];
  if (q.judgeCostUsd > 0) parts.push(`judge ${usd(q.judgeCostUsd)}`);
  return parts.join(' · ');
}

/** The held checkpoint's failing items, one `custom_id: reason` per line, or nothing when not held. */
export function spotCheckFailuresText(s: RunStatus): string | undefined {
  const q = s.quality;
  const held = q?.holding === undefined ? undefined : q.checkpoints.find((c) => c.index === q.holding);
  if (!held) return undefined;
  const more = held.checked - held.passed - held.failures.length;
  return [...held.failures.map((f) => `${f.customId}: ${f.reason}`), ...(more > 0 ? [`… and ${more} more`] : [])].join('\n');
}

/** The hint for a run in quality_hold. */
export function qualityHoldHint(s: RunStatus): string {
  const q = s.quality;
  const held = q?.holding === undefined ? undefined : q.checkpoints.find((c) => c.index === q.holding);
  const what = held && q ? `checkpoint ${held.index} passed ${pct(held.passRate)} (${held.passed}/${held.checked}), below ${pct(q.minPassRate)}` : 'a spot-check fell below --min-pass-rate';
  return `quality hold: ${what}; see the failing items with llm-batch status ${s.runId}; continue with llm-batch approve ${s.runId} (or stop with llm-batch reject ${s.runId})`;
}
