// The system of record for every item of every run (DESIGN invariant 2). Every write
// is an idempotent upsert keyed by (run id, custom_id); the interface is async so the
// PostgreSQL store (postgres.ts) stands behind it unchanged. Both stores pass one suite,
// test/support/item-store-suite.ts.
import type { ItemTotals, RejectRecord, Route, TokenTotals } from '../domain/run-types.ts';
import type { PartPlan, PlanLimits } from '../domain/batch-plan.ts';
import type { RouteSpendRow } from '../domain/route-spend.ts';
import type { NewSemanticEntry, SemanticEntry, SemanticSpace } from './semantic-rows.ts';
import type { RunRecord } from './spend-rollup.ts';
import type { DashboardQuery } from './dashboard-sql.ts';

export type { RunRecord, DashboardQuery };

export type { ItemTotals, RejectRecord };
export type { NewSemanticEntry, SemanticEntry, SemanticSpace };

export type ItemStatus = 'pending' | 'succeeded' | 'failed';

/** An accepted input line, numbered in input order. */
export interface NewItem {
  customId: string;
  /** 0-based position among accepted items: chunks are ranges of seq. */
  seq: number;
  /** 1-based line in the input file. */
  line: number;
  url: string;
  /** The request body, exactly as it will be sent: the object, or `bodyJson`. */
  body?: unknown;
  /** The body as JSON.stringify gives it, when the caller has it already (staging serializes on its own thread). */
  bodyJson?: string;
  model: string;
  feature?: string;
  priority?: string;
  promptTokens: number;
  maxOutputTokens: number;
  /** Realtime or Batch API (batch and hybrid modes); realtime when absent. */
  route?: Route;
  /** The prompt's prefix group (domain/prompt-prefix.ts): items sharing its first 1,024 tokens; none under 1,024 tokens. */
  prefixGroup?: string;
  /** Below the group, its deeper prefix checkpoints (cut short): orders the group so longer shared prefixes sit together. */
  prefixPath?: string;
  /** --route: the rule that chose the model and why (absent without --route). */
  routing?: StagedRouting;
}

/** How the rules routed a line at staging. */
export interface StagedRouting {
  /** The matched rule's name; null when none matched. */
  rule: string | null;
  reason: string;
  /** A classifier rule: the rating call still to be made at dispatch, and its upper-bound size. */
  classifier?: { model: string; promptTokens: number; outputTokens: number };
}

/** How the rules routed a stored item. */
export interface ItemRouting {
  rule: string | null;
  reason: string;
  /** A classifier rule's rating model. */
  classifierModel?: string;
  /** The rating is still to be made (at dispatch, realtime). */
  classifierPending: boolean;
  /** What its rating calls cost (part of the item's costUsd). */
  classifierCostUsd: number;
}

/** A classifier's decision for a pending item: its model and body from now on, and what the rating cost. */
export interface ItemClassification {
  customId: string;
  model: string;
  bodyJson: string;
  promptTokens: number;
  reason: string;
  costUsd: number;
}

/** A batch-routed item too large for a batch file (domain/batch-refusal.ts). */
export interface TooLargeItem {
  customId: string;
  seq: number;
  model: string;
  /** Bytes of its batch input line. */
  bytes: number;
}

/** An item as a chunk reads it back to call the provider. */
export interface PendingItem {
  customId: string;
  seq: number;
  url: string;
  body: unknown;
  model: string;
  promptTokens: number;
  maxOutputTokens: number;
  attempts: number;
  /** --route only. */
  routing?: ItemRouting;
  /** Its prefix group, when its prompt has one: the prompt_cache_key is set per group. */
  prefixGroup?: string;
}

export interface ItemError {
  code: string;
  message: string;
  /** HTTP status of the provider's answer, when there was one. */
  status?: number;
}

export interface ItemResult {
  customId: string;
  status: 'succeeded' | 'failed';
  attempts: number;
  model: string;
  mode: string;
  requestId?: string;
  statusCode?: number;
  response?: unknown;
  /** The response body as JSON text, stored as it is (a batch output line's body, never parsed and re-serialised); wins over `response`. */
  responseJson?: string;
  error?: ItemError;
  usage?: TokenTotals;
  costUsd?: number;
  /** A cache hit: the output line's `llm_batch` marker as JSON text (domain/exact-cache.ts). */
  cacheMarker?: string;
  /** A cache hit: what its call would have cost. */
  savedUsd?: number;
  /** What the provider's prompt cache saved on it: cached tokens × (input − cached input price). */
  promptCacheSavedUsd?: number;
  /** The answering call's round trip in ms (realtime calls), for the dashboard. */
  latencyMs?: number;
  /** 429 answers the item met before this result, for the dashboard. */
  rateLimited?: number;
}

/** A stored item in the shape the export writes out. */
export interface StoredItem {
  customId: string;
  seq: number;
  status: ItemStatus;
  attempts: number;
  model: string;
  feature?: string;
  mode?: string;
  requestId?: string;
  statusCode?: number;
  error?: ItemError;
  usage: TokenTotals;
  costUsd: number;
  /** The response body as stored JSON text: the export splices it in without parsing it. */
  responseJson?: string;
  /** A cache hit's marker as JSON text, spliced into the output line as `llm_batch`. */
  cacheMarker?: string;
  /** --route only. */
  routing?: ItemRouting;
}

/**
 * Which items a piece of work covers: a range of dispatch positions (a chunk), a part, or a
 * seeded random sample of the run (the same seed always picks the same items, whatever their
 * status). Ranges count dispatch_seq, which is seq (input order) unless the run was put in
 * prefix-group order after staging (orderByPrefixGroup); results are always exported by seq.
 */
export type ItemSelection = { seqStart: number; seqEnd: number } | { sampleSeed: number; sampleSize: number } | { part: number };

export const isSample = (s: ItemSelection): s is { sampleSeed: number; sampleSize: number } => 'sampleSeed' in s;
export const isPart = (s: ItemSelection): s is { part: number } => 'part' in s;

/** A pending item as a Batch input line needs it: the body as stored JSON text. */
export interface PendingRequest {
  seq: number;
  customId: string;
  url: string;
  model: string;
  bodyJson: string;
}

/** A retryable failure of an item that stays pending (a batch line that will be resubmitted). */
export interface ItemRetry {
  customId: string;
  /** Submissions (or calls) spent on the item so far. */
  attempts: number;
  error: ItemError;
  mode: string;
  /**
   * What this attempt's discarded answer cost (a schema mismatch retried), and its usage: added
   * to the item's spend and tokens now and kept as its retry cost and tokens, which its final
   * result adds to its own. Counted once per attempt number: recording the same retry again adds nothing.
   */
  costUsd?: number;
  usage?: TokenTotals;
}

/** What llm-batch knows of one batch submission: how a retried submit finds its file and batch. */
export interface BatchRecord {
  key: string;
  model: string;
  lines: number;
  inputFileId?: string;
  batchId?: string;
  /** When the input file was uploaded (epoch ms): a lookup of the batch need not look further back. */
  uploadedAt?: number;
}

/** Pending items of a selection, summed per model: what a reservation is priced from. */
export interface PendingEstimate {
  model: string;
  items: number;
  promptTokens: number;
  /** Output tokens to reserve: each item's max_tokens, capped at the measured per-item figure when given. */
  outputTokens: number;
}

/** A succeeded item's measured size and cost, for the sample's statistics. */
export interface MeasuredItem {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** A succeeded item drawn for a quality spot-check: its request, kept metadata and response, as stored. */
export interface SpotCheckSample {
  customId: string;
  seq: number;
  bodyJson: string;
  /** The line's metadata llm-batch keeps (feature, priority). */
  metadata: { feature?: string; priority?: string };
  responseJson: string;
}

/** A remembered answer of the exact cache: complete (written in one statement) or absent. */
export interface CacheEntry {
  /** exactCacheKey(url, body): a SHA-256 of the canonical request. */
  key: string;
  url: string;
  model: string;
  /** The provider's response body as JSON text, usage included. */
  responseJson: string;
  /** The original call's usage and cost. */
  usage: TokenTotals;
  costUsd: number;
  /** The run and item whose call produced it. */
  runId: string;
  customId: string;
  requestId?: string;
  /** Epoch ms. */
  createdAt: number;
  /** Other runs may reuse it (the run's --cache was read-write or write). */
  shared: boolean;
}

/** Which entries a run may reuse: its own (whatever their age), and when includeShared those other runs shared no earlier than minCreatedAt. */
export interface CacheScope {
  runId: string;
  includeShared: boolean;
  /** Epoch ms: the TTL's horizon for other runs' entries. */
  minCreatedAt: number;
}

export interface StageOutcome {
  /** custom_ids that were already taken by another line, with that line. */
  duplicates: { customId: string; line: number; firstLine: number }[];
}

export interface ItemStore {
  /**
   * Inserts a batch of accepted items in one transaction. Re-staging the same line is a
   * no-op (so a retried staging activity is safe); a custom_id that an earlier line
   * already holds is reported as a duplicate and not inserted.
   */
  stageItems(runId: string, items: NewItem[]): Promise<StageOutcome>;
  /** Items of the selection not yet succeeded or finally failed, in dispatch order; at most `limit`. */
  pendingItems(runId: string, selection: ItemSelection, limit?: number): Promise<PendingItem[]>;
  /** Pending items of the selection per model, with output tokens capped at `outputTokensPerItem` when given. */
  pendingEstimate(runId: string, selection: ItemSelection, outputTokensPerItem?: number): Promise<PendingEstimate[]>;
  /** Size and cost of the selection's succeeded items. */
  measuredItems(runId: string, selection: ItemSelection): Promise<MeasuredItem[]>;
  /** Writes results in one transaction. A succeeded item is never overwritten. Its cost and tokens are the result's plus its retries' discarded answers'. */
  recordResults(runId: string, results: ItemResult[]): Promise<void>;
  /** Totals over a selection, or the whole run when none is given. */
  totals(runId: string, selection?: ItemSelection): Promise<ItemTotals>;
  /** Every item of a run in input order, streamed page by page (bounded memory); `response` is left as `responseJson` text. */
  items(runId: string, pageSize?: number): AsyncIterable<StoredItem>;
  /**
   * Gives every item of the run a part (batch and hybrid modes, see domain/batch-plan.ts).
   * Deterministic, so a retried planning gives the same parts.
   */
  planParts(runId: string, limits: PlanLimits): Promise<PartPlan>;
  /** Batch-routed items whose batch input line is over `maxBytes`, in seq order after `afterSeq`, at most `limit` (whatever their status). */
  tooLargeForBatch(runId: string, maxBytes: number, afterSeq: number, limit: number): Promise<TooLargeItem[]>;
  /** Pending items of the selection in seq order after `afterSeq`, at most `limit`, as Batch input lines need them. */
  pendingRequests(runId: string, selection: ItemSelection, afterSeq: number, limit: number): Promise<PendingRequest[]>;
  /** Records retryable failures: the items stay pending, with the error and attempts kept. */
  recordRetries(runId: string, retries: ItemRetry[]): Promise<void>;
  batchRecord(runId: string, key: string): Promise<BatchRecord | undefined>;
  /** Creates or replaces a submission's record, whole: a field left out is cleared (callers save the record they read, changed). */
  saveBatchRecord(runId: string, record: BatchRecord): Promise<void>;
  /** Keeps the input's rejects with the run, so rejects.jsonl can be written from any machine. Re-recording a line replaces it. */
  recordRejects(runId: string, rejects: RejectRecord[]): Promise<void>;
  /** The run's rejects in line order, page by page. */
  rejects(runId: string, pageSize?: number): AsyncIterable<RejectRecord>;
  /**
   * The cache entries for these keys that the scope allows, one per key: the run's own
   * entry first (so a run answers one key the same way throughout), else the newest shared.
   */
  cacheLookup(keys: string[], scope: CacheScope): Promise<Map<string, CacheEntry>>;
  /** Writes entries, each complete in one transaction; an entry for a (key, run) already there is kept. */
  cachePut(entries: CacheEntry[]): Promise<void>;
  /** Which of these keys have a shared entry no older than minCreatedAt (no response read: for estimates). */
  cachedKeys(keys: string[], minCreatedAt: number): Promise<string[]>;
  /**
   * Records classifier decisions of pending items: model, body and prompt tokens from now on,
   * the reason, and the rating's cost added to the item's cost (so a retry never pays it twice).
   */
  recordClassifications(runId: string, classifications: ItemClassification[]): Promise<void>;
  /** The run's items and spend grouped by model, routing rule and classifier model. */
  routeSpend(runId: string): Promise<RouteSpendRow[]>;
  /**
   * Puts the run's items in prefix-group order for dispatch: renumbers dispatch_seq (0, 1, …) so
   * each prefix group is contiguous (groups where they first appear in the input, each ordered by
   * its prefix path, then input order), items without a group where they are. Deterministic, so
   * a retried staging gives the same order; seq, and so the export's input order, is untouched.
   */
  orderByPrefixGroup(runId: string): Promise<void>;
  /**
   * Keeps a prompt's embedding for the semantic cache (store/semantic-rows.ts). Returns its
   * id, or undefined when that answer (exactKey) already has a vector in this space.
   */
  semanticPut(entry: NewSemanticEntry): Promise<number | undefined>;
  /** The space's entries with an id above `afterId` and created at or after `createdFrom` (epoch ms, default 0), by id, at most `limit`. */
  semanticEntriesSince(space: SemanticSpace, afterId: number, limit: number, createdFrom?: number): Promise<SemanticEntry[]>;
  /** Deletes the semantic cache's entries created before `createdBefore` (epoch ms); returns how many. */
  semanticPrune(createdBefore: number): Promise<number>;
  /**
   * A quality checkpoint's sample (domain/spot-check.ts): gives the run's succeeded items that
   * no checkpoint holds yet to `checkpoint`, then returns a seeded sample of `size` of the
   * checkpoint's items in seq order. The same seed gives the same sample; a retried call adds
   * only items that succeeded in between (a run takes checkpoints with nothing in flight).
   */
  spotCheckSample(runId: string, checkpoint: number, seed: number, size: number): Promise<SpotCheckSample[]>;
  /** Forgets a run's items (and rejects, batch records and its unshared cache entries), so a run id can be staged afresh. */
  deleteRun(runId: string): Promise<void>;
  /** Records a run's mode and budget for the dashboard (at staging; again replaces them). */
  recordRun(run: RunRecord): Promise<void>;
  /** Folds the spend changes recorded since the last fold into the dashboard's rollup (store/spend-rollup.ts). */
  foldSpendDelta(): Promise<void>;
  /** One of the dashboard's read queries (store/dashboard-sql.ts), as raw rows. */
  dashboardQuery(name: DashboardQuery, params: (string | number)[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}
