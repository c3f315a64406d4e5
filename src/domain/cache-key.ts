// The exact cache's key: the canonical request. Two requests get the same answer from the
// provider when they go to the same endpoint with the same model and the same parameters,
// whatever their custom_id, metadata or key order. Pure; hashing is in src/cache/exact-key.ts.

/**
 * Body fields that cannot change the answer, so a change in them is still a hit:
 * bookkeeping (metadata, user, safety_identifier, store), routing at the provider
 * (prompt_cache_key, prompt_cache_retention, service_tier). Everything else (temperature,
 * seed, response_format, tools, messages…) is part of the key.
 */
export const ANSWER_NEUTRAL_FIELDS: ReadonlySet<string> = new Set([
  'metadata',
  'user',
  'safety_identifier',
  'store',
  'prompt_cache_key',
  'prompt_cache_retention',
  'service_tier',
]);

/** Bumped when the key's meaning changes, so old entries stop matching instead of matching wrongly. */
export const CACHE_KEY_VERSION = 'v1';

/** JSON with object keys sorted at every depth; arrays keep their order (it matters). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The text the exact cache hashes: version, endpoint and the body without answer-neutral fields. */
export function canonicalRequest(url: string, body: unknown): string {
  const kept: Record<string, unknown> = {};
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) if (!ANSWER_NEUTRAL_FIELDS.has(k)) kept[k] = v;
  }
  return `${CACHE_KEY_VERSION} ${url} ${canonicalJson(kept)}`;
}
