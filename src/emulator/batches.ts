// The Batch API's engine: batches and their lifecycle on the time scale of the options —
// validating → in_progress → finalizing → completed, or failed (bad lines, enqueued token
// limit), expired, cancelling → cancelled. Lines are validated and served in slices (a few
// ms each, then the event loop gets a turn), paced so request_counts grow linearly over
// batchInProgressMs. Every step is a tracked timer or immediate, so close() stops them all.
import { performance } from 'node:perf_hooks';
import { BatchLineValidator, MAX_BATCH_REQUESTS, MAX_REPORTED_ERRORS, firstLineModel, type BatchLineError, type ValidLine } from './batch-input.ts';
import { expiredLine, lineFails, outputLine, serverErrorLine, shuffledOrder } from './batch-lines.ts';
import { errorBody, invalidRequest, type ErrorAnswer } from './errors.ts';
import { contentOf, type FileStore } from './files.ts';
import { newBatchId } from './ids.ts';
import { INFERENCE_PATHS, isInferencePath, type Endpoints } from './inference.ts';
import type { EmulatorOptions } from './options.ts';
import { lineBreaksSchema } from './faults.ts';
import type { StatsCounter } from './stats.ts';

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** OpenAI's Batch object. Times are unix seconds or null. */
export interface Batch {
  id: string;
  object: 'batch';
  endpoint: string;
  model: string | null;
  errors: { object: 'list'; data: BatchLineError[] } | null;
  input_file_id: string;
  completion_window: '24h';
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
  usage: {
    input_tokens: number;
    input_tokens_details: { cached_tokens: number };
    output_tokens: number;
    output_tokens_details: { reasoning_tokens: number };
    total_tokens: number;
  };
}

const TERMINAL: readonly BatchStatus[] = ['completed', 'failed', 'expired', 'cancelled'];
/** Statuses whose tokens count against the enqueued token limit (once validation admitted them). */
const ENQUEUED: readonly BatchStatus[] = ['in_progress', 'finalizing', 'cancelling'];
/** A slice of work runs at most this long before yielding the event loop. */
const SLICE_MS = 8;
const DAY_S = 24 * 60 * 60;

const unixNow = (): number => Math.floor(Date.now() / 1000);

/** One batch and its working state. */
interface BatchRun {
  batch: Batch;
  /** The input file's text, until validation is over. */
  text: string;
  pos: number;
  lineNo: number;
  requests: number;
  /** Until validation is over. */
  validator: BatchLineValidator | undefined;
  errors: BatchLineError[];
  validatingUntil: number;
  /** Valid lines, in input order; served in `order`. */
  lines: ValidLine[];
  order: Uint32Array;
  done: number;
  enqueuedTokens: number;
  startedAt: number;
  inProgressMs: number;
  /** Lines done at which the batch expires (undefined = never). */
  expireAt: number | undefined;
  out: Buffer[];
  err: Buffer[];
  /** The one pending step (timer or immediate), if any. */
  pending: { kind: 'timer'; handle: NodeJS.Timeout } | { kind: 'immediate'; handle: NodeJS.Immediate } | undefined;
}

export interface BatchEngineDeps {
  files: FileStore;
  endpoints: Endpoints;
  options: () => EmulatorOptions;
  stats: StatsCounter;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorAnswer };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validates metadata as OpenAI does: at most 16 keys of ≤64 characters, string values of ≤512. */
export function checkMetadata(metadata: unknown): ErrorAnswer | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (!isObject(metadata)) return invalidRequest("Invalid type for 'metadata': expected an object.", 'metadata', 'invalid_type');
  const entries = Object.entries(metadata);
  if (entries.length > 16) {
    return invalidRequest(
      `Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with ${entries.length} properties instead.`,
      'metadata',
      'object_above_max_properties',
    );
  }
  for (const [k, v] of entries) {
    if (k.length > 64) {
      return invalidRequest(`Invalid 'metadata': key '${k.slice(0, 20)}…' is ${k.length} characters long; keys may have at most 64.`, 'metadata', 'invalid_value');
    }
    if (typeof v !== 'string') return invalidRequest(`Invalid type for 'metadata.${k}': expected a string.`, 'metadata', 'invalid_type');
    if (v.length > 512) {
      return invalidRequest(`Invalid 'metadata.${k}': the value is ${v.length} characters long; values may have at most 512.`, 'metadata', 'invalid_value');
    }
  }
  return undefined;
}

export class BatchEngine {
  private readonly deps: BatchEngineDeps;
  /** Creation order; listed newest first. */
  private readonly runs = new Map<string, BatchRun>();
  private closed = false;

  constructor(deps: BatchEngineDeps) {
    this.deps = deps;
  }

  // ---- the API ------------------------------------------------------------------------

  create(body: unknown): Result<Batch> {
    if (!isObject(body)) return { ok: false, error: invalidRequest('The request body must be a JSON object.', null, 'invalid_type') };
    const missing = (p: string) => invalidRequest(`Missing required parameter: '${p}'.`, p, 'missing_required_parameter');
    const { input_file_id: fileId, endpoint, completion_window: window, metadata } = body;
    if (fileId === undefined || fileId === null) return { ok: false, error: missing('input_file_id') };
    if (typeof fileId !== 'string') return { ok: false, error: invalidRequest("Invalid type for 'input_file_id': expected a string.", 'input_file_id', 'invalid_type') };
    if (endpoint === undefined || endpoint === null) return { ok: false, error: missing('endpoint') };
    if (typeof endpoint !== 'string' || !isInferencePath(endpoint)) {
      return {
        ok: false,
        error: invalidRequest(
          `Invalid value: ${JSON.stringify(endpoint)}. Supported values are: ${INFERENCE_PATHS.map((p) => `'${p}'`).join(' and ')} (the endpoints the emulator serves).`,
          'endpoint',
          'invalid_value',
        ),
      };
    }
    if (window === undefined || window === null) return { ok: false, error: missing('completion_window') };
    if (window !== '24h') {
      return { ok: false, error: invalidRequest(`Invalid value: ${JSON.stringify(window)}. Supported values are: '24h'.`, 'completion_window', 'invalid_value') };
    }
    const badMetadata = checkMetadata(metadata);
    if (badMetadata) return { ok: false, error: badMetadata };
    const input = this.deps.files.get(fileId);
    if (!input) {
      return { ok: false, error: { status: 404, body: errorBody(`No such File object: ${fileId}`, 'invalid_request_error', 'input_file_id', null) } };
    }
    if (input.file.purpose !== 'batch') {
      return {
        ok: false,
        error: invalidRequest(
          `The input file ${fileId} has purpose '${input.file.purpose}'; a batch input file must be uploaded with purpose 'batch'.`,
          'input_file_id',
          'invalid_value',
        ),
      };
    }

    const data = contentOf(input);
    const now = unixNow();
    const opts = this.deps.options();
    const batch: Batch = {
      id: newBatchId(),
      object: 'batch',
      endpoint,
      model: firstLineModel(data) ?? null,
      errors: null,
      input_file_id: fileId,
      completion_window: '24h',
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: now,
      in_progress_at: null,
      expires_at: now + DAY_S,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: isObject(metadata) ? ({ ...metadata } as Record<string, string>) : null,
      usage: { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 },
    };
    const run: BatchRun = {
      batch,
      text: data.toString('utf8').replace(/^\uFEFF/, ''),
      pos: 0,
      lineNo: 0,
      requests: 0,
      validator: new BatchLineValidator(endpoint, this.deps.endpoints[endpoint]),
      errors: [],
      validatingUntil: performance.now() + opts.batchValidatingMs,
      lines: [],
      order: new Uint32Array(0),
      done: 0,
      enqueuedTokens: 0,
      startedAt: 0,
      inProgressMs: 0,
      expireAt: undefined,
      out: [],
      err: [],
      pending: undefined,
    };
    this.runs.set(batch.id, run);
    this.deps.stats.count('batchesCreated');
    this.later(run, 0, () => this.validateStep(run));
    return { ok: true, value: copy(batch) };
  }

  get(id: string): Result<Batch> {
    const run = this.runs.get(id);
    return run ? { ok: true, value: copy(run.batch) } : { ok: false, error: batchNotFound(id) };
  }

  cancel(id: string): Result<Batch> {
    const run = this.runs.get(id);
    if (!run) return { ok: false, error: batchNotFound(id) };
    const b = run.batch;
    if (TERMINAL.includes(b.status)) {
      return { ok: false, error: { status: 409, body: errorBody(`Cannot cancel a batch with status '${b.status}'.`, 'invalid_request_error', null, null) } };
    }
    if (b.status !== 'cancelling') {
      this.clearPending(run);
      b.status = 'cancelling';
      b.cancelling_at = unixNow();
      this.later(run, this.deps.options().batchFinalizingMs, () => {
        this.writeFiles(run);
        b.status = 'cancelled';
        b.cancelled_at = unixNow();
        this.release(run);
      });
    }
    return { ok: true, value: copy(b) };
  }

  /** Every batch, newest first: the live objects, to serialise at once (never to keep). */
  list(): readonly Batch[] {
    return [...this.runs.values()].reverse().map((r) => r.batch);
  }

  /** Copies of every batch, oldest first. */
  all(): Batch[] {
    return [...this.runs.values()].map((r) => copy(r.batch));
  }

  /** Stops every pending step (the batches stay as they are). */
  close(): void {
    this.closed = true;
    for (const run of this.runs.values()) this.clearPending(run);
  }

  // ---- scheduling ---------------------------------------------------------------------

  /** Runs `step` after `ms` (0 = on the next turn of the event loop); one pending step per batch. */
  private later(run: BatchRun, ms: number, step: () => void): void {
    this.clearPending(run);
    if (this.closed) return;
    const go = () => {
      run.pending = undefined;
      if (this.closed) return;
      try {
        step();
      } catch (err) {
        // An emulator bug must not take the process (tests, a worker) down: the batch fails.
        console.error(`emulator: batch ${run.batch.id} failed:`, err);
        this.fail(run, [{ code: 'server_error', message: `The emulator failed while running this batch: ${(err as Error).message}`, param: null, line: null }]);
      }
    };
    run.pending = ms > 0 ? { kind: 'timer', handle: setTimeout(go, ms) } : { kind: 'immediate', handle: setImmediate(go) };
  }

  private clearPending(run: BatchRun): void {
    const p = run.pending;
    if (!p) return;
    if (p.kind === 'timer') clearTimeout(p.handle);
    else clearImmediate(p.handle);
    run.pending = undefined;
  }

  // ---- validating ---------------------------------------------------------------------

  private validateStep(run: BatchRun): void {
    const t0 = performance.now();
    const text = run.text;
    let n = 0;
    while (run.pos < text.length) {
      const nl = text.indexOf('\n', run.pos);
      const end = nl === -1 ? text.length : nl;
      const raw = text.slice(run.pos, end);
      run.pos = end + 1;
      run.lineNo++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      if (++run.requests > MAX_BATCH_REQUESTS) {
        run.errors = [
          {
            code: 'too_many_tasks',
            message: `The batch input file holds more than ${MAX_BATCH_REQUESTS.toLocaleString('en-US')} requests, the most one batch may hold.`,
            param: null,
            line: null,
          },
        ];
        run.pos = text.length;
        break;
      }
      const r = run.validator!.check(line, run.lineNo);
      if ('prepared' in r) {
        run.lines.push(r);
        run.enqueuedTokens += r.prepared.promptTokens;
      } else if (run.errors.length < MAX_REPORTED_ERRORS) run.errors.push(r);
      if ((++n & 127) === 0 && performance.now() - t0 > SLICE_MS) return this.later(run, 0, () => this.validateStep(run));
    }
    run.text = '';
    this.later(run, run.validatingUntil - performance.now(), () => this.endValidation(run));
  }

  private endValidation(run: BatchRun): void {
    const b = run.batch;
    b.model = run.validator?.model ?? b.model;
    run.validator = undefined;
    if (run.errors.length > 0) return this.fail(run, run.errors);
    const opts = this.deps.options();
    const limit = opts.batchEnqueuedTokenLimit;
    if (limit) {
      let enqueued = 0;
      for (const other of this.runs.values()) {
        if (other !== run && other.batch.model === b.model && ENQUEUED.includes(other.batch.status)) enqueued += other.enqueuedTokens;
      }
      if (enqueued + run.enqueuedTokens > limit) {
        return this.fail(run, [
          {
            code: 'token_limit_exceeded',
            message: `Enqueued token limit reached for ${b.model} in organization org-emulator. Limit: ${limit.toLocaleString('en-US')} enqueued tokens. Please try submitting your batch again later.`,
            param: null,
            line: null,
          },
        ]);
      }
    }
    const total = run.lines.length;
    b.status = 'in_progress';
    b.in_progress_at = unixNow();
    b.request_counts.total = total;
    run.order = shuffledOrder(total, `${opts.seed}\u0000${b.id}`);
    run.startedAt = performance.now();
    run.inProgressMs = opts.batchInProgressMs;
    const f = opts.batchExpireAfter;
    run.expireAt = f === undefined || f === null ? undefined : Math.floor(f * total);
    this.runStep(run);
  }

  private fail(run: BatchRun, errors: BatchLineError[]): void {
    const b = run.batch;
    b.status = 'failed';
    b.failed_at = unixNow();
    b.errors = { object: 'list', data: errors };
    this.release(run);
  }

  // ---- in progress --------------------------------------------------------------------

  private runStep(run: BatchRun): void {
    const b = run.batch;
    const total = run.lines.length;
    const expiring = () => run.expireAt !== undefined && run.done >= run.expireAt && run.done < total;
    const now = performance.now();
    const due = run.inProgressMs <= 0 ? total : Math.min(total, Math.floor((total * (now - run.startedAt)) / run.inProgressMs));
    const opts = this.deps.options();
    const { stats } = this.deps;
    let out = '';
    let err = '';
    while (run.done < due && !expiring()) {
      const line = run.lines[run.order[run.done]];
      run.done++;
      if (lineFails(opts.batchLineErrorRate, opts.seed, b.id, line.customId)) {
        err += serverErrorLine(line.customId);
        b.request_counts.failed++;
        stats.count('batchLinesFailed');
      } else {
        const s = line.prepared.serve({ breakSchema: lineBreaksSchema(opts.schemaViolationRate, opts.seed, b.id, line.customId) });
        if (s.schemaBroken) stats.count('schemaViolations');
        out += outputLine(line.customId, s.body);
        b.request_counts.completed++;
        const u = b.usage;
        u.input_tokens += s.promptTokens;
        u.input_tokens_details.cached_tokens += s.cachedTokens;
        u.output_tokens += s.completionTokens;
        u.output_tokens_details.reasoning_tokens += s.reasoningTokens;
        u.total_tokens += s.promptTokens + s.completionTokens;
        stats.served(line.customId, s.promptTokens, s.completionTokens, { name: line.prepared.model, cachedTokens: s.cachedTokens });
        stats.count('batchLinesServed');
      }
      if ((run.done & 31) === 0 && performance.now() - now > SLICE_MS) break;
    }
    if (out) run.out.push(Buffer.from(out));
    if (err) run.err.push(Buffer.from(err));
    if (expiring()) return this.expire(run);
    if (run.done < due) return this.later(run, 0, () => this.runStep(run));
    if (run.done < total) {
      const nextDue = run.startedAt + ((run.done + 1) * run.inProgressMs) / total;
      return this.later(run, Math.max(5, nextDue - performance.now()), () => this.runStep(run));
    }
    this.later(run, run.startedAt + run.inProgressMs - performance.now(), () => this.finalize(run));
  }

  private finalize(run: BatchRun): void {
    const b = run.batch;
    b.status = 'finalizing';
    b.finalizing_at = unixNow();
    this.later(run, this.deps.options().batchFinalizingMs, () => {
      this.writeFiles(run);
      b.status = 'completed';
      b.completed_at = unixNow();
      this.release(run);
    });
  }

  /** Completed lines stay in the output file; every unfinished line goes to the error file. */
  private expire(run: BatchRun): void {
    let err = '';
    for (let i = run.done; i < run.lines.length; i++) err += expiredLine(run.lines[run.order[i]].customId);
    if (err) run.err.push(Buffer.from(err));
    this.writeFiles(run);
    run.batch.status = 'expired';
    run.batch.expired_at = unixNow();
    this.release(run);
  }

  /** The output and error files of what is done (none for an empty side). */
  private writeFiles(run: BatchRun): void {
    const b = run.batch;
    const { files } = this.deps;
    if (run.out.length > 0) b.output_file_id = files.add(`batch_${b.id}_output.jsonl`, 'batch_output', run.out).id;
    if (run.err.length > 0) b.error_file_id = files.add(`batch_${b.id}_error.jsonl`, 'batch_output', run.err).id;
  }

  /** Frees a finished batch's working state. */
  private release(run: BatchRun): void {
    run.text = '';
    run.validator = undefined;
    run.lines = [];
    run.order = new Uint32Array(0);
    run.out = [];
    run.err = [];
  }
}

function batchNotFound(id: string): ErrorAnswer {
  return { status: 404, body: errorBody(`No batch found with id '${id}'.`, 'invalid_request_error', null, null) };
}

function copy(b: Batch): Batch {
  return structuredClone(b);
}
