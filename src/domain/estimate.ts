// The arithmetic of `llm-batch estimate`: token sums of a set of lines (a Tally), kept so
// that they can be priced at any model and in every mode afterwards: prompt tokens by
// encoding, output at its cap, urgent lines (realtime in hybrid mode) apart. Costs are
// linear in tokens, so sums are enough, and the sum for a line's own model is the same
// integer staging sums: the realtime figure equals staging's upper bound. Pure.
import { estimateCostUsd, costOfUsage, type PricingTable } from './pricing.ts';
import type { Route } from './run-types.ts';
import type { CachedTokens } from './estimate-levers.ts';

/** Chat models and embedding models answer different requests: a row compares models of a kind. */
export type ModelKind = 'chat' | 'embeddings';

export const kindOfUrl = (url: string): ModelKind => (url === '/v1/embeddings' ? 'embeddings' : 'chat');
export const kindOfModel = (model: string): ModelKind => (/embedding/.test(model) ? 'embeddings' : 'chat');

/** The cost in each mode: realtime, the Batch API, and hybrid (urgent lines realtime, the rest batch). */
export interface ModeCosts {
  realtime: number;
  batch: number;
  hybrid: number;
}

export const MODES = ['realtime', 'batch', 'hybrid'] as const satisfies readonly (keyof ModeCosts)[];
export type EstimateMode = (typeof MODES)[number];

export const zeroCosts = (): ModeCosts => ({ realtime: 0, batch: 0, hybrid: 0 });
export const minusCosts = (a: ModeCosts, b: ModeCosts): ModeCosts => ({ realtime: a.realtime - b.realtime, batch: a.batch - b.batch, hybrid: a.hybrid - b.hybrid });

/** What the estimate knows of one accepted line. */
export interface CountedLine {
  /** The model the line names. */
  model: string;
  kind: ModelKind;
  /** Prompt tokens by encoding name: always the line's own model's encoding, and those of the models compared. */
  tokens: Readonly<Record<string, number>>;
  /** The most output the line may produce (max_tokens, or the default cap; 0 for embeddings). */
  output: number;
  /** Realtime in a hybrid run (metadata.priority urgent, or --urgent-if). */
  urgent: boolean;
}

/** Sums over some lines. */
export interface Sums {
  lines: number;
  output: number;
  /** Prompt tokens by encoding. */
  prompt: Record<string, number>;
}

const emptySums = (): Sums => ({ lines: 0, output: 0, prompt: {} });

function addTo(s: Sums, line: CountedLine, times = 1): void {
  s.lines += times;
  s.output += line.output * times;
  for (const enc in line.tokens) s.prompt[enc] = (s.prompt[enc] ?? 0) + line.tokens[enc]! * times;
}

/** Where a routing rule sends lines besides their model (see tallyCost). */
export interface RoutedAs {
  model: string;
  /** The matched rule's path: it decides in the hybrid column (as in a hybrid run); realtime and batch runs send everything their way. */
  route?: Route;
  /** Realtime in every column: a classifier rule's items (rated on the realtime path) and the rating calls. */
  realtimeOnly?: boolean;
}

/** One group of a tally: lines of one kind that name one model (or are routed to it). */
export interface TallyGroup {
  model: string;
  kind: ModelKind;
  route?: Route;
  realtimeOnly?: boolean;
  regular: Sums;
  urgent: Sums;
}

/** Token sums of a set of lines by the model each names, enough to price them at any model and in any mode. */
export class Tally {
  private readonly groups = new Map<string, TallyGroup>();

  /** Adds a line under its own model, or under `as` (a routing rule's choice). */
  add(line: CountedLine, as?: RoutedAs): void {
    const model = as?.model ?? line.model;
    const key = `${line.kind}\u0000${model}\u0000${as?.route ?? ''}\u0000${as?.realtimeOnly ? 1 : 0}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { model, kind: line.kind, regular: emptySums(), urgent: emptySums() };
      if (as?.route !== undefined) g.route = as.route;
      if (as?.realtimeOnly) g.realtimeOnly = true;
      this.groups.set(key, g);
    }
    addTo(line.urgent ? g.urgent : g.regular, line);
  }

  get lines(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.regular.lines + g.urgent.lines;
    return n;
  }

  /** The groups, in the order their first line came. */
  entries(): readonly TallyGroup[] {
    return [...this.groups.values()];
  }

  /** Models the lines name, sorted. */
  models(): string[] {
    return [...new Set([...this.groups.values()].map((g) => g.model))].sort();
  }

  /** Prompt tokens of every line, each counted in the encoding of the model it would go to (`as`: see tallyCost). */
  promptTokens(encodingOf: (model: string) => string, as?: string): number {
    let n = 0;
    for (const g of this.groups.values()) {
      const enc = encodingOf(targetModel(g, as));
      n += promptOf(g.regular, enc, g.model) + promptOf(g.urgent, enc, g.model);
    }
    return n;
  }

  outputTokens(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.regular.output + g.urgent.output;
    return n;
  }
}

const targetModel = (g: TallyGroup, as: string | undefined): string => (as !== undefined && kindOfModel(as) === g.kind ? as : g.model);

function promptOf(s: Sums, enc: string, model: string): number {
  if (s.lines === 0) return 0;
  const n = s.prompt[enc];
  if (n === undefined) throw new Error(`estimate: prompt tokens in ${enc} were not counted for lines of ${model}`);
  return n;
}

/**
 * What one group's lines cost in each mode, at the model they name, or, with `as`, at `as`
 * when it is of their kind. Upper bound: output at its cap, no cache hit. Throws
 * UnknownModelError for a model the table lacks.
 */
export function groupCost(pricing: PricingTable, g: TallyGroup, encodingOf: (model: string) => string, as?: string): ModeCosts {
  const model = targetModel(g, as);
  const enc = encodingOf(model);
  const regular = { prompt: promptOf(g.regular, enc, g.model), output: g.regular.output };
  const urgent = { prompt: promptOf(g.urgent, enc, g.model), output: g.urgent.output };
  // Realtime and batch price the lines' sums as one, exactly as staging prices its upper bound.
  const all = estimateCostUsd(pricing, model, regular.prompt + urgent.prompt, regular.output + urgent.output);
  const allBatch = estimateCostUsd(pricing, model, regular.prompt + urgent.prompt, regular.output + urgent.output, { batch: true });
  if (g.realtimeOnly) return { realtime: all, batch: all, hybrid: all };
  // In a hybrid run a rule's path decides; without one, urgent lines go realtime and the rest through the Batch API.
  const hybrid =
    g.route === 'realtime' ? all
    : g.route === 'batch' ? allBatch
    : estimateCostUsd(pricing, model, urgent.prompt, urgent.output) + estimateCostUsd(pricing, model, regular.prompt, regular.output, { batch: true });
  return { realtime: all, batch: allBatch, hybrid };
}

/** What the tally's lines cost in each mode: the sum of its groups' (see groupCost). */
export function tallyCost(pricing: PricingTable, tally: Tally, encodingOf: (model: string) => string, as?: string): ModeCosts {
  const c = zeroCosts();
  for (const g of tally.entries()) {
    const g1 = groupCost(pricing, g, encodingOf, as);
    c.realtime += g1.realtime;
    c.batch += g1.batch;
    c.hybrid += g1.hybrid;
  }
  return c;
}

/**
 * What the provider's prompt cache takes off: cached tokens at the cached-input price instead
 * of the input price. Realtime and batch runs dispatch a model's lines together; a hybrid run
 * sends urgent lines realtime and the rest through the Batch API, apart.
 */
export function cachedPrefixSavings(pricing: PricingTable, byModel: ReadonlyMap<string, CachedTokens>): ModeCosts {
  const c = zeroCosts();
  const saving = (model: string, tokens: number, batch: boolean): number =>
    tokens === 0
      ? 0
      : costOfUsage(pricing, model, { promptTokens: tokens, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 }, { batch }) -
        costOfUsage(pricing, model, { promptTokens: tokens, cachedTokens: tokens, completionTokens: 0, reasoningTokens: 0 }, { batch });
  for (const [model, t] of byModel) {
    c.realtime += saving(model, t.together, false);
    c.batch += saving(model, t.together, true);
    c.hybrid += saving(model, t.urgent, false) + saving(model, t.regular, true);
  }
  return c;
}
