// The process-wide rate limiter (DESIGN invariant 4): every call of a worker process to one
// provider account and model acquires here first, charging one request and its tokens
// (prompt + max_tokens, as OpenAI counts). What may go, and when, is decided by the pacing
// rules of src/domain/pacing.ts against a PacerStore: this process's own state, or Redis
// shared by every worker. This file only orders the waiters: by priority (1 most urgent),
// then first come first served.
//
// There is no polling: after each admission round one timer is set for the soonest retry
// any waiting priority was told, and it is cancelled as soon as nobody waits, so an idle
// limiter holds no timer. The timer is NOT unref'd: it exists only while a caller awaits
// acquire(), and an unref'd one would let Node exit in the middle of that await.
//
// It also measures what Little's law needs to size `--concurrency auto`: the calls'
// latency and token charge (moving averages).

import { parseGoDuration } from '../domain/go-duration.ts';
import { DEFAULT_PRIORITY, PRIORITIES, type Admission, type InFlight, type ObservedHeaders, type PacerView } from '../domain/pacing.ts';
import { LocalPacerStore, systemClock, type Caps, type Clock, type PacerStore } from './pacer-store.ts';

export { systemClock, type Clock } from './pacer-store.ts';
export type RateLimits = Caps;

/** OpenAI's x-ratelimit-* headers, parsed. */
export type RateLimitHeaders = ObservedHeaders;

export interface RateLimiterSnapshot extends PacerView {
  waiting: number;
  latencyMs?: number;
}

export interface AcquireOptions {
  /** 1 (most urgent) to 5; 3 when absent. */
  priority?: number;
  signal?: AbortSignal;
}

interface Waiter {
  tokens: number;
  priority: number;
  resolve: (a: Admission) => void;
  reject: (reason: unknown) => void;
  cleanup: () => void;
}

/** Weight of the newest sample in the latency and charge averages. */
const EWMA = 0.1;

export class RateLimiter {
  readonly store: PacerStore;
  private readonly clock: Clock;
  private readonly queues = new Map<number, Waiter[]>(PRIORITIES.map((p) => [p, []]));
  private waiting = 0;
  private timer: { at: number; abort: AbortController } | undefined;
  private pumping = false;
  private pumpAgain = false;
  private latencyMs: number | undefined;
  private chargeTokens: number | undefined;
  private answered = false;
  /** First contact: with no limit known yet, one call goes alone to learn them from its answer. */
  private probing = true;
  private probeInFlight = false;
  /** Admitted calls not answered yet (observe() sees what was admitted after the one it hears of). */
  private readonly inFlight = new Set<Admission>();
  /** When the latest-admitted call whose answer was heard was admitted (the store's clock). */
  private newestHeardAt = 0;

  constructor(limits: RateLimits | PacerStore = {}, clock: Clock = systemClock) {
    this.clock = clock;
    this.store = isStore(limits) ? limits : new LocalPacerStore(limits, clock);
  }

  /** Configured caps (--rpm/--tpm): never exceeded, whatever the provider's headers say. */
  setLimits(limits: RateLimits): void {
    const same = limits.rpm === this.store.caps.rpm && limits.tpm === this.store.caps.tpm;
    if (same) return;
    void this.store.setCaps(limits).then(() => this.pump());
  }

  /** Waits for a turn (priority, then FIFO) until the pacing admits 1 request and `tokens` tokens. */
  acquire(tokens: number, opts: AcquireOptions | AbortSignal = {}): Promise<Admission> {
    const { priority = DEFAULT_PRIORITY, signal } = opts instanceof AbortSignal ? { signal: opts } : opts;
    if (!(Number.isFinite(tokens) && tokens >= 0)) {
      return Promise.reject(new RangeError(`tokens must be a non-negative number, got ${tokens}`));
    }
    if (!PRIORITIES.includes(priority as 1)) return Promise.reject(new RangeError(`priority must be 1..5, got ${priority}`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.chargeTokens = this.chargeTokens === undefined ? tokens : this.chargeTokens + EWMA * (tokens - this.chargeTokens);
    return new Promise<Admission>((resolve, reject) => {
      const queue = this.queues.get(priority)!;
      const waiter: Waiter = { tokens, priority, resolve, reject, cleanup: () => {} };
      if (signal) {
        const onAbort = () => {
          const i = queue.indexOf(waiter);
          if (i < 0) return;
          queue.splice(i, 1);
          this.waiting--;
          reject(signal.reason);
          if (this.waiting === 0) this.cancelTimer();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      queue.push(waiter);
      this.waiting++;
      this.pump();
    });
  }

  /** An answer came back: learn from its headers and how long it took. */
  observe(admission: Admission, headers: RateLimitHeaders, latencyMs?: number): void {
    this.inFlight.delete(admission);
    const wasProbe = this.probeInFlight;
    this.probeInFlight = false;
    if (latencyMs !== undefined || Object.keys(headers).length > 0) {
      this.answered = true;
      this.probing = false;
    }
    if (wasProbe) this.pump();
    if (latencyMs !== undefined && latencyMs >= 0) {
      this.latencyMs = this.latencyMs === undefined ? latencyMs : this.latencyMs + EWMA * (latencyMs - this.latencyMs);
    }
    if (Object.keys(headers).length === 0) return;
    // An answer older than one already heard of says less: calls admitted after it overtook it,
    // and which of them its remaining counts is unknown. Its limits still count.
    // (By admission time, not count: a shared state that expired restarts its counts.)
    if (admission.at < this.newestHeardAt) {
      const { limitRequests, limitTokens } = headers;
      if (limitRequests !== undefined || limitTokens !== undefined) void this.store.observe(admission, { limitRequests, limitTokens });
      return;
    }
    this.newestHeardAt = admission.at;
    const inFlight: InFlight = { requestsBefore: 0, tokensBefore: 0, requestsAfter: 0, tokensAfter: 0 };
    for (const a of this.inFlight) {
      if (a.cumR > admission.cumR) {
        inFlight.requestsAfter++;
        inFlight.tokensAfter += a.tokens;
      } else {
        inFlight.requestsBefore++;
        inFlight.tokensBefore += a.tokens;
      }
    }
    void this.store.observe(admission, headers, inFlight).then(() => this.pump());
  }

  /** A 429 seen by any caller: the pacing slows down and everyone waits `pauseMs`. */
  rateLimited(pauseMs: number): void {
    void this.store.rateLimited(pauseMs).then(() => this.pump());
  }

  /**
   * `--concurrency auto`: calls in flight to keep the paced rate busy at the measured latency
   * (Little's law), within [min, max]. Before any answer, `min`: nothing is known yet.
   */
  desiredConcurrency(min: number, max: number): number {
    if (!this.answered || this.latencyMs === undefined) return min;
    return this.store.desiredConcurrency({ latencyMs: this.latencyMs, chargeTokens: this.chargeTokens ?? 0, min, max });
  }

  snapshot(): RateLimiterSnapshot {
    const s: RateLimiterSnapshot = { ...this.store.view(), waiting: this.waiting };
    if (this.latencyMs !== undefined) s.latencyMs = this.latencyMs;
    return s;
  }

  /**
   * One admission round at a time: the head of each priority, most urgent first, asks the
   * store; an admission starts the round again from the top, a refusal leaves a retry time.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.round().finally(() => {
      this.pumping = false;
      if (this.pumpAgain) this.pump();
    });
  }

  private async round(): Promise<void> {
    for (;;) {
      this.pumpAgain = false;
      if (this.waiting === 0) return this.cancelTimer();
      if (this.probing) {
        const v = this.store.view();
        if (v.rpm !== undefined || v.tpm !== undefined) this.probing = false;
        else if (this.probeInFlight) return this.cancelTimer(); // its answer pumps again
      }
      let soonest = Infinity;
      let admitted = false;
      for (const [priority, queue] of this.queues) {
        const head = queue[0];
        if (!head) continue;
        const r = await this.store.take({ tokens: head.tokens, priority });
        if (!r.ok) {
          soonest = Math.min(soonest, r.waitMs);
          continue;
        }
        const i = queue.indexOf(head);
        if (i >= 0) {
          queue.splice(i, 1);
          this.waiting--;
          head.cleanup();
          const admission: Admission = { at: r.at, cumR: r.cumR, cumT: r.cumT, tokens: head.tokens };
          this.inFlight.add(admission);
          head.resolve(admission);
          if (this.probing) this.probeInFlight = true;
        } // else: aborted while asking; its admission goes unused
        admitted = true;
        break;
      }
      if (admitted || this.pumpAgain) continue;
      if (this.waiting === 0) return this.cancelTimer();
      return this.schedule(this.clock.now() + Math.max(1, Math.ceil(soonest)));
    }
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

function isStore(x: RateLimits | PacerStore): x is PacerStore {
  return typeof (x as PacerStore).take === 'function';
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
