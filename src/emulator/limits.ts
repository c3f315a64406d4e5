// Requests- and tokens-per-minute limits as OpenAI applies them: continuous token buckets
// (capacity = the per-minute limit, refilling at limit/60000 per ms, starting full), the
// `x-ratelimit-*` header values, and Go-style duration strings ("6ms", "1.5s", "1m0s")
// that OpenAI uses in those headers (src/domain/go-duration.ts). Pure: the clock is injected.

import { formatGoDuration } from '../domain/go-duration.ts';

/** Limit reported in headers when a limit is not configured. */
export const UNLIMITED = 100_000_000;

/** One continuous bucket. `limit` of undefined or 0 means unlimited (never blocks). */
export class Bucket {
  readonly limit: number;
  readonly unlimited: boolean;
  private level: number;
  private updatedAt: number;
  private readonly perMs: number;

  constructor(limit: number | undefined, now: number) {
    this.unlimited = !limit || limit <= 0;
    this.limit = this.unlimited ? UNLIMITED : (limit as number);
    this.level = this.limit;
    this.perMs = this.limit / 60_000;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.level = Math.min(this.limit, this.level + (now - this.updatedAt) * this.perMs);
      this.updatedAt = now;
    }
  }

  /** Capacity available now (fractional). */
  available(now: number): number {
    this.refill(now);
    return this.level;
  }

  /** Ms until `amount` is available (0 if it is now; Infinity if it can never be). */
  msUntil(amount: number, now: number): number {
    if (this.unlimited) return 0;
    this.refill(now);
    if (this.level >= amount) return 0;
    if (amount > this.limit) return Infinity;
    return (amount - this.level) / this.perMs;
  }

  /** Ms until the bucket is full again (the `x-ratelimit-reset-*` value). */
  msUntilFull(now: number): number {
    if (this.unlimited) return 0;
    this.refill(now);
    return (this.limit - this.level) / this.perMs;
  }

  /** Remaining whole units, as reported in `x-ratelimit-remaining-*`. */
  remaining(now: number): number {
    if (this.unlimited) return this.limit;
    return Math.max(0, Math.floor(this.available(now)));
  }

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
      limit: number;
      used: number;
      requested: number;
      /** Exact ms until both buckets have enough capacity; Infinity if the request exceeds a limit outright. */
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

/** The pair of per-minute buckets of one emulator (OpenAI keeps one pair per model; we share one). */
export class RateLimits {
  readonly requests: Bucket;
  readonly tokens: Bucket;
  private readonly now: () => number;

  constructor(opts: { rpm?: number; tpm?: number }, now: () => number) {
    this.now = now;
    const t = now();
    this.requests = new Bucket(opts.rpm, t);
    this.tokens = new Bucket(opts.tpm, t);
  }

  /** Charges one request and `tokens` tokens if both buckets have room; charges nothing otherwise. */
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
    return {
      ok: false,
      kind,
      limit: bucket.limit,
      used: Math.max(0, bucket.limit - bucket.remaining(t)),
      requested: kind === 'tokens' ? tokens : 1,
      retryAfterMs: Math.max(waitReq, waitTok),
    };
  }

  /** Header values as of now; reset durations are rounded up to whole ms. */
  headers(): RateLimitHeaders {
    const t = this.now();
    return {
      'x-ratelimit-limit-requests': String(this.requests.limit),
      'x-ratelimit-limit-tokens': String(this.tokens.limit),
      'x-ratelimit-remaining-requests': String(this.requests.remaining(t)),
      'x-ratelimit-remaining-tokens': String(this.tokens.remaining(t)),
      'x-ratelimit-reset-requests': formatGoDuration(Math.ceil(this.requests.msUntilFull(t))),
      'x-ratelimit-reset-tokens': formatGoDuration(Math.ceil(this.tokens.msUntilFull(t))),
    };
  }
}
