// How `llm-batch estimate` prints its report: the models table, the levers table and a
// one-line summary of the cheapest option. Pure functions of the report (colours only on a
// TTY, through format.ts), so they are tested without a terminal.
import Table from 'cli-table3';
import type { EstimateReport, LeverFigure, RoutingFigure } from '../domain/estimate-report.ts';
import type { ModeCosts } from '../domain/estimate.ts';
import type { SampleEstimate } from '../domain/run-types.ts';
import { bold, dim, int, isTty, usd } from './format.ts';

/** Colours only on a TTY (as format.ts draws its tables); compact: no rule between rows (not with spanned cells, which need them). */
const tableStyle = (compact = true): Table.TableConstructorOptions => ({
  style: { head: isTty() ? ['cyan'] : [], border: isTty() ? ['grey'] : [] },
  ...(compact ? { chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } } : {}),
});

const money = (c: ModeCosts): string[] => [usd(c.realtime), usd(c.batch), usd(c.hybrid)];
const right = (cells: string[]): { content: string; hAlign: 'right' }[] => cells.map((content) => ({ content, hAlign: 'right' }));

/** The line above the tables: the file, its lines, the pricing table. */
export function headerLine(r: EstimateReport): string {
  const rejected = r.rejected > 0 ? `, ${int(r.rejected)} rejected` : '';
  const urgent = `${int(r.urgentLines)} urgent (realtime in hybrid mode${r.urgentIf ? `, --urgent-if ${r.urgentIf}` : ''})`;
  return `${bold(r.file)}: ${int(r.lines)} lines, ${int(r.accepted)} accepted${rejected} · ${urgent} · pricing ${r.pricing.version}, Batch API ×${r.pricing.batchDiscount}`;
}

/** Every model compared, cheapest realtime first; the file's own model(s) marked with *. */
export function modelsTable(r: EstimateReport): string {
  const t = new Table({ ...tableStyle(), head: ['model', 'encoding', 'prompt tokens', 'output ≤', 'realtime', 'batch', 'hybrid'] });
  const single = r.fileModels.length === 1 && r.models.some((m) => m.model === r.fileModels[0]);
  if (!single) t.push([`as in the file (${r.fileModels.join(', ')})`, '', ...right([int(r.asIs.promptTokens), int(r.asIs.maxOutputTokens), ...money(r.asIs.costUsd)])]);
  for (const m of [...r.models].sort((a, b) => a.costUsd.realtime - b.costUsd.realtime)) {
    t.push([m.inFile ? bold(`${m.model} *`) : m.model, m.encoding, ...right([int(m.promptTokens), int(m.maxOutputTokens), ...money(m.costUsd)])]);
  }
  return t.toString();
}

function leverRow(name: string, f: LeverFigure | RoutingFigure, tokens: string): Table.HorizontalTableRow {
  if (!f.available) return [name, { content: dim(`n/a (${f.reason})`), colSpan: 5 }];
  return [name, ...right([int(f.lines), tokens, ...money(f.savedUsd)])];
}

/** What each lever saves on the file as it is, in each mode; n/a with the reason for a lever not available. */
export function leversTable(r: EstimateReport): string {
  const t = new Table({ ...tableStyle(false), head: ['lever (on the file as it is)', 'lines', 'tokens', 'realtime saves', 'batch saves', 'hybrid saves'] });
  const { duplicates, cacheHits, promptPrefix, routing } = r.levers;
  const tok = (f: LeverFigure): string => (f.available ? int(f.promptTokens) : '');
  t.push(leverRow('exact duplicates in the file', duplicates, tok(duplicates)));
  t.push(leverRow('hits in the cache from earlier runs', cacheHits, tok(cacheHits)));
  t.push(leverRow('prompt-prefix cache (cached input)', promptPrefix, tok(promptPrefix)));
  t.push(leverRow('routing rules', routing, ''));
  return t.toString();
}

/** Notes under the levers table: where the cache was looked up, lower bounds, the prompt cache on the routed requests. */
export function leverNotes(r: EstimateReport): string[] {
  const out: string[] = [];
  const { cacheHits, promptPrefix, routing } = r.levers;
  if (cacheHits.available && cacheHits.note) out.push(`Cache hits: ${cacheHits.note}.`);
  if (promptPrefix.available && promptPrefix.note) out.push(`Prompt-prefix cache: ${promptPrefix.note}.`);
  if (routing.available && routing.promptPrefix && routing.promptPrefix.promptTokens > 0) {
    const p = routing.promptPrefix;
    out.push(`Prompt-prefix cache on the routed requests: ${int(p.promptTokens)} tokens on ${int(p.lines)} lines, saving ${money(p.savedUsd).join(' / ')} (realtime / batch / hybrid).`);
  }
  return out;
}

const arrow = (a: string, b: string): string => `${a} → ${b}`;

/** With --route: lines and cost per model of the lines sent, without the rules → with them, and the rating calls. */
export function routingTable(r: EstimateReport): string | undefined {
  const f = r.levers.routing;
  if (!f.available) return undefined;
  const t = new Table({ ...tableStyle(), head: [`routing rules (${f.file})`, 'lines', 'realtime', 'batch', 'hybrid'] });
  const cells = (a: ModeCosts, b: ModeCosts): string[] => [arrow(usd(a.realtime), usd(b.realtime)), arrow(usd(a.batch), usd(b.batch)), arrow(usd(a.hybrid), usd(b.hybrid))];
  for (const m of f.models) t.push([m.model, ...right([arrow(int(m.without.lines), int(m.with.lines)), ...cells(m.without.costUsd, m.with.costUsd)])]);
  const zero = { realtime: 0, batch: 0, hybrid: 0 };
  for (const x of f.ratings) t.push([`rating calls (${x.model})`, ...right([arrow('0', int(x.calls)), ...cells(zero, x.costUsd)])]);
  const sent = f.models.reduce((n, m) => n + m.without.lines, 0);
  const without = { realtime: f.routedUsd.realtime + f.savedUsd.realtime, batch: f.routedUsd.batch + f.savedUsd.batch, hybrid: f.routedUsd.hybrid + f.savedUsd.hybrid };
  t.push([bold('lines sent, in all'), ...right([arrow(int(sent), int(sent)), ...cells(without, f.routedUsd)])]);
  return t.toString();
}

/**
 * `routing mix: triage 696 → gpt-4.1-nano · reply-draft 689 → rated by gpt-4.1-nano, priced at
 * gpt-4.1 (its "otherwise" model) · …`, when routing rules were given.
 */
export function routingMixLine(r: EstimateReport): string | undefined {
  const f = r.levers.routing;
  if (!f.available || f.mix.length === 0) return undefined;
  const what = (m: (typeof f.mix)[number]): string =>
    `${m.classifier ? `rated by ${m.classifier}, priced at ${m.model} (its "otherwise" model)` : m.model}${m.route ? ` (${m.route} in hybrid)` : ''}`;
  return `routing mix: ${f.mix.map((m) => `${m.rule} ${int(m.lines)} → ${what(m)}`).join(' · ')}`;
}

const MODE_WORDS = { realtime: 'realtime', batch: 'through the Batch API', hybrid: 'hybrid' } as const;

/**
 * `Cheapest: gpt-5-nano through the Batch API, at most $0.0617 (the file as it is, realtime:
 * $0.1971); sending each duplicate body once takes $0.0012 off that; the provider's prompt
 * cache up to $0.0004 more.`
 */
export function cheapestLine(r: EstimateReport): string {
  const c = r.cheapest;
  if (!c) return 'Nothing to estimate: no line of the file was accepted.';
  const prefix = c.promptPrefixSaveUsd !== null && c.promptPrefixSaveUsd > 0 ? `; the provider's prompt cache up to ${usd(c.promptPrefixSaveUsd)} more` : '';
  const asIs = `(the file as it is, realtime: ${usd(c.asIsRealtimeUsd)})`;
  if (c.routing) {
    const taken = (f: EstimateReport['levers']['duplicates']): boolean => f.available && f.lines > 0;
    const exactLevers = taken(r.levers.duplicates) || taken(r.levers.cacheHits) ? ', duplicates and cache hits left out,' : '';
    return `${bold('Cheapest:')} the routing rules' mix (${c.model})${exactLevers} ${MODE_WORDS[c.mode]}, at most ${usd(c.usd)} ${asIs}${prefix}.`;
  }
  const hits = r.levers.cacheHits.available && r.levers.cacheHits.lines > 0;
  const exact = c.exactLeversSaveUsd > 0 ? `; sending each duplicate body once${hits ? ' and reusing cache hits' : ''} takes ${usd(c.exactLeversSaveUsd)} off that` : '';
  return `${bold('Cheapest:')} ${c.model} ${MODE_WORDS[c.mode]}, at most ${usd(c.usd)} ${asIs}${exact}${prefix}.`;
}

/** The first rejects, as `run --strict` prints them, and how many there were by reason. */
export function rejectLines(r: EstimateReport, describe: (rec: EstimateReport['rejects']['first'][number]) => string): string[] {
  if (r.rejected === 0) return [];
  const byCode = Object.entries(r.rejects.byCode).map(([code, n]) => `${code} ${int(n)}`).join(', ');
  const shown = r.rejects.first.length < r.rejected ? ` (first ${r.rejects.first.length} shown)` : '';
  return [...r.rejects.first.map(describe), `${int(r.rejected)} invalid line${r.rejected === 1 ? '' : 's'}${shown}: ${byCode}. They are left out of every figure, as a run leaves them out.`];
}

export const BOUNDS_NOTE = 'Upper bounds: prompt tokens exact (each model\'s own tokenizer), output at max_tokens. `--sample N` measures real output lengths.';

/** A run's measured sample and the total it extrapolates to, for `estimate --sample`. */
export interface SampleView {
  runId: string;
  mode: string;
  spentUsd: number;
  sample: SampleEstimate;
}

export function sampleLines(s: SampleView, meanMaxOutput: number): string[] {
  const x = s.sample;
  if (x.measured === 0) return [`Sample (run ${s.runId}): no sampled item succeeded, so nothing was measured; see llm-batch status ${s.runId}.`];
  const t = x.totalUsd;
  return [
    `${bold('Sample:')} ${int(x.measured)} items measured through the provider (run ${s.runId}, ${usd(s.spentUsd)} spent): ${Math.round(x.meanInputTokens)} prompt / ${Math.round(x.meanOutputTokens)} output tokens on average (max_tokens allows ${Math.round(meanMaxOutput)}).`,
    `${bold('Total')} for the file, ${s.mode}: ≈ ${usd(t.estimate)} (90% interval ${usd(t.low)}–${usd(t.high)}).`,
  ];
}
