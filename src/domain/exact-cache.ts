// The exact cache's rules, pure: what each --cache mode allows, which answers may be
// remembered, and the marker a hit's output line carries. The key is in cache-key.ts, the
// storage behind the item store, the run-facing logic in src/cache/.

export type CacheMode = 'read-write' | 'read' | 'write' | 'off';
export const CACHE_MODES: readonly CacheMode[] = ['read-write', 'read', 'write', 'off'];
export const DEFAULT_CACHE_MODE: CacheMode = 'read-write';
export const DEFAULT_CACHE_TTL_MS = 30 * 24 * 3_600_000;

/** What a mode lets a run do. */
export interface CachePolicy {
  /** Identical requests within the run are sent once (in flight together, or answered earlier in the run). */
  dedupe: boolean;
  /** Answers other runs shared may be reused (within the TTL). */
  useShared: boolean;
  /** This run's answers are shared with later runs. */
  share: boolean;
}

/**
 * read-write: use earlier runs' answers and share mine. read: use theirs, share none of mine.
 * write: share mine, use none of theirs. off: nothing, not even dedupe within the run.
 * A config without a mode (a run started before the cache existed) is off: a run in flight
 * when a worker is upgraded keeps behaving as it started; the CLI always sets one.
 */
export function cachePolicy(mode: CacheMode | undefined): CachePolicy {
  switch (mode) {
    case 'read-write':
      return { dedupe: true, useShared: true, share: true };
    case 'read':
      return { dedupe: true, useShared: true, share: false };
    case 'write':
      return { dedupe: true, useShared: false, share: true };
    default:
      return { dedupe: false, useShared: false, share: false };
  }
}

/** Why a successful answer must not be remembered, or undefined when it may. */
export type Uncacheable = 'not_an_answer' | 'refusal' | 'truncated' | 'content_filter';

/**
 * A chat completion may be remembered when every choice finished on its own ("stop",
 * "tool_calls", "function_call") and none is a refusal; an embeddings answer when it has data.
 * Truncated answers (finish_reason "length") are not: a rerun, typically with a higher
 * max_tokens (a new key anyway), must call again. Errors never reach here (only successes do).
 */
export function uncacheableReason(body: unknown): Uncacheable | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'not_an_answer';
  const b = body as { error?: unknown; choices?: unknown; data?: unknown };
  if (b.error !== undefined && b.error !== null) return 'not_an_answer';
  if (Array.isArray(b.data) && b.choices === undefined) return b.data.length > 0 ? undefined : 'not_an_answer';
  if (!Array.isArray(b.choices) || b.choices.length === 0) return 'not_an_answer';
  for (const c of b.choices as unknown[]) {
    if (!c || typeof c !== 'object') return 'not_an_answer';
    const choice = c as { finish_reason?: unknown; message?: { refusal?: unknown } | null };
    const refusal = choice.message?.refusal;
    if (typeof refusal === 'string' && refusal !== '') return 'refusal';
    if (choice.finish_reason === 'length') return 'truncated';
    if (choice.finish_reason === 'content_filter') return 'content_filter';
    if (choice.finish_reason === null || choice.finish_reason === undefined) return 'not_an_answer';
  }
  return undefined;
}

/** The top-level `llm_batch` field of a hit's output line: where the answer came from and what the hit saved. */
export interface CacheHitMarker {
  cache: 'exact';
  from_run: string;
  from_custom_id: string;
  /** What the answer's usage costs at this run's prices on this item's path (realtime, or the Batch discount). */
  saved_usd: number;
}

export function hitMarker(fromRun: string, fromCustomId: string, savedUsd: number): CacheHitMarker {
  return { cache: 'exact', from_run: fromRun, from_custom_id: fromCustomId, saved_usd: Math.round(savedUsd * 1e12) / 1e12 };
}
