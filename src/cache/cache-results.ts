// How an answer of the exact cache becomes an item's result, and a call's answer a cache
// entry: the pieces the realtime and the Batch API paths share.
import { costOfUsage, type PricingTable } from '../domain/pricing.ts';
import { hitMarker } from '../domain/exact-cache.ts';
import { emptyTokens, type TokenTotals } from '../domain/run-types.ts';
import type { CacheEntry, ItemResult } from '../store/item-store.ts';

/** One successful call's answer, as identical requests reuse it. */
export interface SharedAnswer {
  runId: string;
  customId: string;
  requestId?: string;
  responseJson: string;
  /** The original call's usage and cost. */
  usage: TokenTotals;
  costUsd: number;
}

export function answerOfEntry(e: CacheEntry): SharedAnswer {
  const a: SharedAnswer = { runId: e.runId, customId: e.customId, responseJson: e.responseJson, usage: e.usage, costUsd: e.costUsd };
  if (e.requestId !== undefined) a.requestId = e.requestId;
  return a;
}

/** The answer of a succeeded result (its response as the JSON text it is stored as). */
export function answerOfResult(runId: string, r: ItemResult): SharedAnswer {
  const a: SharedAnswer = {
    runId,
    customId: r.customId,
    responseJson: r.responseJson ?? JSON.stringify(r.response),
    usage: r.usage ?? emptyTokens(),
    costUsd: r.costUsd ?? 0,
  };
  if (r.requestId !== undefined) a.requestId = r.requestId;
  return a;
}

export function entryOf(answer: SharedAnswer, key: string, url: string, model: string, shared: boolean, createdAt: number): CacheEntry {
  const e: CacheEntry = { key, url, model, responseJson: answer.responseJson, usage: answer.usage, costUsd: answer.costUsd, runId: answer.runId, customId: answer.customId, createdAt, shared };
  if (answer.requestId !== undefined) e.requestId = answer.requestId;
  return e;
}

/** What the answer's call would cost this item now: this run's prices, on the item's path (realtime, or at the Batch discount). */
export function savedUsdOf(pricing: PricingTable, model: string, usage: TokenTotals, batch: boolean): number {
  return costOfUsage(pricing, model, { promptTokens: usage.prompt, cachedTokens: usage.cached, completionTokens: usage.completion, reasoningTokens: usage.reasoning }, { batch });
}

/**
 * An item answered from the cache: no call, $0, zero tokens for the run's totals (the
 * original usage stays in the response body), the marker the output line carries.
 */
export function hitResult(item: { customId: string; attempts: number }, model: string, answer: SharedAnswer, savedUsd: number): ItemResult {
  const r: ItemResult = {
    customId: item.customId,
    status: 'succeeded',
    attempts: item.attempts,
    model,
    mode: 'cache',
    statusCode: 200,
    responseJson: answer.responseJson,
    usage: emptyTokens(),
    costUsd: 0,
    cacheMarker: JSON.stringify(hitMarker(answer.runId, answer.customId, savedUsd)),
    savedUsd,
  };
  if (answer.requestId !== undefined) r.requestId = answer.requestId;
  return r;
}

/**
 * The item's own call, found in the cache: the call was made and paid, and its entry
 * written, but the worker died before the item's result was. Recorded as that call (its
 * usage and cost), not as a hit, and not sent again.
 */
export function ownResult(item: { customId: string; attempts: number }, model: string, mode: string, entry: CacheEntry): ItemResult {
  const r: ItemResult = {
    customId: item.customId,
    status: 'succeeded',
    attempts: Math.max(1, item.attempts),
    model,
    mode,
    statusCode: 200,
    responseJson: entry.responseJson,
    usage: entry.usage,
    costUsd: entry.costUsd,
  };
  if (entry.requestId !== undefined) r.requestId = entry.requestId;
  return r;
}
