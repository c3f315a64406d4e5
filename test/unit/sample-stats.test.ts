import { describe, expect, it } from 'vitest';
import { Z_90, extrapolateCost, type SampledCost } from '../../src/domain/sample-stats.ts';
import { rngFromSeed } from '../../src/emulator/random.ts';

const item = (costUsd: number, promptTokens = 0, completionTokens = 0): SampledCost => ({ promptTokens, completionTokens, costUsd });

describe('extrapolateCost', () => {
  it('computes means, the estimate and the 90% interval by hand', () => {
    const samples = [item(0.01, 100, 10), item(0.02, 200, 20), item(0.03, 300, 30), item(0.04, 400, 40)];
    const e = extrapolateCost(samples, { remainingItems: 96, spentUsd: 0.1 });
    // μ = 0.025; σ² = (0.015² + 0.005² + 0.005² + 0.015²) / 3 = 0.0005 / 3.
    // se = √(96·σ² + 96²·σ²/4) = √(0.016 + 0.384) = √0.4 = 0.632456; z·se = 1.040390.
    expect(e.measured).toBe(4);
    expect(e.meanInputTokens).toBe(250);
    expect(e.meanOutputTokens).toBe(25);
    expect(e.meanCostUsd).toBeCloseTo(0.025, 12);
    expect(e.totalUsd.estimate).toBeCloseTo(2.5, 12);
    expect(e.totalUsd.low).toBeCloseTo(0.1 + 2.4 - 1.645 * Math.sqrt(0.4), 12);
    expect(e.totalUsd.high).toBeCloseTo(0.1 + 2.4 + 1.645 * Math.sqrt(0.4), 12);
    expect(e.totalUsd.low).toBeCloseTo(1.45961, 5);
    expect(e.totalUsd.high).toBeCloseTo(3.54039, 5);
  });

  it('takes another z', () => {
    const samples = [item(0.01), item(0.02), item(0.03), item(0.04)];
    const e = extrapolateCost(samples, { remainingItems: 96, spentUsd: 0.1, z: 1.96 });
    expect(e.totalUsd.high - e.totalUsd.estimate).toBeCloseTo(1.96 * Math.sqrt(0.4), 12);
    expect(Z_90).toBe(1.645);
  });

  it('never puts the low end below what was already spent', () => {
    // μ = 0.5, σ² = 0.5; M = 1: se = √(0.5 + 0.25) = 0.866, z·se = 1.42 > M·μ = 0.5.
    const e = extrapolateCost([item(0), item(1)], { remainingItems: 1, spentUsd: 1 });
    expect(e.totalUsd).toEqual({ estimate: 1.5, low: 1, high: 1.5 + 1.645 * Math.sqrt(0.75) });
  });

  it('collapses the interval with one sample (σ is 0) and when nothing remains', () => {
    expect(extrapolateCost([item(0.5, 10, 20)], { remainingItems: 10, spentUsd: 0.5 }).totalUsd).toEqual({ estimate: 5.5, low: 5.5, high: 5.5 });
    const done = extrapolateCost([item(0.01), item(0.03)], { remainingItems: 0, spentUsd: 0.04 });
    expect(done.totalUsd).toEqual({ estimate: 0.04, low: 0.04, high: 0.04 });
    expect(done.meanCostUsd).toBeCloseTo(0.02, 12);
  });

  it('returns zeros and the spend when nothing was measured', () => {
    expect(extrapolateCost([], { remainingItems: 1000, spentUsd: 0.37 })).toEqual({
      measured: 0,
      meanInputTokens: 0,
      meanOutputTokens: 0,
      meanCostUsd: 0,
      totalUsd: { estimate: 0.37, low: 0.37, high: 0.37 },
    });
  });

  it('covers the true total in about 90% of runs (seeded simulation)', () => {
    // Item costs: $0.001 plus an exponential with mean $0.002, a right-skewed spread like
    // real output lengths. Each trial measures a 200-item sample, extrapolates to 2,000 more
    // items, then draws those items and checks whether their true total lies in the interval.
    const rand = rngFromSeed(20261101);
    const draw = (): number => 0.001 - 0.002 * Math.log(1 - rand());
    const trials = 500;
    const n = 200;
    const remaining = 2_000;
    let covered = 0;
    let widthSum = 0;
    for (let t = 0; t < trials; t++) {
      const samples: SampledCost[] = [];
      let spent = 0;
      for (let i = 0; i < n; i++) {
        const c = draw();
        spent += c;
        samples.push(item(c, 500, Math.round(c * 1e5)));
      }
      const { totalUsd } = extrapolateCost(samples, { remainingItems: remaining, spentUsd: spent });
      let truth = spent;
      for (let i = 0; i < remaining; i++) truth += draw();
      if (truth >= totalUsd.low && truth <= totalUsd.high) covered++;
      widthSum += totalUsd.high - totalUsd.low;
    }
    const coverage = covered / trials;
    expect(coverage).toBeGreaterThanOrEqual(0.85);
    expect(coverage).toBeLessThanOrEqual(0.95);
    // And the interval is informative: expected width 2·1.645·σ·√(M + M²/n) ≈ $0.98 on ≈ $6.6.
    const meanWidth = widthSum / trials;
    expect(meanWidth).toBeGreaterThan(0.8);
    expect(meanWidth).toBeLessThan(1.2);
  });

  it('scales the rest by a price factor (a batch run does the rest at the Batch discount)', () => {
    const samples = [1, 2, 3, 4].map((c) => ({ promptTokens: 10, completionTokens: 5, costUsd: c / 1000 }));
    const full = extrapolateCost(samples, { remainingItems: 100, spentUsd: 0.01 });
    const half = extrapolateCost(samples, { remainingItems: 100, spentUsd: 0.01, priceFactor: 0.5 });
    expect(half.totalUsd.estimate - 0.01).toBeCloseTo((full.totalUsd.estimate - 0.01) / 2, 12);
    expect(half.totalUsd.high - half.totalUsd.estimate).toBeCloseTo((full.totalUsd.high - full.totalUsd.estimate) / 2, 12);
    expect(half.meanCostUsd).toBe(full.meanCostUsd);
  });
});
