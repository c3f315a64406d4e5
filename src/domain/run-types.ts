// The small, serialisable shapes that travel through Temporal: configuration, chunk
// summaries and run status. Ids, counts, tokens and money only; never item bodies.

export type InputFormat = 'batch' | 'prompts';
export type RunMode = 'realtime';

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
  /** Most calls of this run in flight at once in one worker process, shared by its chunks. */
  concurrency: number;
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
}

export type ChunkStopReason = 'done' | 'insufficient_quota';

/** Counts, tokens and money over a set of items (a chunk, or a whole run). */
export interface ItemTotals {
  items: number;
  succeeded: number;
  failed: number;
  pending: number;
  tokens: TokenTotals;
  costUsd: number;
}

/** What a chunk reports back: small, whatever the chunk's size. */
export interface ChunkSummary extends ItemTotals {
  chunkIndex: number;
  stopReason: ChunkStopReason;
}

export type RunState = 'staging' | 'running' | 'exporting' | 'completed' | 'quota_exhausted' | 'failed';

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
  counts: RunCounts;
  costUsd: { spent: number; estimate: number };
  tokens: TokenTotals;
  chunks: { total: number; done: number; inFlight: number[] };
  startedAt: string;
  updatedAt: string;
  outputPath?: string;
  errorsPath?: string;
  rejectsPath?: string;
  error?: string;
}

/** What processChunk heartbeats, and what the CLI reads from a chunk in flight. */
export interface ChunkProgress {
  done: number;
  succeeded: number;
  failed: number;
  costUsd: number;
}

export const emptyTokens = (): TokenTotals => ({ prompt: 0, cached: 0, completion: 0, reasoning: 0 });
