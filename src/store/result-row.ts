// How a result becomes stored fields, the same in both stores (and in SQLite's writer thread).
import type { ItemResult } from './item-store.ts';

export type ResultField = string | number | null;

/** The stored text of a result's response: its JSON text as given (never re-serialised), else the response serialised, else null. */
export const responseText = (r: ItemResult): string | null => r.responseJson ?? (r.response === undefined ? null : JSON.stringify(r.response));

/**
 * status, attempts, model, mode, request_id, status_code, response, error, prompt_tokens,
 * cached_tokens, completion_tokens, reasoning_tokens, cost_usd, cache_marker, saved_usd, prompt_cache_saved_usd, latency_ms, rate_limited: in this
 * order in both stores.
 */
export function resultFields(r: ItemResult): ResultField[] {
  const u = r.usage;
  return [
    r.status, r.attempts, r.model, r.mode, r.requestId ?? null, r.statusCode ?? null, responseText(r), r.error ? JSON.stringify(r.error) : null,
    u?.prompt ?? 0, u?.cached ?? 0, u?.completion ?? 0, u?.reasoning ?? 0, r.costUsd ?? 0,
    r.cacheMarker ?? null, r.savedUsd ?? 0, r.promptCacheSavedUsd ?? 0,
    r.latencyMs === undefined ? null : Math.round(r.latencyMs), r.rateLimited ?? 0,
  ];
}
