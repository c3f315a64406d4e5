// A manual clock for rate-limiter tests: time moves only when the test advances it.
import type { Clock } from '../../src/llm/rate-limiter.ts';

export class FakeClock implements Clock {
  t: number;
  private timers: { at: number; resolve: () => void }[] = [];
  constructor(start = 1_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.t + Math.max(0, ms), resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal.reason);
      });
    });
  }
  get pendingTimers(): number {
    return this.timers.length;
  }
  /** Moves time forward, firing due timers in order and letting their callbacks run. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
    this.t = end;
    await flush();
  }
}

export const flush = () => new Promise<void>((r) => setImmediate(r));
