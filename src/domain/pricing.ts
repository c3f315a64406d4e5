// Prices model usage in USD from a versioned pricing table (pricing/pricing.json by default,
// or the user's --pricing FILE). Pure: the table is always passed in, never read here.
import { z } from 'zod';

const price = z.number().finite().nonnegative();

export const pricingTableSchema = z.object({
  version: z.string().min(1),
  currency: z.literal('USD'),
  /** Multiplier applied to Batch API usage (0.5 = half price). */
  batchDiscount: z.number().gt(0).lte(1),
  models: z
    .record(
      z.string().min(1),
      z.object({
        inputPerMTok: price,
        cachedInputPerMTok: price.optional(),
        outputPerMTok: price,
      }),
    )
    .refine((m) => Object.keys(m).length > 0, { message: 'at least one model is required' }),
});

export type PricingTable = z.infer<typeof pricingTableSchema>;

/** USD per million tokens. Cached input falls back to the input price when absent. */
export interface ModelPrice {
  inputPerMTok: number;
  cachedInputPerMTok?: number;
  outputPerMTok: number;
}

/** What the provider reports. cachedTokens are part of promptTokens; reasoningTokens are part of completionTokens. */
export interface Usage {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
}

export class UnknownModelError extends Error {
  readonly model: string;
  constructor(model: string, table: PricingTable) {
    const known = Object.keys(table.models).sort().join(', ');
    super(
      `no price for model "${model}" in pricing table ${table.version} (known: ${known}). ` +
        `To fix, pass --pricing FILE with a table that lists "${model}" ` +
        `(same shape as pricing/pricing.json: models.<name>.inputPerMTok, cachedInputPerMTok, outputPerMTok).`,
    );
    this.name = 'UnknownModelError';
    this.model = model;
  }
}

/** Validates a parsed pricing file; errors name the source and the offending field. */
export function parsePricingTable(json: unknown, source: string): PricingTable {
  const r = pricingTableSchema.safeParse(json);
  if (r.success) return r.data;
  const issues = r.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  throw new Error(`${source}: invalid pricing table: ${issues}`);
}

// A snapshot suffix: a date (2024-07-18) or a short version number (0125, 0613).
const SNAPSHOT_SUFFIX = /^-(\d{4}-\d{2}-\d{2}|\d{4})$/;

/**
 * The price of `model`: its exact entry, else the longest known name it extends with a
 * dated snapshot suffix (gpt-4o-mini-2024-07-18 → gpt-4o-mini). Other suffixes are NOT
 * matched: gpt-5-pro or o3-pro cost many times gpt-5 / o3, and guessing low would let a
 * run overspend its budget. Those need their own entry (--pricing FILE).
 */
export function priceFor(table: PricingTable, model: string): ModelPrice {
  const exact = Object.hasOwn(table.models, model) ? table.models[model] : undefined;
  if (exact) return exact;
  let best: string | undefined;
  for (const name of Object.keys(table.models)) {
    if (model.startsWith(name) && SNAPSHOT_SUFFIX.test(model.slice(name.length))) {
      if (best === undefined || name.length > best.length) best = name;
    }
  }
  if (best === undefined) throw new UnknownModelError(model, table);
  return table.models[best];
}

/** USD for what the provider reported; Batch API usage at the table's discount. */
export function costOfUsage(
  table: PricingTable,
  model: string,
  usage: Usage,
  opts: { batch?: boolean } = {},
): number {
  const p = priceFor(table, model);
  const prompt = Math.max(0, usage.promptTokens);
  // Cached tokens are a subset of prompt tokens; clamp in case a provider reports otherwise.
  const cached = Math.min(Math.max(0, usage.cachedTokens), prompt);
  const completion = Math.max(0, usage.completionTokens); // already includes reasoning tokens
  const usd =
    ((prompt - cached) * p.inputPerMTok +
      cached * (p.cachedInputPerMTok ?? p.inputPerMTok) +
      completion * p.outputPerMTok) /
    1e6;
  return opts.batch ? usd * table.batchDiscount : usd;
}

/** Upper-bound estimate before a call: no cache hits assumed, output at its cap. */
export function estimateCostUsd(
  table: PricingTable,
  model: string,
  promptTokens: number,
  outputTokens: number,
  opts: { batch?: boolean } = {},
): number {
  return costOfUsage(
    table,
    model,
    { promptTokens, cachedTokens: 0, completionTokens: outputTokens, reasoningTokens: 0 },
    opts,
  );
}

/**
 * What the provider's prompt cache saved on a call: its cached tokens at the input price
 * minus at the cached-input price (0 when the model has no cached price); Batch API usage at
 * the table's discount, as it is billed.
 */
export function promptCacheSavingUsd(table: PricingTable, model: string, cachedTokens: number, opts: { batch?: boolean } = {}): number {
  const p = priceFor(table, model);
  const usd = (Math.max(0, cachedTokens) * (p.inputPerMTok - (p.cachedInputPerMTok ?? p.inputPerMTok))) / 1e6;
  return opts.batch ? usd * table.batchDiscount : usd;
}
