// The run's circuit breaker, as pure state transitions: closed → open (a chunk reported the
// provider unavailable) → half_open (one probe call) → closed on success, or open again
// with a doubled wait. The run workflow waits out `delayMs` with a durable timer.
import type { CircuitState } from './run-types.ts';

export interface CircuitPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface Circuit {
  state: CircuitState;
  /** Consecutive failed probes since the circuit opened. */
  failedProbes: number;
  /** Epoch ms when it last opened. */
  openedAt?: number;
  /** Epoch ms when the next probe is due, while open. */
  nextProbeAt?: number;
  openings: number;
  probes: number;
  /** Bumped each time the circuit closes: chunks dispatched after that start with a clean slate. */
  epoch: number;
}

export const closedCircuit = (): Circuit => ({ state: 'closed', failedProbes: 0, openings: 0, probes: 0, epoch: 0 });

/** The wait before probe number `failedProbes + 1`: initial, doubling, capped. */
export function probeDelayMs(policy: CircuitPolicy, failedProbes: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(failedProbes, 30));
}

/** A chunk found the provider unavailable. Opening an open circuit changes nothing. */
export function openCircuit(c: Circuit, policy: CircuitPolicy, now: number): Circuit {
  if (c.state !== 'closed') return c;
  return { ...c, state: 'open', failedProbes: 0, openedAt: now, nextProbeAt: now + probeDelayMs(policy, 0), openings: c.openings + 1 };
}

/** The probe call is being sent. */
export function startProbe(c: Circuit): Circuit {
  return { ...c, state: 'half_open', probes: c.probes + 1 };
}

/** The probe's answer: success closes the circuit, failure opens it again for longer. */
export function probeResult(c: Circuit, ok: boolean, policy: CircuitPolicy, now: number): Circuit {
  if (ok) {
    const { openedAt: _o, nextProbeAt: _n, ...rest } = c;
    return { ...rest, state: 'closed', failedProbes: 0, epoch: c.epoch + 1 };
  }
  const failedProbes = c.failedProbes + 1;
  return { ...c, state: 'open', failedProbes, nextProbeAt: now + probeDelayMs(policy, failedProbes) };
}

/**
 * Counts consecutive provider failures; any answer from the provider resets the count.
 * Once the threshold is reached it stays tripped: the chunks sharing it stop.
 */
export class FailureStreak {
  private streak = 0;
  private latched = false;
  private readonly threshold: number;
  constructor(threshold: number) {
    this.threshold = threshold;
  }
  /** A provider failure (5xx, timeout, connection error). True once tripped. */
  failure(): boolean {
    if (++this.streak >= this.threshold) this.latched = true;
    return this.latched;
  }
  /** Any answer that shows the provider is up (2xx, 4xx, 429). */
  success(): void {
    this.streak = 0;
  }
  get tripped(): boolean {
    return this.latched;
  }
}
