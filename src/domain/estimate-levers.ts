// The levers `llm-batch estimate` measures on a file beyond duplicates within it: the exact
// cache (which request keys earlier runs already answered), the provider's prompt cache (how
// many prompt tokens prefix groups make eligible) and routing rules (which model each line
// goes to). They are given to the estimate (src/cli/estimate-levers.ts opens them), so the
// estimate owns none of them; a lever not given shows as "n/a" with its reason.
import type { Route } from './run-types.ts';
import type { RouteRules } from './route-rules.ts';
import type { PrefixFingerprint } from './prompt-prefix.ts';

/**
 * Which of these exact-cache keys (exactCacheKey in src/cache/exact-key.ts: lowercase hex
 * SHA-256 of the canonical request) hold a live answer in the cache now. Called once per
 * batch of up to ~500 keys, each key the first occurrence of its body in the file.
 */
export type CachedKeys = (keys: readonly string[]) => Promise<ReadonlySet<string>>;

/** A line that would be sent, as the prefix lever sees it, in file order. */
export interface PrefixRequest {
  /** The model it goes to. */
  model: string;
  /** Sent realtime in a hybrid run (the rest go through the Batch API, apart). */
  urgent: boolean;
  /**
   * Its prompt's fingerprint as staging computes it (promptFingerprint in
   * src/llm/prompt-fingerprint.ts); undefined for a prompt under 1,024 tokens or an embeddings line.
   */
  prefix?: PrefixFingerprint;
}

/** Prompt tokens the provider's cache can serve on lines of one model. */
export interface CachedTokens {
  /** Every line of the model dispatched together (a realtime or a batch run): one set of prefix groups. */
  together: number;
  /** A hybrid run: the urgent lines (realtime) and the rest (Batch API) go out apart, each with its own groups. */
  urgent: number;
  regular: number;
}

/** What the prefix lever found over the lines sent. */
export interface PrefixFigures {
  byModel: Map<string, CachedTokens>;
  /** Lines that can read a prefix from the cache (all but the first of each group, lines dispatched together). */
  lines: number;
  /** True when memory bounds made the count a lower bound. */
  approximate: boolean;
}

/** An accumulator over one file, fed the lines sent in file order. */
export interface PrefixLever {
  add(request: PrefixRequest): void;
  result(): PrefixFigures;
}

/** Where the routing rules send a line: routeParsedLine's decision (src/input/route-line.ts), without the body. */
export interface RoutedChoice {
  model: string;
  /** The matched rule's name; null when none matched (the line keeps its model). */
  rule: string | null;
  /** The matched rule's path (it applies in a hybrid run). */
  route?: Route;
  /** A classifier rule: its rating call at its upper bound (the line waits with the rule's `otherwise` model, priced here). */
  classifier?: { model: string; promptTokens: number; outputTokens: number };
  /** With the prefix lever, when the rules change the model: the routed request's fingerprint (staging fingerprints the routed body). */
  prefix?: PrefixFingerprint;
}

/** The levers given to an estimate; each missing one is reported as n/a with `why`. */
export interface EstimateLevers {
  cachedKeys?: CachedKeys;
  /** A fresh accumulator for one estimate (and one more for the routed lines, with `routes`). */
  prefix?: () => PrefixLever;
  /**
   * Routing rules (--route FILE): applied to each line on the counting threads exactly as
   * staging applies them (routeParsedLine), so they are plain data, not a function.
   */
  routes?: { rules: RouteRules; file: string };
  /** Why a lever is not given, as the table shows it: "n/a (<why>)". */
  why?: { cachedKeys?: string; prefix?: string; routes?: string };
  /** Something the user should know about a lever given (where the cache was looked up, say). */
  notes?: { cachedKeys?: string };
}
