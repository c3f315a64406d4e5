// How both stores turn an item into stored fields and rows back into the store's types.
// node:sqlite gives numbers (or bigints); node-postgres gives 64-bit integers (counts,
// sums) as strings.
import { batchInputLine } from '../domain/batch-format.ts';
import type { RejectRecord, Route } from '../domain/run-types.ts';
import type { BatchRecord, CacheEntry, ItemTotals, MeasuredItem, NewItem, PendingItem, PendingRequest, StoredItem } from './item-store.ts';
import { toRouting } from './route-sql.ts';

export type Row = Record<string, unknown>;

/** What staging stores beyond the item's own fields: its body as JSON text, its route, and its Batch input line's size. */
export function stagedFields(it: NewItem): { body: string; route: Route; lineBytes: number } {
  const body = it.bodyJson ?? JSON.stringify(it.body);
  return { body, route: it.route ?? 'realtime', lineBytes: Buffer.byteLength(batchInputLine(it.customId, it.url, body)) };
}

export const num = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'bigint' || typeof v === 'string' ? Number(v) : 0;
export const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

export function toStoredItem(r: Row): StoredItem {
  const item: StoredItem = {
    customId: String(r.custom_id),
    seq: num(r.seq),
    status: String(r.status) as StoredItem['status'],
    attempts: num(r.attempts),
    model: String(r.model),
    usage: { prompt: num(r.prompt_tokens), cached: num(r.cached_tokens), completion: num(r.completion_tokens), reasoning: num(r.reasoning_tokens) },
    costUsd: num(r.cost_usd),
  };
  const feature = str(r.feature);
  if (feature !== undefined) item.feature = feature;
  const mode = str(r.mode);
  if (mode !== undefined) item.mode = mode;
  const requestId = str(r.request_id);
  if (requestId !== undefined) item.requestId = requestId;
  if (r.status_code !== null && r.status_code !== undefined) item.statusCode = num(r.status_code);
  if (r.response !== null && r.response !== undefined) item.responseJson = String(r.response);
  if (r.error !== null && r.error !== undefined) item.error = JSON.parse(String(r.error)) as StoredItem['error'];
  const marker = str(r.cache_marker);
  if (marker !== undefined) item.cacheMarker = marker;
  const routing = toRouting(r);
  if (routing) item.routing = routing;
  return item;
}

/** A row of selection-sql.ts's TOTALS_COLUMNS. */
export function toTotals(r: Row): ItemTotals {
  const t: ItemTotals = {
    items: num(r.items),
    succeeded: num(r.succeeded),
    failed: num(r.failed),
    pending: num(r.pending),
    tokens: { prompt: num(r.prompt), cached: num(r.cached), completion: num(r.completion), reasoning: num(r.reasoning) },
    costUsd: num(r.cost),
    batch: { succeeded: num(r.batch_succeeded), failed: num(r.batch_failed), costUsd: num(r.batch_cost) },
    cache: { hits: num(r.cache_hits), savedUsd: num(r.saved) },
  };
  // Absent when none, so totals of runs without the semantic cache read as they always did.
  const semanticHits = num(r.semantic_hits);
  if (semanticHits !== 0) t.cache!.semanticHits = semanticHits;
  // Absent means nothing saved (so totals without prompt caching read as they always did).
  const saved = num(r.prompt_cache_saved);
  if (saved !== 0) t.promptCacheSavedUsd = saved;
  return t;
}

/** custom_id, seq, url, body, model, prompt_tokens_est, max_output_tokens, attempts, prefix_group, and the routing columns */
export function toPendingItem(r: Row): PendingItem {
  const item: PendingItem = {
    customId: String(r.custom_id),
    seq: num(r.seq),
    url: String(r.url),
    body: JSON.parse(String(r.body)) as unknown,
    model: String(r.model),
    promptTokens: num(r.prompt_tokens_est),
    maxOutputTokens: num(r.max_output_tokens),
    attempts: num(r.attempts),
  };
  const group = str(r.prefix_group);
  if (group !== undefined) item.prefixGroup = group;
  const routing = toRouting(r);
  if (routing) item.routing = routing;
  return item;
}

/** seq, custom_id, url, model, body */
export const toPendingRequest = (r: Row): PendingRequest => ({ seq: num(r.seq), customId: String(r.custom_id), url: String(r.url), model: String(r.model), bodyJson: String(r.body) });

/** prompt_tokens, completion_tokens, cost_usd */
export const toMeasuredItem = (r: Row): MeasuredItem => ({ promptTokens: num(r.prompt_tokens), completionTokens: num(r.completion_tokens), costUsd: num(r.cost_usd) });

/** line, custom_id, code, message */
export function toRejectRecord(r: Row): RejectRecord {
  return { line: num(r.line), custom_id: str(r.custom_id) ?? null, code: String(r.code), message: String(r.message) };
}

/** key, model, lines, input_file_id, batch_id, uploaded_at */
export function toBatchRecord(r: Row): BatchRecord {
  const rec: BatchRecord = { key: String(r.key), model: String(r.model), lines: num(r.lines) };
  const fileId = str(r.input_file_id);
  if (fileId !== undefined) rec.inputFileId = fileId;
  const batchId = str(r.batch_id);
  if (batchId !== undefined) rec.batchId = batchId;
  if (r.uploaded_at !== null && r.uploaded_at !== undefined) rec.uploadedAt = num(r.uploaded_at);
  return rec;
}

/** The response_cache columns both stores select, in toCacheEntry's terms. */
export const CACHE_ENTRY_COLUMNS = `key, url, model, response, prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_usd,
    run_id, custom_id, request_id, created_at, shared`;

export function toCacheEntry(r: Row): CacheEntry {
  const e: CacheEntry = {
    key: String(r.key),
    url: String(r.url),
    model: String(r.model),
    responseJson: String(r.response),
    usage: { prompt: num(r.prompt_tokens), cached: num(r.cached_tokens), completion: num(r.completion_tokens), reasoning: num(r.reasoning_tokens) },
    costUsd: num(r.cost_usd),
    runId: String(r.run_id),
    customId: String(r.custom_id),
    createdAt: num(r.created_at),
    shared: r.shared === true || num(r.shared) === 1,
  };
  const requestId = str(r.request_id);
  if (requestId !== undefined) e.requestId = requestId;
  return e;
}

/** Per key, the entry a run reuses: its own first (one answer per key throughout the run), else the newest. */
export function preferredEntries(entries: Iterable<CacheEntry>, runId: string): Map<string, CacheEntry> {
  const best = new Map<string, CacheEntry>();
  for (const e of entries) {
    const seen = best.get(e.key);
    const mine = e.runId === runId;
    const better = !seen || (mine !== (seen.runId === runId) ? mine : e.createdAt > seen.createdAt);
    if (better) best.set(e.key, e);
  }
  return best;
}

/** One entry's column values, in CACHE_ENTRY_COLUMNS order (shared as 0/1 or a boolean, as the store wants it). */
export const cacheEntryValues = (e: CacheEntry, shared: number | boolean): (string | number | boolean | null)[] => [
  e.key, e.url, e.model, e.responseJson, e.usage.prompt, e.usage.cached, e.usage.completion, e.usage.reasoning, e.costUsd,
  e.runId, e.customId, e.requestId ?? null, e.createdAt, shared,
];
