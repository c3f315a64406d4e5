// The levers `llm-batch estimate` measures on a file beyond duplicates within it, each
// given to the estimate as a function so that the estimate owns none of them: the exact
// cache (which request keys earlier runs already answered), the provider's prompt cache (how
// many prompt tokens of a request a prefix seen before makes eligible) and routing rules
// (which model a line goes to). A lever not given shows as "n/a" with its reason.
import type { Route } from './run-types.ts';

/**
 * Which of these exact-cache keys (exactCacheKey in src/cache/exact-key.ts: lowercase hex
 * SHA-256 of the canonical request) hold a live answer in the cache now. Called once per
 * batch of up to ~500 keys, each key the first occurrence of its body in the file.
 */
export type CachedKeys = (keys: readonly string[]) => Promise<ReadonlySet<string>>;

/** Where a chat prompt's n-th message ends: the prompt up to there, hashed, and its tokens. */
export interface PrefixBoundary {
  /**
   * Hex digest of the model, the request's prompt-shaping parameters (tools, response_format…)
   * and messages[0..n], in order: equal keys mean equal prompt prefixes.
   */
  key: string;
  /** Prompt tokens up to and including message n (3 of framing per message, role, content, name), in the model's own encoding. */
  tokens: number;
}

/** A chat request as the prefix lever sees it, in the order requests would be sent. */
export interface PrefixRequest {
  model: string;
  /** The whole prompt's tokens, as billed (the boundaries plus the reply's priming). */
  promptTokens: number;
  /** One boundary per message, in order; the last one is the whole conversation. */
  boundaries: readonly PrefixBoundary[];
}

/**
 * An accumulator over one file: given the requests sent before it, how many prompt tokens of
 * this request the provider's prompt cache can serve (e.g. the longest prefix seen before,
 * if ≥ 1,024 tokens, in 128-token steps). The estimate prices them at the cached-input price.
 */
export interface PrefixLever {
  observe(request: PrefixRequest): number;
}

/** A line as routing rules see it. */
export interface RoutableLine {
  /** 1-based line in the file. */
  line: number;
  customId: string;
  /** The model the line names. */
  model: string;
  feature?: string;
  priority?: string;
  /** Prompt tokens in the line's own model's encoding. */
  promptTokens: number;
  /** The text of the last user message ('' when there is none, as for embeddings). */
  lastUserMessage: string;
}

/** Where a rule sends a line: a model (the line's own to keep it) and optionally a path. */
export interface RouteChoice {
  model: string;
  /** The rule's name or index as the rules file gives it ("default" when none matched). */
  rule: string;
  /** A rule that forces a path: the line is priced on it in every mode. */
  route?: Route;
}

export type RouteLine = (line: RoutableLine) => RouteChoice;

/** The levers given to an estimate; each missing one is reported as n/a with `why`. */
export interface EstimateLevers {
  cachedKeys?: CachedKeys;
  /** A fresh accumulator for one estimate. */
  prefix?: () => PrefixLever;
  routeLine?: RouteLine;
  /** Why a lever is not given, as the table shows it: "n/a (<why>)". */
  why?: { cachedKeys?: string; prefix?: string; routeLine?: string };
}
