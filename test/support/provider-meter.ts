// What the provider saw, measured on its side: the emulator's counters sampled every
// 100 ms, so a test can compute the rate the emulator admitted over any window and the
// share of calls it refused (the client's own view is never trusted for this).
import type { EmulatorStats } from '../../src/emulator/stats.ts';

export interface MeterSample {
  t: number;
  served: number;
  rateLimited: number;
  requests: number;
  /** Tokens charged against TPM for served calls: prompt + max_tokens (one max_tokens for the whole input). */
  charged: number;
}

export class ProviderMeter {
  readonly samples: MeterSample[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  private readonly stats: () => EmulatorStats;
  private readonly maxTokens: number;

  /** `stats`: the emulator's counters (RunningEmulator.stats of an emulator in the test process). */
  constructor(stats: () => EmulatorStats, maxTokens: number) {
    this.stats = stats;
    this.maxTokens = maxTokens;
    this.loop = (async () => {
      while (this.running) {
        await this.sample().catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  private async sample(): Promise<void> {
    const s = this.stats();
    this.samples.push({ t: Date.now(), served: s.served, rateLimited: s.rateLimited, requests: s.requests, charged: s.promptTokens + this.maxTokens * s.served });
  }

  async stop(): Promise<MeterSample> {
    this.running = false;
    await this.loop;
    await this.sample();
    return this.samples[this.samples.length - 1];
  }

  /** The sample nearest to time t. */
  at(t: number): MeterSample {
    return this.samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best));
  }

  /** When the first call was served, and when the last one was. */
  span(): { first: number; last: number } {
    const final = this.samples[this.samples.length - 1].served;
    return { first: this.samples.find((s) => s.served > 0)!.t, last: this.samples.find((s) => s.served === final)!.t };
  }

  /** Served calls (or charged tokens) per minute between two times. */
  perMinute(from: number, to: number, what: 'served' | 'charged'): number {
    const a = this.at(from);
    const b = this.at(to);
    return ((b[what] - a[what]) / (b.t - a.t)) * 60_000;
  }

  /** Share of calls refused 429 over the whole run. */
  refusedShare(): number {
    const s = this.samples[this.samples.length - 1];
    return s.rateLimited / Math.max(1, s.requests);
  }
}
