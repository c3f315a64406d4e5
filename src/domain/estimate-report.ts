// What `llm-batch estimate` reports, built from the counts of one pass over a file: every
// model compared in every mode, the file as it is, what each lever saves, and the cheapest
// option. The shape is the `--json` output; the table is drawn from it. Pure.
import type { PricingTable } from './pricing.ts';
import type { InputFormat, RejectRecord } from './run-types.ts';
import { kindOfModel, MODES, minusCosts, tallyCost, cachedPrefixSavings, groupCost, zeroCosts, type EstimateMode, type ModeCosts, type Tally, type ModelKind } from './estimate.ts';
import type { PrefixFigures } from './estimate-levers.ts';
import type { RouteMix, RoutingCounts } from './estimate-routing.ts';

/** One model of the comparison: every line of its kind sent to it (lines of the other kind stay at their own model). */
export interface ModelRow {
  model: string;
  encoding: string;
  kind: ModelKind;
  /** The file names this model. */
  inFile: boolean;
  /** Prompt tokens of the lines it would get, in its own encoding. */
  promptTokens: number;
  /** Output at max_tokens: the upper bound. */
  maxOutputTokens: number;
  costUsd: ModeCosts;
}

export type { RouteMix } from './estimate-routing.ts';

export type LeverFigure =
  /** note: something to know about the figure (where the cache was looked up; a lower bound). */
  | { available: true; lines: number; promptTokens: number; savedUsd: ModeCosts; note?: string }
  | { available: false; reason: string };

/** One model of the routing mix: the lines sent to it, and their cost, without the rules and with them. */
export interface RoutingModelRow {
  model: string;
  without: { lines: number; costUsd: ModeCosts };
  with: { lines: number; costUsd: ModeCosts };
}

/** A classifier rule's rating calls on one model, at their upper bound (realtime). */
export interface RatingRow {
  model: string;
  calls: number;
  promptTokens: number;
  maxOutputTokens: number;
  costUsd: ModeCosts;
}

export type RoutingFigure =
  | {
      available: true;
      /** The rules file, as given. */
      file: string;
      /** Lines sent that a rule moves off their own model (or onto a path, or to a classifier). */
      lines: number;
      /** By rule, most lines first. */
      mix: RouteMix[];
      /** By model: the lines sent without the rules (each at its own model) and with them. */
      models: RoutingModelRow[];
      ratings: RatingRow[];
      /** The lines sent, as routed, with the rating calls: Σ models[].with.costUsd + Σ ratings[].costUsd. */
      routedUsd: ModeCosts;
      /** The lines sent at their own models minus routedUsd (negative when the rules pick dearer models). */
      savedUsd: ModeCosts;
      /** With the prefix lever: the provider's prompt cache on the routed requests (staging fingerprints those). */
      promptPrefix?: { lines: number; promptTokens: number; savedUsd: ModeCosts };
    }
  | { available: false; reason: string };

export interface EstimateReport {
  file: string;
  format: InputFormat;
  pricing: { version: string; batchDiscount: number };
  lines: number;
  accepted: number;
  rejected: number;
  rejects: { byCode: Record<string, number>; first: RejectRecord[] };
  /** Lines hybrid mode sends realtime (metadata.priority urgent, or --urgent-if). */
  urgentLines: number;
  urgentIf: string | null;
  fileModels: string[];
  /** Every line at the model it names: what `run` stages (its upper bound is costUsd.realtime). */
  asIs: { promptTokens: number; maxOutputTokens: number; costUsd: ModeCosts };
  models: ModelRow[];
  /** Models asked for that would price no line: the file has no request of their kind (chat or embeddings). */
  modelsWithoutLines: string[];
  /** Savings on the file as it is (each line at its own model), in each mode. */
  levers: {
    duplicates: LeverFigure & { repeatedBodies?: number };
    cacheHits: LeverFigure;
    promptPrefix: LeverFigure;
    routing: RoutingFigure;
  };
  cheapest: Cheapest | null;
}

/**
 * The cheapest way to run the file: a model of the comparison (every line at it) or, with
 * --route, the rules' mix, in one mode, ranked by what would be sent once the exact levers
 * (duplicates sent once, cache hits reused) are taken off: netUsd.
 */
export interface Cheapest {
  /** The model, or the rules file for the routing mix. */
  model: string;
  /** True for the routing rules' mix. */
  routing: boolean;
  mode: EstimateMode;
  /** Every accepted line at that model and mode (for the mix: the lines sent, as routed). */
  usd: number;
  /** Duplicates sent once and cache hits, at that model and mode (0 for the mix: already left out). */
  exactLeversSaveUsd: number;
  /** usd − exactLeversSaveUsd: the upper bound of what would be paid. */
  netUsd: number;
  /**
   * What the provider's prompt cache can take off netUsd besides, when known for this option:
   * the file's own model (its only chat model), or the routing mix. Null when not measured.
   */
  promptPrefixSaveUsd: number | null;
  /** The file as it is, realtime: what `run` would reserve. */
  asIsRealtimeUsd: number;
}

/** What a pass over the file counted (see countFile in src/input/estimate-file.ts). */
export interface EstimateCounts {
  format: InputFormat;
  lines: number;
  accepted: number;
  rejected: number;
  rejectsByCode: Record<string, number>;
  /** The first rejects, in line order. */
  firstRejects: RejectRecord[];
  /** Every accepted line, at its own model: what `run` stages. */
  all: Tally;
  /** Lines whose request body (exact-cache key) an earlier line already has: a run sends each body once. */
  duplicates: Tally;
  /** Distinct bodies that occur more than once. */
  repeatedBodies: number;
  /** First occurrences the exact cache already answers (only with the cachedKeys lever). */
  cacheHits?: Tally;
  /** The lines that would be sent: accepted, not a duplicate, not a cache hit. */
  sent: Tally;
  /** With the prefix lever: eligible cached prompt tokens of the lines sent, by model. */
  prefix?: PrefixFigures;
  /** With the routing lever: the lines sent at the models the rules chose, the rating calls, the mix. */
  routing?: RoutingCounts;
}

export interface ReportInput {
  file: string;
  pricing: PricingTable;
  encodingOf: (model: string) => string;
  /** The models to compare (--models, or the pricing table's). */
  models: readonly string[];
  counts: EstimateCounts;
  urgentIf?: string;
  /** Why each missing lever is missing. */
  why: { cachedKeys: string; prefix: string; routes: string };
  /** Notes on levers given. */
  notes?: { cachedKeys?: string };
  /** The routing rules file, as given. */
  routesFile?: string;
}

const APPROXIMATE = 'a lower bound: more distinct long prefixes than the count keeps in memory';

/** By model, the cost of a tally's groups (summed over a model's groups). */
function costByModel(pricing: PricingTable, t: Tally, encodingOf: (model: string) => string): Map<string, { lines: number; costUsd: ModeCosts }> {
  const out = new Map<string, { lines: number; costUsd: ModeCosts }>();
  for (const g of t.entries()) {
    const c = groupCost(pricing, g, encodingOf);
    const m = out.get(g.model) ?? { lines: 0, costUsd: zeroCosts() };
    m.lines += g.regular.lines + g.urgent.lines;
    m.costUsd = { realtime: m.costUsd.realtime + c.realtime, batch: m.costUsd.batch + c.batch, hybrid: m.costUsd.hybrid + c.hybrid };
    out.set(g.model, m);
  }
  return out;
}

function routingFigure(input: ReportInput, sent: Tally, r: RoutingCounts): RoutingFigure {
  const { pricing, encodingOf } = input;
  const without = costByModel(pricing, sent, encodingOf);
  const routedBy = costByModel(pricing, r.routed, encodingOf);
  const none = { lines: 0, costUsd: zeroCosts() };
  const models = [...new Set([...without.keys(), ...routedBy.keys()])]
    .map((model) => ({ model, without: without.get(model) ?? none, with: routedBy.get(model) ?? none }))
    .sort((a, b) => b.with.lines - a.with.lines || a.model.localeCompare(b.model));
  const ratings = r.ratings.entries().map((g) => ({
    model: g.model,
    calls: g.regular.lines + g.urgent.lines,
    promptTokens: (g.regular.prompt[encodingOf(g.model)] ?? 0) + (g.urgent.prompt[encodingOf(g.model)] ?? 0),
    maxOutputTokens: g.regular.output + g.urgent.output,
    costUsd: groupCost(pricing, g, encodingOf),
  }));
  const routedUsd = [r.routed, r.ratings].map((t) => tallyCost(pricing, t, encodingOf)).reduce((a, b) => ({ realtime: a.realtime + b.realtime, batch: a.batch + b.batch, hybrid: a.hybrid + b.hybrid }));
  const fig: RoutingFigure = { available: true, file: input.routesFile ?? '', lines: r.moved, mix: r.mix, models, ratings, routedUsd, savedUsd: minusCosts(tallyCost(pricing, sent, encodingOf), routedUsd) };
  if (r.prefix) fig.promptPrefix = { lines: r.prefix.lines, promptTokens: prefixTokens(r.prefix), savedUsd: cachedPrefixSavings(pricing, r.prefix.byModel) };
  return fig;
}

const prefixTokens = (p: PrefixFigures): number => [...p.byModel.values()].reduce((n, t) => n + t.together, 0);

const withNote = (f: LeverFigure, note: string | undefined): LeverFigure => (f.available && note !== undefined ? { ...f, note } : f);

function urgentLines(t: Tally): number {
  return t.entries().reduce((n, g) => n + g.urgent.lines, 0);
}

export function buildEstimateReport(input: ReportInput): EstimateReport {
  const { pricing, encodingOf, counts } = input;
  const all = counts.all;
  const kinds = new Set(all.entries().map((g) => g.kind));
  const fileModels = all.models();
  const cost = (t: Tally, as?: string): ModeCosts => tallyCost(pricing, t, encodingOf, as);

  // Models of a kind the file has no line of would price nothing: they are left out.
  const models: ModelRow[] = input.models
    .filter((m) => kinds.has(kindOfModel(m)))
    .map((model) => {
      const kind = kindOfModel(model);
      const ofKind = all.entries().filter((g) => g.kind === kind);
      return {
        model,
        encoding: encodingOf(model),
        kind,
        inFile: fileModels.includes(model),
        promptTokens: ofKind.reduce((n, g) => n + (g.regular.prompt[encodingOf(model)] ?? 0) + (g.urgent.prompt[encodingOf(model)] ?? 0), 0),
        maxOutputTokens: ofKind.reduce((n, g) => n + g.regular.output + g.urgent.output, 0),
        costUsd: cost(all, model),
      };
    });

  const exactLever = (t: Tally | undefined, reason: string): LeverFigure =>
    t ? { available: true, lines: t.lines, promptTokens: t.promptTokens(encodingOf), savedUsd: cost(t) } : { available: false, reason };

  let prefix: LeverFigure = { available: false, reason: input.why.prefix };
  if (counts.prefix) {
    prefix = { available: true, lines: counts.prefix.lines, promptTokens: prefixTokens(counts.prefix), savedUsd: cachedPrefixSavings(pricing, counts.prefix.byModel) };
    if (counts.prefix.approximate) prefix.note = APPROXIMATE;
  }
  const routing: RoutingFigure = counts.routing ? routingFigure(input, counts.sent, counts.routing) : { available: false, reason: input.why.routes };

  const asIsCost = cost(all);
  // The prompt cache's saving is measured on the lines at their own model: known for a row when the file's chat lines all name that model.
  const prefixModels = counts.prefix ? [...new Set(all.entries().filter((g) => g.kind === 'chat').map((g) => g.model))] : [];
  const prefixFor = (model: string, mode: EstimateMode): number | null =>
    counts.prefix && prefixModels.length === 1 && prefixModels[0] === model ? cachedPrefixSavings(pricing, counts.prefix.byModel)[mode] : null;
  let cheapest: Cheapest | null = null;
  for (const row of models) {
    const exact = minusCosts(cost(counts.duplicates, row.model), counts.cacheHits ? minusCosts(zeroCosts(), cost(counts.cacheHits, row.model)) : zeroCosts());
    for (const mode of MODES) {
      const net = row.costUsd[mode] - exact[mode];
      if (cheapest && net >= cheapest.netUsd) continue;
      cheapest = { model: row.model, routing: false, mode, usd: row.costUsd[mode], exactLeversSaveUsd: exact[mode], netUsd: net, promptPrefixSaveUsd: prefixFor(row.model, mode), asIsRealtimeUsd: asIsCost.realtime };
    }
  }
  if (routing.available && cheapest) {
    // A classifier rule's lines are rated on the realtime path, which a batch run has none of: no batch option then.
    const modes = routing.ratings.length > 0 ? MODES.filter((m) => m !== 'batch') : MODES;
    for (const mode of modes) {
      const net = routing.routedUsd[mode];
      if (net >= cheapest.netUsd) continue;
      cheapest = { model: routing.file, routing: true, mode, usd: net, exactLeversSaveUsd: 0, netUsd: net, promptPrefixSaveUsd: routing.promptPrefix ? routing.promptPrefix.savedUsd[mode] : null, asIsRealtimeUsd: asIsCost.realtime };
    }
  }

  return {
    file: input.file,
    format: counts.format,
    pricing: { version: pricing.version, batchDiscount: pricing.batchDiscount },
    lines: counts.lines,
    accepted: counts.accepted,
    rejected: counts.rejected,
    rejects: { byCode: counts.rejectsByCode, first: counts.firstRejects },
    urgentLines: urgentLines(all),
    urgentIf: input.urgentIf ?? null,
    fileModels,
    asIs: { promptTokens: all.promptTokens(encodingOf), maxOutputTokens: all.outputTokens(), costUsd: asIsCost },
    models,
    modelsWithoutLines: input.models.filter((m) => !kinds.has(kindOfModel(m))),
    levers: {
      duplicates: { ...exactLever(counts.duplicates, ''), repeatedBodies: counts.repeatedBodies },
      cacheHits: withNote(exactLever(counts.cacheHits, input.why.cachedKeys), input.notes?.cachedKeys),
      promptPrefix: prefix,
      routing,
    },
    cheapest,
  };
}
