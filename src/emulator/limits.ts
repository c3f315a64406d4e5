// Requests- and tokens-per-minute limits as OpenAI enforces them: the per-minute limit is
// applied over a shorter window ("1 request per second for a 60 RPM limit"), modelled as a
// continuous token bucket of capacity limit × window / 60 s (no carry-over beyond it),
// refilling at limit/60000 per ms, starting full; a window of 60 s is the plain minute bucket.
// A request larger than the window's capacity (but within the per-minute limit) is admitted
// when the bucket is full and leaves it in debt; one above the per-minute limit never passes.
// A call rejected for a rate limit still takes one request ("unsuccessful requests contribute
// to your per-minute limit") and no tokens. Also the `x-ratelimit-*` header values (limits
// per minute, remaining and reset of the enforced bucket) in the Go-style durations ("6ms",
// "1.5s", "1m0s") OpenAI uses (src/domain/go-duration.ts). Pure: the clock is injected.

import { formatGoDuration } from '../domain/go-duration.ts';

/** Limit reported in headers when a limit is not configured. */
export const UNLIMITED = 100_000_000;

/** The default enforcement window: OpenAI's own example, 1 request per second for 60 RPM. */
export const DEFAULT_LIMIT_WINDOW_MS = 1000;
export const MINUTE_MS = 60_000;

/** Slack for float error when a wait computed from the refill rate has just elapsed. */
const EPSILON = 1e-9;

/**
 * One continuous bucket for a per-minute `limit` enforced over `windowMs` (1..60000).
 * `limit` of undefined or 0 means unlimited (never blocks). The level may go negative:
 * debt from an oversize request, or from rejected calls charged to the request bucket.
 */
export class Bucket {
  /** The per-minute limit (what the headers report). */
  readonly limit: number;
  /** What the bucket holds when full: limit × windowMs / 60000. */
  readonly capacity: number;
  readonly unlimited: boolean;
  private level: number;
  private updatedAt: number;
  private readonly perMs: number;

  constructor(limit: number | undefined, now: number, windowMs: number = MINUTE_MS) {
    if (!(windowMs > 0 && windowMs <= MINUTE_MS)) throw new RangeError(`limit window must be within 1ms..60s, got ${windowMs} ms`);
    this.unlimited = !limit || limit <= 0;
    this.limit = this.unlimited ? UNLIMITED : (limit as number);
    this.capacity = this.unlimited ? UNLIMITED : (this.limit * windowMs) / MINUTE_MS;
    this.level = this.capacity;
    this.perMs = this.limit / MINUTE_MS;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.level = Math.min(this.capacity, this.level + (now - this.updatedAt) * this.perMs);
      this.updatedAt = now;
    }
  }

  /** The level now (fractional; negative while in debt). */
  available(now: number): number {
    this.refill(now);
    return this.level;
  }

  /**
   * Ms until `amount` can be taken (0 if now; Infinity if never, i.e. above the per-minute limit).
   * An amount above the window's capacity can be taken once the bucket is full.
   */
  msUntil(amount: number, now: number): number {
    if (this.unlimited) return 0;
    if (amount > this.limit) return Infinity;
    this.refill(now);
    const need = Math.min(amount, this.capacity);
    if (this.level + EPSILON >= need) return 0;
    return (need - this.level) / this.perMs;
  }

  /** Ms until the bucket is full again (the `x-ratelimit-reset-*` value). */
  msUntilFull(now: number): number {
    if (this.unlimited) return 0;
    this.refill(now);
    return Math.max(0, (this.capacity - this.level) / this.perMs);
  }

  /** Remaining whole units, as reported in `x-ratelimit-remaining-*` (never below 0). */
  remaining(now: number): number {
    if (this.unlimited) return this.limit;
    return Math.max(0, Math.floor(this.available(now) + EPSILON));
  }

  /** Units taken and not yet refilled (capacity − level, rounded up; may exceed capacity in debt). */
  used(now: number): number {
    if (this.unlimited) return 0;
    return Math.max(0, Math.ceil(this.capacity - this.available(now) - EPSILON));
  }

  /** Takes `amount` with no floor: the level may go negative. */
  take(amount: number, now: number): void {
    if (this.unlimited) return;
    this.refill(now);
    this.level -= amount;
  }
}

export type LimitKind = 'requests' | 'tokens';

export type AdmitResult =
  | { ok: true }
  | {
      ok: false;
      kind: LimitKind;
      /** The per-minute limit of the bucket that rejected the call. */
      limit: number;
      /** What that bucket had given out of its window's capacity when the call arrived. */
      used: number;
      requested: number;
      /** Exact ms (after the rejected call's own charge) until both buckets can pay; Infinity if the request exceeds a per-minute limit outright. */
      retryAfterMs: number;
    };

export interface RateLimitHeaders {
  'x-ratelimit-limit-requests': string;
  'x-ratelimit-limit-tokens': string;
  'x-ratelimit-remaining-requests': string;
  'x-ratelimit-remaining-tokens': string;
  'x-ratelimit-reset-requests': string;
  'x-ratelimit-reset-tokens': string;
}

/** Whole ms, rounded up, ignoring float noise below a nanosecond (an exact 100 stays 100). */
const ceilMs = (ms: number): number => Math.ceil(ms - 1e-6);

/**
 * The pair of buckets of one emulator (OpenAI keeps one pair per model; we share one), each
 * enforcing its per-minute limit over `windowMs` (default 1 s; 60 s = a whole minute's burst).
 */
export class RateLimits {
  readonly requests: Bucket;
  readonly tokens: Bucket;
  readonly windowMs: number;
  private readonly now: () => number;

  constructor(opts: { rpm?: number; tpm?: number; limitWindowMs?: number }, now: () => number) {
    this.now = now;
    this.windowMs = opts.limitWindowMs ?? DEFAULT_LIMIT_WINDOW_MS;
    const t = now();
    this.requests = new Bucket(opts.rpm, t, this.windowMs);
    this.tokens = new Bucket(opts.tpm, t, this.windowMs);
  }

  /**
   * Charges one request and `tokens` tokens if both buckets can pay now. Otherwise the call is
   * rejected, and still takes one request (no tokens): `retryAfterMs` is exact for the buckets
   * after that charge (Infinity when `tokens` exceeds the per-minute TPM: retrying cannot help).
   */
  admit(tokens: number): AdmitResult {
    const t = this.now();
    const waitReq = this.requests.msUntil(1, t);
    const waitTok = this.tokens.msUntil(tokens, t);
    if (waitReq === 0 && waitTok === 0) {
      this.requests.take(1, t);
      this.tokens.take(tokens, t);
      return { ok: true };
    }
    const kind: LimitKind = waitTok > waitReq ? 'tokens' : 'requests';
    const bucket = kind === 'tokens' ? this.tokens : this.requests;
    const used = bucket.used(t); // as the call found it, before its own charge
    this.requests.take(1, t);
    return {
      ok: false,
      kind,
      limit: bucket.limit,
      used,
      requested: kind === 'tokens' ? tokens : 1,
      retryAfterMs: Math.max(this.requests.msUntil(1, t), this.tokens.msUntil(tokens, t)),
    };
  }

  /** Header values as of now: per-minute limits, remaining and reset (whole ms, rounded up) of the enforced buckets. */
  headers(): RateLimitHeaders {
    const t = this.now();
    return {
      'x-ratelimit-limit-requests': String(this.requests.limit),
      'x-ratelimit-limit-tokens': String(this.tokens.limit),
      'x-ratelimit-remaining-requests': String(this.requests.remaining(t)),
      'x-ratelimit-remaining-tokens': String(this.tokens.remaining(t)),
      'x-ratelimit-reset-requests': formatGoDuration(ceilMs(this.requests.msUntilFull(t))),
      'x-ratelimit-reset-tokens': formatGoDuration(ceilMs(this.tokens.msUntilFull(t))),
    };
  }
}
