// The small activities the run uses to steer itself: price the next piece of work before
// reserving it, read a piece's totals, send the circuit's probe call, measure the sample.
import type { ItemTotals, RunConfig, SampleEstimate } from '../domain/run-types.ts';
import { costOfUsage, promptCacheSavingUsd, type PricingTable } from '../domain/pricing.ts';
import { priorityOf } from '../domain/priority.ts';
import { extrapolateCost } from '../domain/sample-stats.ts';
import type { ItemResult, ItemSelection, ItemStore } from '../store/item-store.ts';
import type { ProviderClient } from '../llm/provider.ts';
import { requestOf } from './realtime.ts';
import { checkedResult, validatesAnswers } from './schema-attempts.ts';
import type { BatchClient } from '../llm/batch-client.ts';
import { classifierCostOf, routeAtDispatch } from '../llm/classifier.ts';

export interface RunControlDeps {
  store: ItemStore;
  pricingFor(config: RunConfig): Promise<PricingTable>;
  providerFor(config: RunConfig): ProviderClient;
  batchClientFor(config: RunConfig): BatchClient;
}

export interface WorkEstimateInput {
  config: RunConfig;
  selection: ItemSelection;
  /** The model that will be called instead of each item's own. */
  model?: string;
  /** Output tokens to reserve per item; each item's max_tokens when absent. */
  outputTokensPerItem?: number;
  /** Priced at the Batch API's discount. */
  batch?: boolean;
}

export interface WorkEstimateResult {
  /** The selection's totals now: the dispatch's progress is counted from these. */
  before: ItemTotals;
  pending: number;
  promptTokens: number;
  outputTokens: number;
  /** Upper-bound cost of the pending items: prompts exact, outputs as reserved. */
  usd: number;
}

export interface ProbeResult {
  /** The provider answered (the circuit may close). */
  ok: boolean;
  /** The probed item's result, when one was recorded. */
  recorded?: { succeeded: number; failed: number; costUsd: number; tokens: ItemTotals['tokens']; promptCacheSavedUsd?: number };
  detail: string;
}

export function makeRunControlActivities(deps: RunControlDeps) {
  return {
    async estimateWork(input: WorkEstimateInput): Promise<WorkEstimateResult> {
      const { config, selection } = input;
      const [pricing, before, rows] = await Promise.all([
        deps.pricingFor(config),
        deps.store.totals(config.runId, selection),
        deps.store.pendingEstimate(config.runId, selection, input.outputTokensPerItem),
      ]);
      const est: WorkEstimateResult = { before, pending: 0, promptTokens: 0, outputTokens: 0, usd: 0 };
      for (const r of rows) {
        est.pending += r.items;
        est.promptTokens += r.promptTokens;
        est.outputTokens += r.outputTokens;
        est.usd += costOfUsage(pricing, input.model ?? r.model, { promptTokens: r.promptTokens, cachedTokens: 0, completionTokens: r.outputTokens, reasoningTokens: 0 }, { batch: input.batch === true });
      }
      return est;
    },

    async chunkTotals(input: { config: RunConfig; selection: ItemSelection }): Promise<ItemTotals> {
      return deps.store.totals(input.config.runId, input.selection);
    },

    /**
     * The circuit's half-open call: the run's first pending item, sent once. A success or a
     * 4xx is recorded (the provider answered; the item is done or failed for good); a
     * provider failure leaves the item pending.
     */
    async probeProvider(input: { config: RunConfig; model?: string }): Promise<ProbeResult> {
      const { config } = input;
      // A batch run probes with a free call: it has no realtime item to spend on one.
      if (config.mode === 'batch') {
        try {
          await deps.batchClientFor(config).ping();
          return { ok: true, detail: 'the provider answered GET /models' };
        } catch (e) {
          return { ok: false, detail: (e as Error).message };
        }
      }
      const [staged] = await deps.store.pendingItems(config.runId, { seqStart: 0, seqEnd: Number.MAX_SAFE_INTEGER }, 1);
      if (!staged) return { ok: true, detail: 'nothing pending to probe with' };
      const pricing = await deps.pricingFor(config);
      // --route: an item of a classifier rule is rated first (one attempt too).
      const ctx = { runId: config.runId, rules: config.routeRules, store: deps.store, provider: deps.providerFor(config), pricing, priority: priorityOf(config) };
      const routed = await routeAtDispatch(ctx, staged, { maxAttempts: 1, ...(input.model !== undefined ? { fallbackModel: input.model } : {}) });
      if (routed.kind === 'quota_exhausted') return { ok: true, detail: `the provider answered: ${routed.message}` };
      if (routed.kind === 'stopped') return { ok: false, detail: `${staged.customId}: its classifier call failed` };
      const item = routed.item;
      // A rating made now is spent even when the item's own call does not get through.
      const ratedNow = routed.costUsd > 0 ? { recorded: { succeeded: 0, failed: 0, costUsd: routed.costUsd, tokens: { prompt: 0, cached: 0, completion: 0, reasoning: 0 } } } : {};
      const { body, model } = requestOf(item, input.model);
      const outcome = await deps.providerFor(config).call(
        { customId: item.customId, url: item.url, body, chargeTokens: item.promptTokens + item.maxOutputTokens, priorAttempts: item.attempts, priority: priorityOf(config) },
        { maxAttempts: 1 },
      );
      if (outcome.kind === 'quota_exhausted') return { ok: true, detail: `the provider answered: ${outcome.message}`, ...ratedNow };
      if (outcome.kind === 'interrupted') return { ok: false, detail: 'the probe was interrupted', ...ratedNow };
      if (outcome.kind === 'unavailable') return { ok: false, detail: `${outcome.error.code}: ${outcome.error.message}`, ...ratedNow };
      const transient = outcome.kind === 'failed' && (outcome.statusCode === undefined || outcome.statusCode >= 500 || outcome.statusCode === 408 || outcome.statusCode === 429);
      if (transient) return { ok: false, detail: `${outcome.error.code}: ${outcome.error.message}`, ...ratedNow };
      const result: ItemResult = { customId: item.customId, status: outcome.kind, attempts: outcome.attempts, model, mode: 'realtime', statusCode: outcome.statusCode! };
      if (outcome.requestId !== undefined) result.requestId = outcome.requestId;
      const recorded = { succeeded: 0, failed: 0, costUsd: 0, tokens: { prompt: 0, cached: 0, completion: 0, reasoning: 0 } };
      // The item's cost holds its rating calls; what the run adds is what changed now (this rating and call).
      const rated = classifierCostOf(item);
      if (outcome.kind === 'succeeded') {
        result.response = outcome.body;
        result.usage = outcome.usage;
        const callUsd = costOfUsage(pricing, model, { promptTokens: outcome.usage.prompt, cachedTokens: outcome.usage.cached, completionTokens: outcome.usage.completion, reasoningTokens: outcome.usage.reasoning });
        result.costUsd = rated + callUsd;
        result.promptCacheSavedUsd = promptCacheSavingUsd(pricing, model, outcome.usage.cached);
        Object.assign(recorded, { succeeded: 1, costUsd: routed.costUsd + callUsd, tokens: outcome.usage, promptCacheSavedUsd: result.promptCacheSavedUsd });
        // --schema: the probe's answer is checked like any other; an unfit one is a paid retry, a refusal a failure.
        if (validatesAnswers(config)) {
          const checked = checkedResult(result, body);
          if (checked.retryable) {
            await deps.store.recordRetries(config.runId, [{ customId: item.customId, attempts: outcome.attempts, costUsd: callUsd, usage: outcome.usage, error: checked.result.error!, mode: 'realtime' }]);
            return { ok: true, recorded: { ...recorded, succeeded: 0 }, detail: `${item.customId}: HTTP ${outcome.statusCode} (answer did not match the schema; retried later)` };
          }
          if (checked.result.status === 'failed') {
            Object.assign(result, checked.result);
            Object.assign(recorded, { succeeded: 0, failed: 1 });
          }
        }
      } else {
        if (rated > 0) result.costUsd = rated;
        recorded.costUsd = routed.costUsd;
        result.error = outcome.error;
        if (outcome.body !== undefined) result.response = outcome.body;
        recorded.failed = 1;
      }
      await deps.store.recordResults(config.runId, [result]);
      return { ok: true, recorded, detail: `${item.customId}: HTTP ${outcome.statusCode}` };
    },

    /** What the sample measured, extrapolated to the whole run with a 90% interval. */
    async sampleStats(input: { config: RunConfig; selection: ItemSelection; remainingItems: number; spentUsd: number; priceFactor?: number }): Promise<SampleEstimate> {
      const measured = await deps.store.measuredItems(input.config.runId, input.selection);
      return extrapolateCost(measured, { remainingItems: input.remainingItems, spentUsd: input.spentUsd, priceFactor: input.priceFactor ?? 1 });
    },
  };
}
