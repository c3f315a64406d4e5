// Fault decisions per call, from a PRNG seeded by the `seed` option: latency with jitter,
// 500/503 errors, malformed bodies, hangs; and whether now falls in an outage window.
import type { EmulatorOptions, Outage } from './options.ts';
import { rngFromSeed, type Rng } from './random.ts';

export type Fault = 'none' | 'error500' | 'error503' | 'malformed' | 'hang';

export function inOutage(outages: readonly Outage[], elapsedMs: number): boolean {
  for (const o of outages) if (elapsedMs >= o.startMs && elapsedMs < o.startMs + o.durationMs) return true;
  return false;
}

type FaultRates = Pick<EmulatorOptions, 'errorRate' | 'malformedRate' | 'hangRate' | 'latencyMs' | 'jitterMs'>;

export class FaultInjector {
  private rng: Rng;

  constructor(seed: number) {
    this.rng = rngFromSeed(seed);
  }

  reseed(seed: number): void {
    this.rng = rngFromSeed(seed);
  }

  /** What to do with a call that passed the outage, quota and rate-limit checks. */
  decide(o: FaultRates): Fault {
    const total = o.errorRate + o.malformedRate + o.hangRate;
    if (total <= 0) return 'none';
    const r = this.rng();
    if (r < o.errorRate) return r < o.errorRate / 2 ? 'error500' : 'error503';
    if (r < o.errorRate + o.malformedRate) return 'malformed';
    if (r < total) return 'hang';
    return 'none';
  }

  /** Delay before answering: latencyMs ± jitterMs, uniform, never negative. */
  delayMs(o: FaultRates): number {
    if (o.jitterMs <= 0) return Math.max(0, o.latencyMs);
    return Math.max(0, o.latencyMs + (this.rng() * 2 - 1) * o.jitterMs);
  }
}
