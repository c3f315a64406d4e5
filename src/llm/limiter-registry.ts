// One rate limiter per provider account and model in a worker process (OpenAI limits each
// model of an account apart). The account is the endpoint plus a fingerprint of the API
// key, never the key itself. With a shared store factory (Redis), every worker on every
// host paces one account+model together.
import { createHash } from 'node:crypto';
import type { PacerStore, Caps } from './pacer-store.ts';
import { RateLimiter } from './rate-limiter.ts';

export type StoreFactory = (key: string, caps: Caps) => PacerStore;

/** Bounds of `--concurrency auto`: a floor before anything is measured, and a ceiling. */
export const AUTO_CONCURRENCY_MIN = 4;
export const AUTO_CONCURRENCY_MAX = 256;

export class LimiterRegistry {
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly account: string;
  private readonly storeFor: StoreFactory | undefined;

  constructor(provider: { apiKey?: string; baseURL?: string }, storeFor?: StoreFactory) {
    const endpoint = provider.baseURL ?? 'https://api.openai.com/v1';
    const key = createHash('sha256').update(provider.apiKey ?? '').digest('hex').slice(0, 12);
    this.account = `${endpoint}#${key}`;
    this.storeFor = storeFor;
  }

  /** The limiter of `model`; `caps` (a run's --rpm/--tpm), when given, become its caps. */
  limiter(model: string, caps?: Caps): RateLimiter {
    const key = `${this.account}|${model}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new RateLimiter(this.storeFor ? this.storeFor(key, caps ?? {}) : (caps ?? {}));
      this.limiters.set(key, limiter);
    } else if (caps) limiter.setLimits(caps);
    return limiter;
  }

  /** `--concurrency auto` for a run: what the busiest of this worker's limiters needs in flight. */
  desiredConcurrency(max: number): number {
    let n = Math.min(max, AUTO_CONCURRENCY_MIN);
    for (const l of this.limiters.values()) n = Math.max(n, l.desiredConcurrency(Math.min(max, AUTO_CONCURRENCY_MIN), max));
    return n;
  }
}
