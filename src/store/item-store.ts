// The system of record for every item of every run (DESIGN invariant 2). Every write
// is an idempotent upsert keyed by (run id, custom_id); the interface is async so the
// PostgreSQL store (postgres.ts) stands behind it unchanged. Both stores pass one suite,
// test/support/item-store-suite.ts.
import type { ItemTotals, RejectRecord, Route, TokenTotals } from '../domain/run-types.ts';
import type { PartPlan, PlanLimits } from '../domain/batch-plan.ts';
import type { NewSemanticEntry, SemanticEntry, SemanticSpace } from './semantic-rows.ts';

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
}

/**
 * Which items a piece of work covers: a range of seq (a chunk), or a seeded random
 * sample of the run (the same seed always picks the same items, whatever their status).
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
  /** Items of the selection not yet succeeded or finally failed, in seq order; at most `limit`. */
  pendingItems(runId: string, selection: ItemSelection, limit?: number): Promise<PendingItem[]>;
  /** Pending items of the selection per model, with output tokens capped at `outputTokensPerItem` when given. */
  pendingEstimate(runId: string, selection: ItemSelection, outputTokensPerItem?: number): Promise<PendingEstimate[]>;
  /** Size and cost of the selection's succeeded items. */
  measuredItems(runId: string, selection: ItemSelection): Promise<MeasuredItem[]>;
  /** Writes results in one transaction. A succeeded item is never overwritten. */
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
   * Keeps a prompt's embedding for the semantic cache (store/semantic-rows.ts). Returns its
   * id, or undefined when that answer (exactKey) already has a vector in this space.
   */
  semanticPut(entry: NewSemanticEntry): Promise<number | undefined>;
  /** The space's entries with an id above `afterId` and created at or after `createdFrom` (epoch ms, default 0), by id, at most `limit`. */
  semanticEntriesSince(space: SemanticSpace, afterId: number, limit: number, createdFrom?: number): Promise<SemanticEntry[]>;
  /** Deletes the semantic cache's entries created before `createdBefore` (epoch ms); returns how many. */
  semanticPrune(createdBefore: number): Promise<number>;
  /** Forgets a run's items (and rejects and batch records), so a run id can be staged afresh. */
  deleteRun(runId: string): Promise<void>;
  close(): Promise<void>;
}
