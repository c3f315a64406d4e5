// Fault decisions per call, from a PRNG seeded by the `seed` option: latency with jitter,
// 500/503 errors, malformed bodies, hangs; and whether now falls in an outage window.
import type { EmulatorOptions, Outage } from './options.ts';
import { rngFromDigest, rngFromSeed, sha256, type Rng } from './random.ts';

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

/**
 * The --schema-violation-rate draws of realtime calls: per request (the caller's
 * X-Client-Request-Id and the body), from the seed and how many times that request came
 * before, so a request's nth answer breaks or not whatever the order of arrivals.
 */
export class SchemaViolations {
  private seen = new Map<string, number>();

  /** Whether this arrival's answer breaks its schema. */
  draw(rate: number, seed: number, clientId: string | undefined, body: Buffer): boolean {
    if (rate <= 0) return false;
    const key = sha256(`${clientId ?? ''}\u0000${body.toString('utf8')}`).toString('base64');
    const nth = this.seen.get(key) ?? 0;
    this.seen.set(key, nth + 1);
    if (rate >= 1) return true;
    return rngFromDigest(sha256(`schema\u0000${seed}\u0000${key}\u0000${nth}`))() < rate;
  }

  reset(): void {
    this.seen = new Map();
  }
}

/** Whether the line `customId` of batch `batchId` breaks its schema: a fresh draw per (seed, batch, line). */
export function lineBreaksSchema(rate: number, seed: number, batchId: string, customId: string): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  return rngFromDigest(sha256(`schema\u0000${seed}\u0000${batchId}\u0000${customId}`))() < rate;
}
