// What a run shows of the provider's prompt cache: the saving per call priced from the table
// (domain/pricing.ts), accumulated over chunks and shown as the cached share of prompt tokens
// and dollars saved (workflows/run-status.ts), and its line in the summary (cli/format.ts).
import { describe, expect, it } from 'vitest';
import { costOfUsage, promptCacheSavingUsd } from '../../src/domain/pricing.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { addDelta, fillStatus, promptCacheStatus, type RunProgress } from '../../src/workflows/run-status.ts';
import { promptCacheLine, summaryTable } from '../../src/cli/format.ts';
import { DEFAULTS } from '../../src/client.ts';
import type { ItemTotals, RunConfig, RunStatus } from '../../src/domain/run-types.ts';

const table = loadDefaultPricing();

describe('promptCacheSavingUsd', () => {
  it('is the cost without the cache minus the cost with it', () => {
    const usage = { promptTokens: 5000, cachedTokens: 3072, completionTokens: 80, reasoningTokens: 0 };
    for (const model of ['gpt-4o-mini', 'gpt-4o']) {
      for (const batch of [false, true]) {
        const uncached = costOfUsage(table, model, { ...usage, cachedTokens: 0 }, { batch });
        expect(promptCacheSavingUsd(table, model, 3072, { batch })).toBeCloseTo(uncached - costOfUsage(table, model, usage, { batch }), 12);
      }
    }
    expect(promptCacheSavingUsd(table, 'gpt-4o-mini', 0)).toBe(0);
  });

  it('is nothing for a model without a cached-input price', () => {
    const t = { ...table, models: { plain: { inputPerMTok: 1, outputPerMTok: 2 } } };
    expect(promptCacheSavingUsd(t, 'plain', 10_000)).toBe(0);
  });
});

const totals = (cached: number, saved?: number): ItemTotals => ({
  items: 10, succeeded: 10, failed: 0, pending: 0, tokens: { prompt: 20_000, cached, completion: 500, reasoning: 0 }, costUsd: 0.01,
  ...(saved !== undefined ? { promptCacheSavedUsd: saved } : {}),
});

function progress(): RunProgress {
  return {
    stage: { lines: 20, accepted: 20, rejected: 0, seqEnd: 20, rejectsPath: '/r', promptTokens: 40_000, maxOutputTokens: 1000, estimateUsd: 1, models: ['gpt-4o-mini'], promptPrefix: { groups: 2, groupedItems: 20, eligibleCachedTokens: 25_000, ordered: true }, warnings: ['in.jsonl lines 1, 2: …'] },
    phase: 'chunks', nextChunk: 0, requeued: [], chunksDone: 0, succeeded: 0, failed: 0, costUsd: 0,
    tokens: { prompt: 0, cached: 0, completion: 0, reasoning: 0 }, measured: { items: 0, completionTokens: 0 }, startedAt: '2026-01-10T12:00:00Z',
    circuit: { state: 'closed', openings: 0, probes: 0, epoch: 0 } as RunProgress['circuit'],
    operator: { paused: false, cancelled: false, approved: false, rejected: false, probeRequested: false }, alerted: { yellow: false, red: false },
    nextBatch: 0, batch: { succeeded: 0, failed: 0, costUsd: 0 }, deadlinePassed: false,
  };
}

describe('the run status', () => {
  it('adds each chunk\'s saving (its totals after minus before) and shows the cached share of prompt tokens', () => {
    const p = progress();
    addDelta(p, totals(12_000, 0.0009), { ...totals(0), items: 0, succeeded: 0, tokens: { prompt: 0, cached: 0, completion: 0, reasoning: 0 } });
    addDelta(p, totals(8_000, 0.0006), { succeeded: 0, failed: 0, costUsd: 0, tokens: { prompt: 0, cached: 0, completion: 0, reasoning: 0 } });
    expect(promptCacheStatus(p)).toEqual({ hitShare: 0.5, savedUsd: 0.0015, eligibleTokens: 25_000 });
    // A run from before savings were counted has none: 0.
    const old = progress();
    delete old.stage.promptPrefix;
    addDelta(old, totals(0), { succeeded: 0, failed: 0, costUsd: 0, tokens: { prompt: 0, cached: 0, completion: 0, reasoning: 0 } });
    expect(promptCacheStatus(old)).toEqual({ hitShare: 0, savedUsd: 0 });
  });

  it('carries staging\'s warnings', () => {
    const s = {} as RunStatus;
    fillStatus(s, progress(), { ...DEFAULTS, runId: 'r', inputPath: 'in.jsonl', mode: 'realtime' } as RunConfig, 0, [], [], 1, '2026-01-10T12:00:01Z');
    expect(s.warnings).toEqual(['in.jsonl lines 1, 2: …']);
    expect(s.promptCache).toEqual({ hitShare: 0, savedUsd: 0, eligibleTokens: 25_000 });
  });
});

describe('the prompt cache line', () => {
  const cache: Pick<RunStatus, 'tokens' | 'promptCache'> = { tokens: { prompt: 40_000, cached: 25_000, completion: 0, reasoning: 0 }, promptCache: { hitShare: 0.625, savedUsd: 0.001875, eligibleTokens: 25_000 } };
  const base = cache as RunStatus;
  it('shows the cached share, the saving and what was eligible', () => {
    expect(promptCacheLine(base)).toBe('62.5% of prompt tokens cached · saved $0.0019 · 25,000 tokens eligible in shared prefixes');
  });
  it('says nothing when nothing could be cached and nothing was', () => {
    expect(promptCacheLine({ ...base, tokens: { ...base.tokens, cached: 0 }, promptCache: { hitShare: 0, savedUsd: 0 } })).toBeUndefined();
  });
  it('is in the summary table, with the warnings', () => {
    const s = {
      runId: 'r', state: 'completed', priority: 3, counts: { total: 1, succeeded: 1, failed: 0, rejected: 0, pending: 0 },
      costUsd: { spent: 0, reserved: 0, budget: null, overshoot: 0, estimateTotal: 0, upperBound: 0 }, budgetState: 'none',
      circuit: { state: 'closed', openings: 0, probes: 0 }, chunks: { total: 1, done: 1, inFlight: [] }, startedAt: '', updatedAt: '',
      ...cache, warnings: ['in.jsonl lines 1, 2: the layout defeats the cache'],
    } as RunStatus;
    const out = summaryTable(s, 1000);
    expect(out).toContain('62.5% of prompt tokens cached');
    expect(out).toContain('in.jsonl lines 1, 2: the layout defeats the cache');
  });
});
