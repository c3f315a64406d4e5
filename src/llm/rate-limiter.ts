// The process-wide rate limiter (DESIGN invariant 4): every concurrent call of a worker
// process acquires here first, charging one request and its tokens (prompt + max_tokens)
// against continuous per-minute buckets. A 429 pauses everyone; the provider's
// x-ratelimit-* headers correct the local view when it drifts.
//
// Design choice: the buckets START WITH ONE SECOND'S WORTH of capacity (limit/60), not
// full. The provider's bucket for the account may already be partly spent by other
// clients, and a full start would burst a whole minute's quota in the first instant.
// Starting low makes the process send at the steady limit rate from the first second,
// which keeps 429s near zero; the bucket still fills up to a minute's worth when idle.
//
// Waiters are served FIFO. There is no polling: one timer, for the head waiter only, is
// set from its deficit (how long until both buckets can pay for it), and it is cancelled
// as soon as nobody waits, so an idle limiter holds no timer at all. The timer is NOT
// unref'd: it exists only while a caller awaits acquire(), and an unref'd one would let
// Node exit in the middle of that await when nothing else keeps the process alive.

import { parseGoDuration } from '../domain/go-duration.ts';

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal!.reason);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RateLimits {
  rpm?: number;
  tpm?: number;
}

export interface RateLimitHeaders {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  resetRequestsMs?: number;
  resetTokensMs?: number;
}

export interface RateLimiterSnapshot {
  rpm?: number;
  tpm?: number;
  /** Infinity when the limit is unknown (unlimited). May be negative: debt of an oversize request. */
  requestsAvailable: number;
  tokensAvailable: number;
  /** Epoch ms until which every caller is held (0 or past when not paused). */
  pausedUntil: number;
  waiting: number;
}

/** A continuous token bucket: capacity = per-minute limit, refilled at limit/60000 per ms. */
class Bucket {
  limit: number | undefined;
  level = 0;
  private at: number;

  constructor(limit: number | undefined, now: number) {
    this.at = now;
    this.setLimit(limit, now);
  }

  setLimit(limit: number | undefined, now: number): void {
    checkLimit(limit);
    this.refill(now);
    if (limit === undefined) this.level = 0;
    else if (this.limit === undefined) this.level = limit / 60; // one second's worth, see header
    else this.level = Math.min(this.level, limit);
    this.limit = limit;
  }

  refill(now: number): void {
    if (this.limit !== undefined && now > this.at) {
      this.level = Math.min(this.limit, this.level + ((now - this.at) * this.limit) / 60_000);
    }
    this.at = Math.max(this.at, now);
  }

  available(): number {
    return this.limit === undefined ? Infinity : this.level;
  }

  /** What a request of `amount` must find in the bucket: oversize ones are let in when it is full. */
  need(amount: number): number {
    return this.limit === undefined ? 0 : Math.min(amount, this.limit);
  }

  /** Ms until `need(amount)` is available (0 if now). */
  waitMs(amount: number): number {
    if (this.limit === undefined) return 0;
    const deficit = this.need(amount) - this.level;
    return deficit <= EPSILON ? 0 : (deficit * 60_000) / this.limit;
  }

  take(amount: number): void {
    if (this.limit !== undefined) this.level -= amount;
  }
}

// Float refills can land a hair below a whole request; treat that as enough.
const EPSILON = 1e-9;

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && !(Number.isFinite(limit) && limit > 0)) {
    throw new RangeError(`rate limit must be a positive number, got ${limit}`);
  }
}

interface Waiter {
  tokens: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  cleanup: () => void;
}

export class RateLimiter {
  private readonly clock: Clock;
  private readonly requests: Bucket;
  private readonly tokens: Bucket;
  private pausedUntil = 0;
  private readonly queue: Waiter[] = [];
  private timer: { at: number; abort: AbortController } | undefined;

  constructor(limits: RateLimits, clock: Clock = systemClock) {
    this.clock = clock;
    const now = clock.now();
    this.requests = new Bucket(limits.rpm, now);
    this.tokens = new Bucket(limits.tpm, now);
  }

  setLimits(limits: RateLimits): void {
    const now = this.clock.now();
    this.requests.setLimit(limits.rpm, now);
    this.tokens.setLimit(limits.tpm, now);
    this.pump();
  }

  /** Waits for a turn (FIFO) until both buckets can pay 1 request and `tokens` tokens, then pays. */
  acquire(tokens: number, signal?: AbortSignal): Promise<void> {
    if (!(Number.isFinite(tokens) && tokens >= 0)) {
      return Promise.reject(new RangeError(`tokens must be a non-negative number, got ${tokens}`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { tokens, resolve, reject, cleanup: () => {} };
      if (signal) {
        const onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(signal.reason);
          if (i === 0) this.pump(); // the next waiter may fit now, or needs its own timer
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(waiter);
      if (this.queue.length === 1) this.pump();
    });
  }

  /** A 429 seen by any caller: everyone waits until now+ms (extends, never shortens). */
  pauseFor(ms: number): void {
    const now = this.clock.now();
    this.pausedUntil = Math.max(this.pausedUntil, now + Math.max(0, ms));
    // The provider's bucket is empty, so empty ours: after the pause we resume at the refill
    // rate instead of bursting what our bucket accumulated meanwhile.
    for (const b of [this.requests, this.tokens]) {
      b.refill(now);
      b.level = Math.min(b.level, 0);
    }
    this.pump();
  }

  /** Drift correction: lower the local level to what the provider says remains; adopt unknown limits. */
  observe(h: RateLimitHeaders): void {
    const now = this.clock.now();
    const pairs: [Bucket, number | undefined, number | undefined][] = [
      [this.requests, h.limitRequests, h.remainingRequests],
      [this.tokens, h.limitTokens, h.remainingTokens],
    ];
    let adopted = false;
    for (const [bucket, limit, remaining] of pairs) {
      if (bucket.limit === undefined && limit !== undefined && Number.isFinite(limit) && limit > 0) {
        bucket.setLimit(limit, now);
        adopted = true;
      }
      if (bucket.limit === undefined || remaining === undefined || !Number.isFinite(remaining)) continue;
      bucket.refill(now);
      if (remaining < bucket.level) bucket.level = Math.max(0, remaining);
    }
    // A lowered level only delays the head: its timer re-checks when it fires.
    if (adopted) this.pump();
  }

  snapshot(): RateLimiterSnapshot {
    const now = this.clock.now();
    this.requests.refill(now);
    this.tokens.refill(now);
    return {
      rpm: this.requests.limit,
      tpm: this.tokens.limit,
      requestsAvailable: this.requests.available(),
      tokensAvailable: this.tokens.available(),
      pausedUntil: this.pausedUntil,
      waiting: this.queue.length,
    };
  }

  /** Admits waiters from the head while they fit, then sets one timer for the head's deficit. */
  private pump(): void {
    const now = this.clock.now();
    this.requests.refill(now);
    this.tokens.refill(now);
    while (this.queue.length > 0) {
      const head = this.queue[0];
      const wait =
        now < this.pausedUntil
          ? this.pausedUntil - now
          : Math.max(this.requests.waitMs(1), this.tokens.waitMs(head.tokens));
      if (wait > 0) return this.schedule(now + Math.ceil(wait));
      this.queue.shift();
      this.requests.take(1);
      this.tokens.take(head.tokens);
      head.cleanup();
      head.resolve();
    }
    this.cancelTimer();
  }

  private schedule(at: number): void {
    if (this.timer?.at === at) return;
    this.cancelTimer();
    const abort = new AbortController();
    const timer = { at, abort };
    this.timer = timer;
    this.clock.sleep(at - this.clock.now(), abort.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        this.pump();
      },
      () => {}, // cancelled: a newer timer (or none) replaced it
    );
  }

  private cancelTimer(): void {
    this.timer?.abort.abort();
    this.timer = undefined;
  }
}

/** Reads OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens} headers. */
export function parseRateLimitHeaders(get: (name: string) => string | null | undefined): RateLimitHeaders {
  const num = (name: string): number | undefined => {
    const v = get(name)?.trim();
    if (!v) return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  const dur = (name: string): number | undefined => {
    const v = get(name)?.trim();
    const ms = v ? parseGoDuration(v) : undefined;
    // Go allows negative durations; a time until reset never is one.
    return ms !== undefined && ms >= 0 ? ms : undefined;
  };
  const h: RateLimitHeaders = {
    limitRequests: num('x-ratelimit-limit-requests'),
    limitTokens: num('x-ratelimit-limit-tokens'),
    remainingRequests: num('x-ratelimit-remaining-requests'),
    remainingTokens: num('x-ratelimit-remaining-tokens'),
    resetRequestsMs: dur('x-ratelimit-reset-requests'),
    resetTokensMs: dur('x-ratelimit-reset-tokens'),
  };
  for (const k of Object.keys(h) as (keyof RateLimitHeaders)[]) if (h[k] === undefined) delete h[k];
  return h;
}
