// The small, serialisable shapes that travel through Temporal: configuration, chunk
// summaries and run status. Ids, counts, tokens and money only; never item bodies.
import type { CacheMode } from './exact-cache.ts';
import type { RouteRules } from './route-rules.ts';
import type { WindowPolicy, WindowRecordStatus, WindowStatus } from './run-window.ts';
import type { CheckpointResult, SpotCheckConfig } from './spot-check.ts';

export type InputFormat = 'batch' | 'prompts';
/**
 * realtime: concurrent calls under the rate limits. batch: through the OpenAI Batch API
 * (half price, up to 24 h). hybrid: urgent items realtime, the rest through the Batch API.
 */
export type RunMode = 'realtime' | 'batch' | 'hybrid';

/** A line the input refused (or whose custom_id an earlier line holds), as rejects.jsonl holds it. */
export interface RejectRecord {
  /** 1-based line in the input file. */
  line: number;
  custom_id: string | null;
  code: string;
  message: string;
}
export const RUN_MODES: readonly RunMode[] = ['realtime', 'batch', 'hybrid'];

/** Which path an item or a piece of work takes. */
export type Route = 'realtime' | 'batch';

/** What happens to batch lines that failed in a way worth retrying (5xx, expiry, rate limits). */
export type OnBatchFailure = 'resubmit' | 'realtime';

/** What the CLI hands to runWorkflow. Paths are as the worker sees them. */
export interface RunConfig {
  runId: string;
  inputPath: string;
  mode: RunMode;
  /** Model for prompts files, and an override for batch lines when set. */
  model?: string;
  /** For prompts files. */
  system?: string;
  maxTokens?: number;
  /**
   * Most calls of this run in flight at once in one worker process, shared by its chunks.
   * auto: enough to reach the rate limit at the measured latency (Little's law), up to maxConcurrency.
   */
  concurrency: number | 'auto';
  /** The ceiling of `concurrency: 'auto'` (256 when absent). */
  maxConcurrency?: number;
  /**
   * Temporal task priority of the run, its chunks and their activities, and of its calls in
   * the rate limiter: 1 most urgent … 5 least, 3 by default (as Temporal's priorityKey).
   */
  priority?: number;
  rpm?: number;
  tpm?: number;
  chunkSize: number;
  maxChunksInFlight: number;
  /** Continue-as-new past this many history events (Temporal also suggests it on its own). */
  continueAsNewAfterEvents: number;
  /** Attempts per item for retryable failures (5xx, timeouts, connection errors). */
  maxAttemptsPerItem: number;
  /** Per-call timeout, so a call that never answers is retried. */
  requestTimeoutMs: number;
  /** Heartbeat timeout of the chunk activity: how fast a dead worker's chunk moves on. */
  heartbeatTimeoutMs: number;
  /** Pricing file path (as the worker sees it); the bundled table when absent. */
  pricingPath?: string;
  /** Budget in USD; none enforced when absent (the estimate is still shown). */
  budgetUsd?: number;
  /** Share of the budget (0–1) at which the run turns yellow and switches to fallbackModel. */
  budgetWarnAt: number;
  /** The cheaper model remaining work switches to in yellow. */
  fallbackModel?: string;
  /** A chunk stops itself once its spend reaches its reservation times this factor. */
  chunkCapFactor: number;
  /** Margin over the measured mean output tokens when reserving (0.25 = +25%). */
  outputMargin: number;
  /** Consecutive provider failures (5xx, timeouts, connection errors) that open the circuit. */
  circuitFailureThreshold: number;
  /** First wait of an open circuit before its probe; doubles up to circuitMaxDelayMs. */
  circuitInitialDelayMs: number;
  circuitMaxDelayMs: number;
  /** Process a random sample of this many items first and measure the cost. */
  sampleSize?: number;
  /** After the sample, wait in awaiting_approval for `approve` or `reject`. */
  approve?: boolean;
  /**
   * Where alerts are POSTed: a URL, or `env:NAME` to read it from the worker's
   * environment (so a secret webhook never enters Temporal history). Never in the memo.
   */
  alertWebhook?: string;

  // ── Batch API (modes batch and hybrid) ──
  /** Most lines per batch file (OpenAI's limit is 50,000). */
  maxBatchLines: number;
  /** Most bytes per batch file (OpenAI's limit is 200 MB). */
  maxBatchBytes: number;
  /** Batches in flight at the provider at once (the realtime window is maxChunksInFlight). */
  maxBatchesInFlight: number;
  /** Submissions per batch file for lines that keep failing in a retryable way. */
  maxBatchAttempts: number;
  /** resubmit: failed lines go into a new, smaller batch; realtime: they go through the realtime path. */
  onBatchFailure: OnBatchFailure;
  /** First wait between polls of a batch; doubles up to batchPollMaxMs. */
  batchPollInitialMs: number;
  batchPollMaxMs: number;
  /** Batches not done this long after the run started are cancelled; the rest finishes realtime. */
  deadlineMs?: number;
  /** Hybrid: a rule sending matching items realtime (besides metadata.priority "urgent"), e.g. `feature=support`. */
  urgentIf?: string;

  // ── Exact cache (domain/exact-cache.ts) ──
  /** read-write, read, write or off; absent: off (a run started before the cache; the CLI always sets it). */
  cache?: CacheMode;
  /** Answers older than this are not reused (30 days when absent). */
  cacheTtlMs?: number;
  /** --route FILE, parsed and validated by the CLI (domain/route-rules.ts): workers never read the user's file. */
  routeRules?: RouteRules;
  /**
   * Provider prompt caching: `on` (the default, also when absent) dispatches items that share a
   * long prompt prefix together and sets a prompt_cache_key per prefix group; `off` does neither.
   */
  promptCache?: 'on' | 'off';
  // ── Semantic cache (cache/semantic-cache.ts, cache/semantic-step.ts) ──
  /**
   * --semantic-cache: the cosine similarity a stored prompt needs for its answer to be reused
   * (after the guard); absent: off. Realtime calls only; needs the exact cache (`cache` not off).
   */
  semanticThreshold?: number;
  /** The embeddings model the semantic cache compares prompts with; text-embedding-3-small when absent. */
  embeddingModel?: string;
  // ── Structured outputs (--schema; domain/response-schema.ts) ──
  /**
   * --schema FILE, read and checked by the CLI (workers never read the user's file): the
   * response_format json_schema (strict) of every chat request without its own, and what each
   * answer is validated against. Absent: answers are not validated.
   */
  responseSchema?: { name: string; schema: Record<string, unknown> };
  /** Schema mismatches retried per item (each a new, paid call) before it fails with schema_mismatch; 2 when absent. */
  schemaRetries?: number;
  // ── Request packing (domain/pack-plan.ts, activities/realtime-pack.ts) ──
  /** --pack N: up to N small realtime items of the same request shape share one call; absent or < 2: off. */
  pack?: number;
  /** --pack-max-tokens: most tokens (prompt plus output bound) of one packed call; the model's context when absent. */
  packMaxTokens?: number;
  /**
   * --window, --per-window-items, --per-window-budget: the run is paced by windows of `everyMs`,
   * each doing at most `items` items and spending at most `budgetUsd` (domain/run-window.ts).
   */
  window?: WindowPolicy;
  /** --spot-check: quality checkpoints of a sample of finished items, gating the run (domain/spot-check.ts). */
  spotCheck?: SpotCheckConfig;
}

export interface TokenTotals {
  prompt: number;
  cached: number;
  completion: number;
  reasoning: number;
}

export interface StageResult {
  lines: number;
  accepted: number;
  rejected: number;
  /** One past the highest seq given out: chunks cover [0, seqEnd). */
  seqEnd: number;
  rejectsPath: string;
  /** Exact prompt tokens of the accepted items, and the most output they may produce. */
  promptTokens: number;
  maxOutputTokens: number;
  /** Upper-bound cost estimate (prompt exact, output at max_tokens), USD. */
  estimateUsd: number;
  models: string[];
  /**
   * Prompt prefixes shared by items (domain/prompt-prefix.ts): groups of two or more items, the
   * items in them, the prompt tokens the provider's cache could serve, and whether the run was
   * put in prefix-group order for dispatch.
   */
  promptPrefix?: { groups: number; groupedItems: number; eligibleCachedTokens: number; ordered: boolean };
  /** What staging noticed without rejecting a line (a prompt layout that defeats the cache), naming file and lines. */
  warnings?: string[];
}

/**
 * Why a chunk returned. Anything but `done` and `insufficient_quota` leaves its pending
 * items to a later dispatch of the same range.
 */
export type ChunkStopReason =
  | 'done'
  | 'insufficient_quota'
  /** N consecutive provider failures: the run opens its circuit. */
  | 'provider_unavailable'
  /** The chunk's spend reached its reservation times chunkCapFactor. */
  | 'cost_cap'
  /** The dispatch's item limit (a budget-sized part of the chunk) was reached. */
  | 'item_limit'
  /** Told to stop by the run: */
  | 'paused'
  | 'circuit_open'
  | 'cancelled'
  | 'rejected'
  /** A batch chunk: its pending items go through the realtime path (--on-batch-failure realtime). */
  | 'to_realtime'
  /** A batch chunk past the run's --deadline: its batch was cancelled, its pending items go realtime. */
  | 'deadline';

/** Why the run told its in-flight chunks to stop. */
export type ChunkStopSignal = 'paused' | 'circuit_open' | 'cancelled' | 'rejected' | 'deadline';

/**
 * Stops that end a batch already at the provider (cancel it there, keep what it did). A
 * pause or an open circuit only holds batches not yet submitted: one at the provider runs on.
 */
export const stopEndsBatch = (s: ChunkStopSignal | undefined): boolean => s === 'cancelled' || s === 'rejected' || s === 'deadline';

/** What went through the Batch API, within some totals. */
export interface BatchTotals {
  succeeded: number;
  failed: number;
  costUsd: number;
}

/** Items answered from the cache (no call, $0) and what their calls would have cost. */
export interface CacheTotals {
  hits: number;
  savedUsd: number;
  /** Of the hits, those the semantic cache answered (absent when none). */
  semanticHits?: number;
}

/** Counts, tokens and money over a set of items (a chunk, or a whole run). */
export interface ItemTotals {
  items: number;
  succeeded: number;
  failed: number;
  pending: number;
  tokens: TokenTotals;
  costUsd: number;
  /** The part of the above done through the Batch API (the rest was realtime). */
  batch?: BatchTotals;
  /** Succeeded items answered from the cache (part of succeeded; their tokens and cost count 0). */
  cache?: CacheTotals;
  /** What the provider's prompt cache saved: cached tokens × (input − cached input price), per item's model and mode. */
  promptCacheSavedUsd?: number;
}

/** What a chunk reports back: small, whatever the chunk's size. */
export interface ChunkSummary extends ItemTotals {
  chunkIndex: number;
  stopReason: ChunkStopReason;
}

export type RunState =
  | 'staging'
  | 'sampling'
  | 'awaiting_approval'
  | 'running'
  | 'paused'
  | 'circuit_open'
  | 'budget_exhausted'
  /** The window's quota is used: waiting on a durable timer for the next window (status.window.nextStartAt). */
  | 'waiting_window'
  /** A spot-check's pass rate fell below --min-pass-rate: no dispatch until approve or reject. */
  | 'quality_hold'
  | 'exporting'
  /** Final states: */
  | 'completed'
  | 'quota_exhausted'
  | 'cancelled'
  | 'rejected'
  | 'failed';

export const FINAL_STATES: readonly RunState[] = ['completed', 'quota_exhausted', 'cancelled', 'rejected', 'failed'];

/** none: no budget given; green below budgetWarnAt; yellow up to 100%; red at or past it. */
export type BudgetState = 'none' | 'green' | 'yellow' | 'red';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitStatus {
  state: CircuitState;
  /** When the circuit last opened (ISO), while open. */
  openedAt?: string;
  /** When the next probe is due (ISO), while open. */
  nextProbeAt?: string;
  /** Times the circuit has opened over the run, and probes sent. */
  openings: number;
  probes: number;
}

/** The yellow switch to the fallback model: once per run, recorded. */
export interface ModelSwitch {
  from: string;
  to: string;
  at: string;
  /** Spend when it happened. */
  spentUsd: number;
}

/** What the sample measured, and the total it extrapolates to. */
export interface SampleEstimate {
  /** Items of the sample that succeeded and were measured. */
  measured: number;
  meanInputTokens: number;
  meanOutputTokens: number;
  meanCostUsd: number;
  /** Extrapolated cost of the whole run (sample included), with a 90% interval. */
  totalUsd: { estimate: number; low: number; high: number };
}

export interface RunCounts {
  total: number;
  succeeded: number;
  failed: number;
  rejected: number;
  pending: number;
}

export interface RunStatus {
  runId: string;
  state: RunState;
  /** The run's priority, 1 most urgent … 5 least (3 when not given). */
  priority: number;
  counts: RunCounts;
  costUsd: {
    spent: number;
    /** Reservations of the chunks in flight. */
    reserved: number;
    budget: number | null;
    /** How far spend went past the budget (what was in flight when it was reached). */
    overshoot: number;
    /** Spent plus the estimated cost to finish, from measured means once there are some. */
    estimateTotal: number;
    /** The upper bound from staging: prompts exact, outputs at max_tokens. */
    upperBound: number;
  };
  budgetState: BudgetState;
  circuit: CircuitStatus;
  modelSwitch?: ModelSwitch;
  sample?: SampleEstimate;
  tokens: TokenTotals;
  /** inFlight: workflow ids of the chunk dispatches running now; batchInFlight: those of them at the Batch API. */
  chunks: { total: number; done: number; inFlight: string[]; batchInFlight?: string[] };
  /** Batch and hybrid runs: items and cost of each path. */
  paths?: PathSplit;
  /** Items answered from the exact cache (and the semantic cache: semanticHits) and the dollars that saved (runs with --cache other than off). */
  cache?: CacheTotals;
  /** The batches in flight, as their chunks report them (filled in by the client, not the run). */
  batches?: BatchChunkView[];
  /** --deadline: when batches still running are cancelled and their rest goes realtime. */
  deadline?: { at: string; passed: boolean };
  /** --window: the current window, its quota and use, and when the next may start. */
  window?: WindowStatus;
  /** --window: the windows that ended, oldest first: when each ran, its items and spend. */
  windowsEnded?: WindowRecordStatus[];
  /** The last operator signal that was refused, and why. */
  lastSignalError?: string;
  /**
   * Provider prompt caching: the share of prompt tokens served from the provider's cache
   * (tokens.cached ÷ tokens.prompt), the dollars that saved (cached tokens × (input − cached
   * input price), per model), and the prompt tokens staging found eligible (shared prefixes).
   */
  promptCache?: { hitShare: number; savedUsd: number; eligibleTokens?: number };
  /** What staging noticed without rejecting a line (a prompt layout that defeats the cache), naming file and lines. */
  warnings?: string[];
  /** --spot-check: each checkpoint's pass rate (the latest ones), the checkpoint holding the run, the judge's spend. */
  quality?: { minPassRate: number; checkpoints: CheckpointResult[]; holding?: number; judgeCostUsd: number };
  startedAt: string;
  updatedAt: string;
  outputPath?: string;
  errorsPath?: string;
  rejectsPath?: string;
  error?: string;
}

/** Where a batch chunk is, as its `batch` query answers. */
export interface BatchChunkView {
  workflowId?: string;
  chunkIndex: number;
  phase: 'submitting' | 'at_provider' | 'cancelling' | 'collecting' | 'waiting_provider_queue' | 'done';
  /** Submissions so far (0-based number of the current one). */
  submission: number;
  batchId?: string;
  /** The provider's status of the batch (validating, in_progress, finalizing, …). */
  status?: string;
  lines: number;
  completed: number;
  failed: number;
  /** When the next poll (or, waiting on the provider's queue, the next submission) is due (ISO). */
  nextCheckAt?: string;
  /** Why it waits, in words (token_limit_exceeded, …). */
  note?: string;
}

/** One path of a batch or hybrid run: its items and what they cost. */
export interface PathTotals {
  /** Items routed to this path at planning (the sample, --deadline and --on-batch-failure realtime move some to realtime). */
  items: number;
  succeeded: number;
  failed: number;
  costUsd: number;
}

/** The split of a batch or hybrid run, and what all-realtime would have cost. */
export interface PathSplit {
  realtime: PathTotals;
  batch: PathTotals;
  /** What the same work would have cost realtime: batch spend at full price, plus realtime spend. */
  allRealtimeUsd: number;
  savedUsd: number;
}

/** What processChunk heartbeats (counted from the dispatch's start), and what the CLI reads from a chunk in flight. */
export interface ChunkProgress {
  done: number;
  succeeded: number;
  failed: number;
  costUsd: number;
}

export const emptyTokens = (): TokenTotals => ({ prompt: 0, cached: 0, completion: 0, reasoning: 0 });

/** How an item never done is listed in errors.jsonl. */
export interface NotDone {
  code: string;
  message: string;
}

/** The errors-file entry for items a run ended without doing, by how it ended. */
export function notDoneFor(state: RunState): NotDone {
  switch (state) {
    case 'cancelled':
      return { code: 'cancelled', message: 'the run was cancelled before this item was processed' };
    case 'rejected':
      return { code: 'rejected', message: 'the run was rejected (after its sample or a quality hold); this item was not processed' };
    case 'quota_exhausted':
      return { code: 'insufficient_quota', message: 'not sent: the provider answered insufficient_quota, so the run stopped dispatching' };
    case 'completed':
    case 'failed':
      return { code: 'not_processed', message: 'the run ended before this item was processed' };
    default:
      return { code: 'not_processed', message: `not done yet: the run is ${state}` };
  }
}
