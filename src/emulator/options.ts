// The emulator's options: zod schema, defaults, the `START:DURATION` outage syntax, `--limit-window`
// and `--prompt-cache-ttl`.
import { z } from 'zod';
import { parseGoDuration } from '../domain/go-duration.ts';
import { DEFAULT_LIMIT_WINDOW_MS, MINUTE_MS } from './limits.ts';
import { DEFAULT_PROMPT_CACHE } from './prompt-cache.ts';

export interface Outage {
  /** Ms after the emulator started. */
  startMs: number;
  durationMs: number;
}

export interface EmulatorOptions {
  host: string;
  /** 0 = a random free port. */
  port: number;
  /** Requests per minute; undefined or 0 = unlimited. */
  rpm?: number;
  /** Tokens per minute; undefined or 0 = unlimited. */
  tpm?: number;
  /**
   * The window over which rpm/tpm are enforced, in ms (1..60000): each is a bucket holding
   * limit × window / 60 s. 1000 (OpenAI's "1 request per second for a 60 RPM limit") by default;
   * 60000 = a whole minute's burst.
   */
  limitWindowMs: number;
  latencyMs: number;
  jitterMs: number;
  /** Share of calls (0..1) answered 500 or 503, half each. */
  errorRate: number;
  /** Windows relative to the emulator's start during which every call fails with 503. */
  outages: Outage[];
  /** Share of calls answered 200 with a truncated JSON body. */
  malformedRate: number;
  /** Share of calls never answered. */
  hangRate: number;
  /**
   * Share of json_schema answers (0..1, chat and Batch API lines) whose content breaks the
   * request's schema (a required property left out, or one of the wrong type). Drawn per
   * request from the seed: the same request's first answer always breaks or never does, and
   * each repeat of it gets a fresh draw (a model sampling again), in any order of arrival.
   */
  schemaViolationRate: number;
  /** Every call answered 429 insufficient_quota. */
  quotaExhausted: boolean;
  /** Seed of the fault decisions (and of the Batch API's per-line draws and output order). */
  seed: number;
  /** Batch API: how long a batch stays `validating`, in ms. */
  batchValidatingMs: number;
  /** Batch API: time to run all of a batch's lines, in ms; request_counts grow linearly over it. */
  batchInProgressMs: number;
  /** Batch API: how long `finalizing` (and `cancelling`) lasts, in ms. */
  batchFinalizingMs: number;
  /** Batch API: share of lines (0..1) answered 500 in the error file, drawn per (batch, custom_id). */
  batchLineErrorRate: number;
  /** Batch API: a batch expires once this share (0..1) of its lines is done; undefined or null = never. */
  batchExpireAfter?: number | null;
  /** Batch API: enqueued prompt tokens per model over unfinished batches; undefined or 0 = unlimited. */
  batchEnqueuedTokenLimit?: number;
  /** Batch API fault (batch-refusals.ts): the 1-based ordinals of batch input uploads answered 400. */
  refuseUploads: number[];
  /** Batch API fault: the 1-based ordinals of POST /v1/batches answered 400. */
  refuseBatchCreates: number[];
  /** Prompt cache (prompt-cache.ts): least idle time before a cached prefix is evicted (it lasts up to twice this), ms. */
  promptCacheTtlMs: number;
  /** Prompt cache: the machines requests are routed over by prefix and prompt_cache_key. */
  promptCacheMachines: number;
  /** Prompt cache: requests a minute per prefix and key one machine takes before the excess overflows to others. */
  promptCacheOverflowRpm: number;
  /** Share of packed requests (packed-answer.ts) whose answer leaves one id out, drawn from the seed and the request. */
  packDropRate: number;
  /**
   * Structured Outputs: the share (0..1) of boolean fields drawn false, seeded per request (so
   * the same request always gets the same answer); half when unset. It models a model that
   * answers yes/no fields "no" at some rate, e.g. a judge failing that share of answers.
   */
  booleanFalseRate?: number;
}

export const DEFAULT_OPTIONS: EmulatorOptions = {
  host: '127.0.0.1',
  port: 0,
  rpm: undefined,
  tpm: undefined,
  limitWindowMs: DEFAULT_LIMIT_WINDOW_MS,
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  outages: [],
  malformedRate: 0,
  hangRate: 0,
  schemaViolationRate: 0,
  quotaExhausted: false,
  seed: 1,
  batchValidatingMs: 1000,
  batchInProgressMs: 5000,
  batchFinalizingMs: 500,
  batchLineErrorRate: 0,
  batchExpireAfter: undefined,
  batchEnqueuedTokenLimit: undefined,
  refuseUploads: [],
  refuseBatchCreates: [],
  promptCacheTtlMs: DEFAULT_PROMPT_CACHE.ttlMs,
  promptCacheMachines: DEFAULT_PROMPT_CACHE.machines,
  promptCacheOverflowRpm: DEFAULT_PROMPT_CACHE.overflowPerMinute,
  packDropRate: 0,
};

const rate = z.number().min(0).max(1);
const nonNegative = z.number().finite().min(0);

export const OutageSchema = z.strictObject({ startMs: nonNegative, durationMs: z.number().finite().positive() });

/** Every field optional: the shape of `configure()` patches and of `startEmulator()` arguments. */
export const EmulatorOptionsPatchSchema = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    rpm: nonNegative.optional(),
    tpm: nonNegative.optional(),
    limitWindowMs: z
      .number()
      .min(1, 'the limit window must be at least 1 ms')
      .max(MINUTE_MS, 'the limit window must be at most 60000 ms (60s)'),
    latencyMs: nonNegative,
    jitterMs: nonNegative,
    errorRate: rate,
    outages: z.array(OutageSchema),
    malformedRate: rate,
    hangRate: rate,
    schemaViolationRate: rate,
    quotaExhausted: z.boolean(),
    seed: z.number().int(),
    batchValidatingMs: nonNegative,
    batchInProgressMs: nonNegative,
    batchFinalizingMs: nonNegative,
    batchLineErrorRate: rate,
    batchExpireAfter: rate.nullable(),
    batchEnqueuedTokenLimit: z.number().int().min(0),
    refuseUploads: z.array(z.number().int().min(1)),
    refuseBatchCreates: z.array(z.number().int().min(1)),
    promptCacheTtlMs: z.number().finite().positive(),
    promptCacheMachines: z.number().int().min(1).max(100_000),
    promptCacheOverflowRpm: z.number().int().min(1),
    packDropRate: rate,
    booleanFalseRate: rate,
  })
  .partial();

export type EmulatorOptionsPatch = z.infer<typeof EmulatorOptionsPatchSchema>;

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
}

/**
 * Validates a patch (undefined fields are dropped, so `{ rpm: undefined }` means "no change";
 * `batchExpireAfter: null` is how a patch says "never expire").
 */
export function parsePatch(patch: unknown): EmulatorOptionsPatch {
  const cleaned =
    patch && typeof patch === 'object' && !Array.isArray(patch)
      ? Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined))
      : patch;
  const r = EmulatorOptionsPatchSchema.safeParse(cleaned);
  if (!r.success) throw new Error(`invalid emulator options: ${describe(r.error)}`);
  if ((r.data.errorRate ?? 0) + (r.data.malformedRate ?? 0) + (r.data.hangRate ?? 0) > 1) {
    throw new Error('invalid emulator options: errorRate + malformedRate + hangRate must not exceed 1');
  }
  return r.data;
}

/** Defaults overlaid with a validated partial. */
export function resolveOptions(partial: Partial<EmulatorOptions> = {}): EmulatorOptions {
  const merged: EmulatorOptions = { ...DEFAULT_OPTIONS, ...parsePatch(partial) };
  if (merged.batchExpireAfter === null) merged.batchExpireAfter = undefined;
  if (merged.errorRate + merged.malformedRate + merged.hangRate > 1) {
    throw new Error('invalid emulator options: errorRate + malformedRate + hangRate must not exceed 1');
  }
  return merged;
}

/** A bare number is ms; otherwise a Go-style duration ("30s", "1m", "1m30s", "250ms"). */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  return parseGoDuration(s);
}

/** Parses `START:DURATION`, e.g. `30s:20s`, `1m:5s`, `5000:2000` (ms). Throws with a clear message. */
export function parseOutage(text: string): Outage {
  const parts = text.split(':');
  const start = parts.length === 2 ? parseDurationMs(parts[0]) : undefined;
  const duration = parts.length === 2 ? parseDurationMs(parts[1]) : undefined;
  if (start === undefined || duration === undefined || start < 0 || !(duration > 0)) {
    throw new Error(
      `invalid outage "${text}": expected START:DURATION, each a number of ms or a duration like 30s, 1m, 1m30s (e.g. 30s:20s)`,
    );
  }
  return { startMs: start, durationMs: duration };
}

/** Parses `--limit-window`: a duration like 1s, 500ms, 60s, 1m, or bare ms, within 1ms..60s. */
export function parseLimitWindow(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || !(ms >= 1 && ms <= MINUTE_MS)) {
    throw new Error(
      `--limit-window must be a duration from 1ms to 60s (e.g. 1s, 500ms, 60s, 1m, or a number of ms), got "${text}"`,
    );
  }
  return ms;
}

/** Parses `--prompt-cache-ttl`: a duration like 5m, 20s, 1500ms, or bare ms, above 0. */
export function parsePromptCacheTtl(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || !(ms > 0)) {
    throw new Error(`--prompt-cache-ttl must be a duration above 0 (e.g. 5m, 20s, 1500ms, or a number of ms), got "${text}"`);
  }
  return ms;
}
