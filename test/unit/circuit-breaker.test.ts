import { describe, expect, it } from 'vitest';
import {
  FailureStreak,
  closedCircuit,
  openCircuit,
  probeDelayMs,
  probeResult,
  startProbe,
  type CircuitPolicy,
} from '../../src/domain/circuit-breaker.ts';

const policy: CircuitPolicy = { initialDelayMs: 30_000, maxDelayMs: 15 * 60_000 };
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('probeDelayMs', () => {
  it('starts at the initial delay, doubles, and is capped at the maximum', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 10].map((f) => probeDelayMs(policy, f));
    // 30 s, 1 min, 2 min, 4 min, 8 min, then 16 min capped to 15 min.
    expect(delays).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
  });

  it('stays finite and capped for absurd probe counts', () => {
    expect(probeDelayMs(policy, 1_000)).toBe(900_000);
    expect(probeDelayMs({ initialDelayMs: 1, maxDelayMs: Number.MAX_SAFE_INTEGER }, 1_000)).toBe(2 ** 30);
  });
});

describe('circuit transitions', () => {
  it('opens a closed circuit: first probe after the initial delay, one opening counted', () => {
    const c = openCircuit(closedCircuit(), policy, T0);
    expect(c).toEqual({ state: 'open', failedProbes: 0, openedAt: T0, nextProbeAt: T0 + 30_000, openings: 1, probes: 0, epoch: 0 });
  });

  it('ignores a second opening while open or half-open', () => {
    const open = openCircuit(closedCircuit(), policy, T0);
    expect(openCircuit(open, policy, T0 + 5_000)).toBe(open);
    const probing = startProbe(open);
    expect(openCircuit(probing, policy, T0 + 40_000)).toBe(probing);
  });

  it('goes half-open for the probe and counts it', () => {
    const c = startProbe(openCircuit(closedCircuit(), policy, T0));
    expect(c.state).toBe('half_open');
    expect(c.probes).toBe(1);
    expect(c.openedAt).toBe(T0);
  });

  it('closes on a successful probe: new epoch, openedAt and nextProbeAt removed', () => {
    const probing = startProbe(openCircuit(closedCircuit(), policy, T0));
    const c = probeResult(probing, true, policy, T0 + 31_000);
    expect(c).toEqual({ state: 'closed', failedProbes: 0, openings: 1, probes: 1, epoch: 1 });
    expect('openedAt' in c).toBe(false);
    expect('nextProbeAt' in c).toBe(false);
  });

  it('opens again on a failed probe with a doubled wait, keeping openedAt', () => {
    let c = openCircuit(closedCircuit(), policy, T0);
    c = probeResult(startProbe(c), false, policy, T0 + 30_000);
    expect(c).toMatchObject({ state: 'open', failedProbes: 1, openedAt: T0, nextProbeAt: T0 + 30_000 + 60_000, openings: 1, probes: 1 });
    c = probeResult(startProbe(c), false, policy, T0 + 90_000);
    expect(c).toMatchObject({ state: 'open', failedProbes: 2, nextProbeAt: T0 + 90_000 + 120_000, probes: 2 });
  });

  it('runs a whole outage: open, two failed probes, recovery, and a second opening later', () => {
    let c = openCircuit(closedCircuit(), policy, T0);
    c = probeResult(startProbe(c), false, policy, T0 + 30_000);
    c = probeResult(startProbe(c), false, policy, T0 + 90_000);
    c = probeResult(startProbe(c), true, policy, T0 + 210_000);
    expect(c).toEqual({ state: 'closed', failedProbes: 0, openings: 1, probes: 3, epoch: 1 });
    // The next outage starts again from the initial delay.
    c = openCircuit(c, policy, T0 + 1_000_000);
    expect(c).toMatchObject({ state: 'open', failedProbes: 0, nextProbeAt: T0 + 1_030_000, openings: 2, probes: 3, epoch: 1 });
    c = probeResult(startProbe(c), true, policy, T0 + 1_030_000);
    expect(c.epoch).toBe(2);
  });

  it('never mutates its input', () => {
    const closed = closedCircuit();
    const open = openCircuit(closed, policy, T0);
    startProbe(open);
    probeResult(open, false, policy, T0);
    probeResult(open, true, policy, T0);
    expect(closed).toEqual(closedCircuit());
    expect(open).toEqual({ state: 'open', failedProbes: 0, openedAt: T0, nextProbeAt: T0 + 30_000, openings: 1, probes: 0, epoch: 0 });
  });
});

describe('FailureStreak', () => {
  it('trips at the threshold of consecutive failures', () => {
    const s = new FailureStreak(3);
    expect(s.failure()).toBe(false);
    expect(s.failure()).toBe(false);
    expect(s.tripped).toBe(false);
    expect(s.failure()).toBe(true);
    expect(s.tripped).toBe(true);
  });

  it('resets the count on any answer from the provider', () => {
    const s = new FailureStreak(3);
    s.failure();
    s.failure();
    s.success();
    expect(s.failure()).toBe(false);
    expect(s.failure()).toBe(false);
    expect(s.tripped).toBe(false);
    expect(s.failure()).toBe(true);
  });

  it('stays tripped once tripped, even after successes', () => {
    const s = new FailureStreak(2);
    s.failure();
    s.failure();
    s.success();
    expect(s.tripped).toBe(true);
    expect(s.failure()).toBe(true);
  });
});
