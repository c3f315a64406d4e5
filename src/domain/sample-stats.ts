// Extrapolates a run's total cost from its measured sample: the mean cost per item times
// the items still to do, with a prediction interval that accounts both for how much items
// vary and for how well the sample pins down the mean. Pure: no Node APIs, no I/O.
import type { SampleEstimate } from './run-types.ts';

export interface SampledCost {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** z for a 90% two-sided interval. */
export const Z_90 = 1.645;

/**
 * Extrapolates the run's total cost from the measured sample items (the ones that succeeded).
 * `priceFactor` scales the remaining items' cost: the sample runs realtime, while a batch or
 * hybrid run does the rest partly at the Batch discount.
 */
export function extrapolateCost(samples: SampledCost[], opts: { remainingItems: number; spentUsd: number; z?: number; priceFactor?: number }): SampleEstimate {
  const { spentUsd } = opts;
  const n = samples.length;
  if (n === 0) {
    return {
      measured: 0,
      meanInputTokens: 0,
      meanOutputTokens: 0,
      meanCostUsd: 0,
      totalUsd: { estimate: spentUsd, low: spentUsd, high: spentUsd },
    };
  }
  const m = Math.max(0, opts.remainingItems);
  const z = opts.z ?? Z_90;
  let input = 0;
  let output = 0;
  let cost = 0;
  for (const s of samples) {
    input += s.promptTokens;
    output += s.completionTokens;
    cost += s.costUsd;
  }
  const mean = cost / n;
  let squares = 0;
  if (n >= 2) for (const s of samples) squares += (s.costUsd - mean) ** 2;
  const variance = n >= 2 ? squares / (n - 1) : 0;
  // Var(sum of M new items) + Var(M × estimated mean) = Mσ² + M²σ²/n.
  const f = opts.priceFactor ?? 1;
  const se = f * Math.sqrt(m * variance + (m * m * variance) / n);
  const rest = f * m * mean;
  return {
    measured: n,
    meanInputTokens: input / n,
    meanOutputTokens: output / n,
    meanCostUsd: mean,
    totalUsd: {
      estimate: spentUsd + rest,
      low: spentUsd + Math.max(0, rest - z * se),
      high: spentUsd + rest + z * se,
    },
  };
}
