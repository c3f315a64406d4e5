// A provider simulated on a fake clock, written apart from the emulator and the client so the
// pacing tests are graded by an independent limiter: per-minute limits enforced over a window
// (OpenAI's quantization), rejected calls charged one request, truthful x-ratelimit headers.
import { RateLimiter } from '../../src/llm/rate-limiter.ts';
import { retryDelayMs } from '../../src/domain/backoff.ts';
import type { FakeClock } from './fake-clock.ts';
export { rngFromSeed as seeded } from '../../src/emulator/random.ts';

class WindowBucket {
  private level: number;
  private at: number;
  readonly capacity: number;
  readonly perMinute: number;
  constructor(perMinute: number, windowMs: number, now: number) {
    this.perMinute = perMinute;
    this.capacity = (perMinute * windowMs) / 60_000;
    this.level = this.capacity;
    this.at = now;
  }
  private refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + ((now - this.at) * this.perMinute) / 60_000);
    this.at = now;
  }
  fits(amount: number, now: number): boolean {
    this.refill(now);
    return this.level + 1e-9 >= Math.min(amount, this.capacity);
  }
  take(amount: number, now: number): void {
    this.refill(now);
    this.level -= amount;
  }
  remaining(now: number): number {
    this.refill(now);
    return Math.max(0, Math.floor(this.level + 1e-9));
  }
  resetMs(now: number): number {
    this.refill(now);
    return Math.ceil(((this.capacity - this.level) * 60_000) / this.perMinute);
  }
  waitMs(amount: number, now: number): number {
    this.refill(now);
    return Math.max(0, ((Math.min(amount, this.capacity) - this.level) * 60_000) / this.perMinute);
  }
}

export interface SimProviderOptions {
  rpm: number;
  tpm?: number;
  windowMs: number;
  /** Another client on the same account taking this many requests per minute, evenly. */
  otherRpm?: number;
}

export class SimProvider {
  readonly requests: WindowBucket;
  readonly tokens: WindowBucket | undefined;
  served: number[] = [];
  rejected: number[] = [];
  private readonly clock: FakeClock;
  private readonly o: SimProviderOptions;
  constructor(clock: FakeClock, o: SimProviderOptions) {
    this.clock = clock;
    this.o = o;
    this.requests = new WindowBucket(o.rpm, o.windowMs, clock.now());
    this.tokens = o.tpm ? new WindowBucket(o.tpm, o.windowMs, clock.now()) : undefined;
  }
  /** One call arriving now: admitted or refused, with the headers of the answer. */
  arrive(tokens: number): { ok: boolean; headers: Record<string, number>; retryAfterMs: number } {
    const now = this.clock.now();
    const ok = this.requests.fits(1, now) && (this.tokens?.fits(tokens, now) ?? true);
    if (ok) {
      this.requests.take(1, now);
      this.tokens?.take(tokens, now);
      this.served.push(now);
    } else {
      this.requests.take(1, now); // "unsuccessful requests contribute to your per-minute limit"
      this.rejected.push(now);
    }
    const headers: Record<string, number> = {
      limitRequests: this.o.rpm,
      remainingRequests: this.requests.remaining(now),
      resetRequestsMs: this.requests.resetMs(now),
    };
    if (this.tokens) Object.assign(headers, { limitTokens: this.o.tpm!, remainingTokens: this.tokens.remaining(now), resetTokensMs: this.tokens.resetMs(now) });
    const retryAfterMs = Math.max(this.requests.waitMs(1, now), this.tokens?.waitMs(tokens, now) ?? 0);
    return { ok, headers, retryAfterMs };
  }
  /** Served calls in [from, to). */
  servedIn(from: number, to: number): number {
    return this.served.filter((t) => t >= from && t < to).length;
  }
  rejectedIn(from: number, to: number): number {
    return this.rejected.filter((t) => t >= from && t < to).length;
  }
  /** Starts the other client of a shared account. */
  startOther(stop: AbortSignal): void {
    const every = 60_000 / this.o.otherRpm!;
    void (async () => {
      while (!stop.aborted) {
        this.arrive(0);
        await this.clock.sleep(every, stop).catch(() => {});
      }
    })();
  }
}

export interface ClientOptions {
  callers: number;
  tokens: () => number;
  latencyMs: () => number;
  priority?: number;
  /** Stop after this many successes. */
  items?: number;
  /** Ms between a call leaving and its arrival at the provider (network). */
  sendDelayMs?: () => number;
}

/** `callers` loops, each acquire → call → observe, as the provider client does. */
export function runClient(limiter: RateLimiter, provider: SimProvider, clock: FakeClock, o: ClientOptions, stop: AbortSignal): { done: number[] } {
  const done: number[] = [];
  let remaining = o.items ?? Infinity;
  let rateLimitedRetries = 0;
  for (let i = 0; i < o.callers; i++) {
    void (async () => {
      while (!stop.aborted && remaining > 0) {
        remaining--;
        const tokens = o.tokens();
        for (;;) {
          let admission;
          try {
            admission = await limiter.acquire(tokens, { priority: o.priority ?? 3, signal: stop });
          } catch {
            return;
          }
          const sent = clock.now();
          const delay = o.sendDelayMs?.() ?? 0;
          if (delay > 0) await clock.sleep(delay).catch(() => {});
          const answer = provider.arrive(tokens);
          await clock.sleep(Math.max(0, o.latencyMs() - delay)).catch(() => {});
          limiter.observe(admission, answer.headers, clock.now() - sent);
          if (answer.ok) {
            done.push(clock.now());
            break;
          }
          limiter.rateLimited(retryDelayMs(++rateLimitedRetries, answer.retryAfterMs, undefined, () => 0.5));
        }
      }
    })();
  }
  return { done };
}
