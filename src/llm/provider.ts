// The provider client: one call per item through the openai SDK, with the SDK's own
// retries off (maxRetries: 0) so that this file's policy alone owns backoff. Every
// attempt first takes its share of the process-wide rate limiter.
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { TokenTotals } from '../domain/run-types.ts';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffPolicy } from '../domain/backoff.ts';
import { DEFAULT_PRIORITY, type Admission } from '../domain/pacing.ts';
import { parseRateLimitHeaders, systemClock, type RateLimiter } from './rate-limiter.ts';
import type { CallTelemetry } from '../observability/call-telemetry.ts';

export interface ProviderOptions {
  apiKey?: string;
  baseURL?: string;
  /** The limiter of one model on this account (OpenAI limits each model apart), or one for all. */
  limiter: RateLimiter | ((model: string) => RateLimiter);
  /** Attempts for retryable failures (5xx, timeouts, connection errors, malformed answers). */
  maxAttempts: number;
  /** 429 rate-limit answers are the provider asking us to wait, not failures: they have their own, larger cap. */
  maxRateLimitRetries?: number;
  requestTimeoutMs: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Metrics and spans of each request (src/observability/call-telemetry.ts); none when absent. */
  telemetry?: CallTelemetry;
}

export interface CallRequest {
  customId: string;
  url: string;
  body: unknown;
  /** Prompt tokens plus the output cap: what the limiter charges before the call. */
  chargeTokens: number;
  /** Attempts already spent on this item by earlier activity attempts. */
  priorAttempts: number;
  /** The run's priority, 1 most urgent … 5 least (3 when absent): the order in which the limiter admits calls. */
  priority?: number;
}

export type CallOutcome =
  | { kind: 'succeeded'; attempts: number; statusCode: number; requestId?: string; body: unknown; usage: TokenTotals; latencyMs?: number; rateLimited?: number }
  | { kind: 'failed'; attempts: number; statusCode?: number; requestId?: string; body?: unknown; error: { code: string; message: string; status?: number }; latencyMs?: number; rateLimited?: number }
  | { kind: 'quota_exhausted'; attempts: number; message: string }
  /** Told to stop before the item was done (pause, cancel, open circuit): it stays pending. */
  | { kind: 'interrupted'; attempts: number }
  /** A provider failure (5xx, timeout, connection) with the provider looking down: it stays pending. */
  | { kind: 'unavailable'; attempts: number; error: { code: string; message: string; status?: number } };

/** Whether the provider answers: fed every attempt's outcome, it says when to give up on it. */
export interface ProviderHealth {
  /** The provider answered (2xx, 4xx, 429). */
  success(): void;
  /** A provider failure (5xx, timeout, connection, malformed). True once the provider counts as down. */
  failure(): boolean;
  readonly tripped: boolean;
}

export interface CallOptions {
  /** Hard abort: the HTTP request in flight is dropped. */
  signal?: AbortSignal;
  /** Soft stop: no further attempt starts (waits are cut short), an attempt in flight finishes. */
  stop?: AbortSignal;
  health?: ProviderHealth;
  /** Overrides the client's maxAttempts (a probe makes exactly one). */
  maxAttempts?: number;
}

/** Usage as the provider reported it (chat and embeddings shapes). */
export function usageOf(body: unknown): TokenTotals {
  const u = (body as { usage?: Record<string, unknown> } | undefined)?.usage ?? {};
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const details = (k: string): Record<string, unknown> => (u[k] as Record<string, unknown> | undefined) ?? {};
  return {
    prompt: n(u.prompt_tokens),
    cached: n(details('prompt_tokens_details').cached_tokens),
    completion: n(u.completion_tokens),
    reasoning: n(details('completion_tokens_details').reasoning_tokens),
  };
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const s = Number(headers?.get('retry-after'));
  if (Number.isFinite(s) && s > 0) return s * 1000;
  return undefined;
}

type Classified = { retry: 'rate_limit'; waitMs?: number } | { retry: 'backoff'; waitMs?: number } | { retry: 'no' } | { retry: 'quota' };

/** Which failures are worth another attempt: 429, 408, 409, 5xx, timeouts, connection errors, unparseable answers. */
function classify(e: unknown): Classified {
  if (e instanceof APIError && e.status !== undefined) {
    if (e.status === 429) {
      if (e.code === 'insufficient_quota' || e.headers?.get('x-should-retry') === 'false') return { retry: 'quota' };
      return { retry: 'rate_limit', waitMs: retryAfterMs(e.headers) };
    }
    if (e.status === 408 || e.status === 409 || e.status >= 500) return { retry: 'backoff', waitMs: retryAfterMs(e.headers) };
    return { retry: 'no' };
  }
  if (e instanceof APIConnectionError) return { retry: 'backoff' };
  if (e instanceof SyntaxError) return { retry: 'backoff' }; // a truncated or invalid JSON body
  return { retry: 'backoff' };
}

function errorOf(e: unknown): { code: string; message: string; status?: number } {
  if (e instanceof APIError) {
    const err: { code: string; message: string; status?: number } = {
      code: e.code ?? e.type ?? (e instanceof APIConnectionError ? 'connection_error' : `http_${e.status ?? 'error'}`),
      message: e.message,
    };
    if (e.status !== undefined) err.status = e.status;
    return err;
  }
  if (e instanceof SyntaxError) return { code: 'malformed_response', message: `the provider's answer was not valid JSON: ${e.message}` };
  return { code: 'client_error', message: (e as Error)?.message ?? String(e) };
}

export class ProviderClient {
  private readonly openai: OpenAI;
  private readonly opts: ProviderOptions;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(opts: ProviderOptions) {
    this.opts = opts;
    this.openai = new OpenAI({
      // Without a key the SDK refuses to start; the emulator accepts any key.
      apiKey: opts.apiKey ?? 'no-key-emulator',
      baseURL: opts.baseURL ?? null,
      maxRetries: 0,
      timeout: opts.requestTimeoutMs,
    });
    this.random = opts.random ?? Math.random;
    this.sleep = opts.sleep ?? systemClock.sleep;
  }

  /** One item, until it succeeds, fails for good, the account is out of quota, or it is told to stop. */
  async call(req: CallRequest, opts: CallOptions = {}): Promise<CallOutcome> {
    const model = String((req.body as { model?: unknown } | undefined)?.model ?? '');
    const limiter = typeof this.opts.limiter === 'function' ? this.opts.limiter(model) : this.opts.limiter;
    const { signal, stop, health } = opts;
    const maxAttempts = opts.maxAttempts ?? this.opts.maxAttempts;
    const maxRateLimitRetries = this.opts.maxRateLimitRetries ?? 100;
    // Waits (limiter, backoff) end on either signal; only `signal` drops a request in flight.
    const waitSignal = signal && stop ? AbortSignal.any([signal, stop]) : (signal ?? stop);
    let attempts = req.priorAttempts;
    let failures = 0;
    let rateLimited = 0;
    const stopped = (): boolean => Boolean(stop?.aborted || health?.tripped);
    const wait = async (fn: () => Promise<void>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch (e) {
        if (signal?.aborted) throw signal.reason ?? e;
        if (stop?.aborted) return false;
        throw e;
      }
    };
    for (;;) {
      if (stopped()) return { kind: 'interrupted', attempts };
      let admission: Admission | undefined;
      const waitFrom = performance.now();
      const acquired = await wait(async () => {
        admission = await limiter.acquire(req.chargeTokens, { priority: req.priority ?? DEFAULT_PRIORITY, signal: waitSignal });
      });
      this.opts.telemetry?.limiterWaited(model, performance.now() - waitFrom);
      if (!acquired || !admission) return { kind: 'interrupted', attempts };
      if (stopped()) {
        limiter.observe(admission, {}); // admitted but never sent: nothing to learn, nothing in flight
        return { kind: 'interrupted', attempts };
      }
      attempts++;
      const sentAt = performance.now();
      const attempt = this.opts.telemetry?.attempt(model, req.url, req.customId, attempts);
      try {
        const { data, response } = await this.openai
          .post<unknown>(req.url.replace(/^\/v1/, ''), { body: req.body as Record<string, unknown>, headers: { 'X-Client-Request-Id': req.customId }, signal: signal ?? null })
          .withResponse();
        limiter.observe(admission, parseRateLimitHeaders((h) => response.headers.get(h)), performance.now() - sentAt);
        health?.success();
        // The last attempt's round trip and the 429s met on the way: the dashboard's latency and 429 curves.
        const ok: CallOutcome = { kind: 'succeeded', attempts, statusCode: response.status, body: data, usage: usageOf(data), latencyMs: performance.now() - sentAt, rateLimited };
        attempt?.answered(response.status, ok.usage);
        const requestId = response.headers.get('x-request-id');
        if (requestId) ok.requestId = requestId;
        return ok;
      } catch (e) {
        attempt?.failed(e);
        // Every attempt reports back, answered or not (a first-contact probe waits for it).
        limiter.observe(admission, e instanceof APIError && e.headers ? parseRateLimitHeaders((h) => e.headers!.get(h)) : {});
        if (e instanceof APIUserAbortError || signal?.aborted) throw signal?.reason ?? e;
        const c = classify(e);
        if (c.retry === 'backoff') {
          // A provider failure: once the provider counts as down the item waits for the circuit, not its own retries.
          if (health?.failure()) return { kind: 'unavailable', attempts, error: errorOf(e) };
        } else health?.success();
        if (c.retry === 'quota') return { kind: 'quota_exhausted', attempts, message: (e as Error).message };
        if (c.retry === 'rate_limit' && rateLimited < maxRateLimitRetries) {
          rateLimited++;
          // Every caller waits (of this process, or of every worker when the pacing is shared), and the pace slows.
          limiter.rateLimited(retryDelayMs(rateLimited, c.waitMs, this.opts.backoff ?? DEFAULT_BACKOFF, this.random));
          continue;
        }
        if (c.retry === 'backoff' && ++failures < maxAttempts) {
          const ms = retryDelayMs(failures, c.waitMs, this.opts.backoff ?? DEFAULT_BACKOFF, this.random);
          if (!(await wait(() => this.sleep(ms, waitSignal)))) return { kind: 'interrupted', attempts };
          continue;
        }
        const failed: CallOutcome = { kind: 'failed', attempts, error: errorOf(e), latencyMs: performance.now() - sentAt, rateLimited };
        if (e instanceof APIError && e.status !== undefined) {
          failed.statusCode = e.status;
          failed.body = { error: e.error ?? null };
          if (e.requestID) failed.requestId = e.requestID;
        }
        return failed;
      }
    }
  }
}
