// What an alert says: a Slack-compatible payload (Slack incoming webhooks read `text`,
// written in mrkdwn) that also carries the event and a machine-readable summary, so any
// other receiver can use the JSON. Pure: the run workflow builds it, an activity sends it.

export type AlertEvent =
  | 'budget_yellow'
  | 'budget_red'
  | 'circuit_open'
  | 'circuit_closed'
  | 'awaiting_approval'
  /** A spot-check's pass rate fell below the minimum: the detail lists failing items and reasons. */
  | 'quality_hold'
  | 'completed'
  | 'failed'
  | 'cancelled';

export interface AlertSummary {
  runId: string;
  state: string;
  done: number;
  remaining: number;
  total: number;
  spentUsd: number;
  budgetUsd: number | null;
  estimateToFinishUsd: number;
  /** The event's particulars: the sample's estimate, the error, the next probe… */
  detail?: string;
}

export interface AlertPayload {
  text: string;
  event: AlertEvent;
  runId: string;
  /** ISO time of the event. */
  at: string;
  summary: AlertSummary;
}

/** Thousands separators, without relying on Intl. */
function groupDigits(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 1200 → "1,200". */
export function formatCount(n: number): string {
  const sign = n < 0 ? '-' : '';
  return sign + groupDigits(String(Math.round(Math.abs(n))));
}

/** $1,234.56; four decimals below $1 ($0.0123); $0.00 for nothing. */
export function formatUsd(usd: number): string {
  const abs = Math.abs(usd);
  const digits = abs > 0 && abs < 1 ? 4 : 2;
  const [int, frac] = abs.toFixed(digits).split('.');
  return `${usd < 0 ? '-' : ''}$${groupDigits(int!)}.${frac}`;
}

/** Slack mrkdwn treats &, < and > as control characters: escape them in free text. */
const escapeMrkdwn = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const MAX_DETAIL = 500;

/** The event's emoji and what happened. */
function lead(event: AlertEvent, s: AlertSummary): [string, string] {
  switch (event) {
    case 'budget_yellow': {
      const pct = s.budgetUsd ? `${Math.floor((s.spentUsd / s.budgetUsd) * 100 + 1e-9)}%` : 'the warning level';
      return [':warning:', `budget at ${pct} (yellow)`];
    }
    case 'budget_red':
      return [':octagonal_sign:', 'budget reached (red), waiting for an operator to raise it'];
    case 'circuit_open':
      return [':red_circle:', 'circuit opened, the provider is unavailable; probing before resuming'];
    case 'circuit_closed':
      return [':large_green_circle:', 'circuit closed, the provider answers again; resuming'];
    case 'awaiting_approval':
      return [':raised_hand:', 'sample measured, awaiting approval'];
    case 'quality_hold':
      return [':mag:', 'spot-check below the minimum pass rate, holding for approve or reject'];
    case 'completed':
      return [':white_check_mark:', 'completed'];
    case 'failed':
      return [':x:', 'failed'];
    case 'cancelled':
      return [':no_entry_sign:', 'cancelled'];
  }
}

function figures(s: AlertSummary): string {
  const parts = [`${formatCount(s.done)}/${formatCount(s.total)} done`];
  parts.push(s.budgetUsd === null ? `${formatUsd(s.spentUsd)} spent (no budget)` : `${formatUsd(s.spentUsd)} of ${formatUsd(s.budgetUsd)} spent`);
  if (s.remaining > 0) parts.push(`~${formatUsd(s.estimateToFinishUsd)} to finish`);
  return parts.join(' · ');
}

export function alertPayload(event: AlertEvent, summary: AlertSummary, at: string): AlertPayload {
  const [emoji, what] = lead(event, summary);
  let text = `${emoji} *llm-batch ${escapeMrkdwn(summary.runId)}*: ${what} · ${figures(summary)}`;
  if (summary.detail) {
    // One line, and not a whole stack: the summary keeps the full detail.
    const line = summary.detail.replace(/\s*\n\s*/g, ' ').trim();
    text += `\n${escapeMrkdwn(line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL - 1)}…` : line)}`;
  }
  return { text, event, runId: summary.runId, at, summary };
}
