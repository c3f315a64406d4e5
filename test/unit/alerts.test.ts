import { describe, expect, it } from 'vitest';
import { alertPayload, formatCount, formatUsd, type AlertEvent, type AlertSummary } from '../../src/domain/alerts.ts';

const AT = '2026-11-02T09:30:00.000Z';
const summary = (over: Partial<AlertSummary> = {}): AlertSummary => ({
  runId: 'run-abc',
  state: 'running',
  done: 1200,
  remaining: 3800,
  total: 5000,
  spentUsd: 32.1,
  budgetUsd: 40,
  estimateToFinishUsd: 101.5,
  ...over,
});

describe('formatting', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1200)).toBe('1,200');
    expect(formatCount(1_000_000)).toBe('1,000,000');
  });

  it('shows money with 2 decimals, 4 below $1', () => {
    expect(formatUsd(32.1)).toBe('$32.10');
    expect(formatUsd(1234.567)).toBe('$1,234.57');
    expect(formatUsd(1)).toBe('$1.00');
    expect(formatUsd(0.0123)).toBe('$0.0123');
    expect(formatUsd(0.5)).toBe('$0.5000');
    expect(formatUsd(0)).toBe('$0.00');
  });
});

describe('alertPayload', () => {
  it('writes the yellow alert as in the example', () => {
    const p = alertPayload('budget_yellow', summary(), AT);
    expect(p.text).toBe(':warning: *llm-batch run-abc*: budget at 80% (yellow) · 1,200/5,000 done · $32.10 of $40.00 spent · ~$101.50 to finish');
    expect(p).toMatchObject({ event: 'budget_yellow', runId: 'run-abc', at: AT, summary: summary() });
  });

  it('has a distinct lead for each event', () => {
    const leads: Record<AlertEvent, RegExp> = {
      budget_yellow: /^:warning: \*llm-batch run-abc\*: budget at 80% \(yellow\)/,
      budget_red: /^:octagonal_sign: \*llm-batch run-abc\*: budget reached \(red\), waiting for an operator to raise it/,
      circuit_open: /^:red_circle: \*llm-batch run-abc\*: circuit opened/,
      circuit_closed: /^:large_green_circle: \*llm-batch run-abc\*: circuit closed/,
      awaiting_approval: /^:raised_hand: \*llm-batch run-abc\*: sample measured, awaiting approval/,
      quality_hold: /^:mag: \*llm-batch run-abc\*: spot-check below the minimum pass rate/,
      completed: /^:white_check_mark: \*llm-batch run-abc\*: completed/,
      failed: /^:x: \*llm-batch run-abc\*: failed/,
      cancelled: /^:no_entry_sign: \*llm-batch run-abc\*: cancelled/,
    };
    const firstLines = new Set<string>();
    for (const [event, lead] of Object.entries(leads) as [AlertEvent, RegExp][]) {
      const p = alertPayload(event, summary(), AT);
      expect(p.text).toMatch(lead);
      expect(p.event).toBe(event);
      expect(p.text).toContain('1,200/5,000 done · $32.10 of $40.00 spent · ~$101.50 to finish');
      expect(p.text.split('\n')).toHaveLength(1);
      firstLines.add(p.text.split(' · ')[0]!);
    }
    expect(firstLines.size).toBe(Object.keys(leads).length);
  });

  it('puts the detail on a second line: the sample estimate, the error', () => {
    const approval = alertPayload('awaiting_approval', summary({ done: 50, remaining: 4950, spentUsd: 0.42, detail: 'sample of 50: ~$41.58 total (90%: $38.20–$44.96)' }), AT);
    expect(approval.text.split('\n')).toEqual([
      ':raised_hand: *llm-batch run-abc*: sample measured, awaiting approval · 50/5,000 done · $0.4200 of $40.00 spent · ~$101.50 to finish',
      'sample of 50: ~$41.58 total (90%: $38.20–$44.96)',
    ]);
    const failed = alertPayload('failed', summary({ state: 'failed', detail: 'invalid configuration:\n  model <gpt-9> is not priced & unknown' }), AT);
    const [, second] = failed.text.split('\n');
    // One line, with Slack's control characters escaped; the summary keeps the raw detail.
    expect(second).toBe('invalid configuration: model &lt;gpt-9&gt; is not priced &amp; unknown');
    expect(failed.summary.detail).toContain('<gpt-9>');
  });

  it('shortens a very long detail in the text only', () => {
    const detail = 'x'.repeat(2_000);
    const p = alertPayload('failed', summary({ detail }), AT);
    expect(p.text.split('\n')[1]!.length).toBe(500);
    expect(p.summary.detail).toBe(detail);
  });

  it('says "no budget" without one, and leaves out the cost to finish when nothing remains', () => {
    const p = alertPayload('completed', summary({ state: 'completed', done: 5000, remaining: 0, total: 5000, spentUsd: 133.6, budgetUsd: null, estimateToFinishUsd: 0 }), AT);
    expect(p.text).toBe(':white_check_mark: *llm-batch run-abc*: completed · 5,000/5,000 done · $133.60 spent (no budget)');
    expect(p.summary.budgetUsd).toBeNull();
  });

  it('reads the budget share from the figures', () => {
    expect(alertPayload('budget_yellow', summary({ spentUsd: 75, budgetUsd: 100 }), AT).text).toContain('budget at 75% (yellow)');
    expect(alertPayload('budget_yellow', summary({ spentUsd: 29, budgetUsd: 100 }), AT).text).toContain('budget at 29% (yellow)');
  });

  it('is plain JSON', () => {
    const p = alertPayload('circuit_open', summary({ detail: 'next probe at 09:31:00Z' }), AT);
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });
});
