// What `llm-batch estimate` reports, built from the counts of one pass over a file: every
// model compared in every mode, the file as it is, what each lever saves, and the cheapest
// option. The shape is the `--json` output; the table is drawn from it. Pure.
import type { PricingTable } from './pricing.ts';
import type { InputFormat, RejectRecord } from './run-types.ts';
import { kindOfModel, MODES, minusCosts, tallyCost, cachedPrefixSavings, type CachedTokens, type EstimateMode, type ModeCosts, type Tally, type ModelKind } from './estimate.ts';
import type { RouteChoice } from './estimate-levers.ts';

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

/** A routing rule's share of the lines sent. */
export type RouteMix = RouteChoice & { lines: number };

export type LeverFigure =
  | { available: true; lines: number; promptTokens: number; savedUsd: ModeCosts }
  | { available: false; reason: string };

export type RoutingFigure =
  /** lines: those a rule moves off their own model (or onto a forced path); routedUsd: the lines sent, as routed. */
  | { available: true; lines: number; mix: RouteMix[]; routedUsd: ModeCosts; savedUsd: ModeCosts }
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

/** The cheapest model and mode of the comparison, and what the exact levers take off it. */
export interface Cheapest {
  model: string;
  mode: EstimateMode;
  usd: number;
  /** Duplicates sent once and cache hits, at that model and mode. */
  exactLeversSaveUsd: number;
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
  /** With the prefix lever: eligible cached prompt tokens of the lines sent, by model, and the lines with any. */
  prefix?: { byModel: Map<string, CachedTokens>; lines: number };
  /** With the routing lever: the lines sent, at the model each rule chose, the mix (most lines first), and the lines a rule moved off their own model or path. */
  routing?: { routed: Tally; mix: RouteMix[]; moved: number };
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
  why: { cachedKeys: string; prefix: string; routeLine: string };
}

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

  const prefix: LeverFigure = counts.prefix
    ? {
        available: true,
        lines: counts.prefix.lines,
        promptTokens: [...counts.prefix.byModel.values()].reduce((n, t) => n + t.regular + t.urgent, 0),
        savedUsd: cachedPrefixSavings(pricing, counts.prefix.byModel),
      }
    : { available: false, reason: input.why.prefix };

  let routing: RoutingFigure = { available: false, reason: input.why.routeLine };
  if (counts.routing) {
    const routedUsd = cost(counts.routing.routed);
    routing = { available: true, lines: counts.routing.moved, mix: counts.routing.mix, routedUsd, savedUsd: minusCosts(cost(counts.sent), routedUsd) };
  }

  const asIsCost = cost(all);
  let cheapest: Cheapest | null = null;
  for (const row of models) {
    for (const mode of MODES) {
      if (cheapest && row.costUsd[mode] >= cheapest.usd) continue;
      const exact = cost(counts.duplicates, row.model)[mode] + (counts.cacheHits ? cost(counts.cacheHits, row.model)[mode] : 0);
      cheapest = { model: row.model, mode, usd: row.costUsd[mode], exactLeversSaveUsd: exact, asIsRealtimeUsd: asIsCost.realtime };
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
      cacheHits: exactLever(counts.cacheHits, input.why.cachedKeys),
      promptPrefix: prefix,
      routing,
    },
    cheapest,
  };
}
