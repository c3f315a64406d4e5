// processChunk: calls the pending items of one piece of work (a chunk's range, or the
// run's sample) through the provider with the run's concurrency (shared by every chunk
// of the run in this process) and the process-wide rate limiter, and writes results in
// small transactions. An item holds its concurrency slot until its result is in the
// store, so a crash re-sends at most `concurrency` items. After a retry or a crash it
// starts from what the store says is still pending.
//
// It stops early, leaving the rest pending for a later dispatch, when:
// - the run cancels it (pause, cancel, open circuit): no new call starts, calls in flight
//   finish and are recorded (or are dropped after STOP_GRACE_MS), then it reports cancelled;
// - the provider looks down (consecutive failures, shared by the run's chunks here);
// - its spend would pass its cap (its reservation times chunkCapFactor);
// - it did its dispatch's maxItems.
import { CancelledFailure, Context } from '@temporalio/activity';
import type { ChunkProgress, ChunkStopReason, ChunkSummary, ItemTotals, Route, RunConfig } from '../domain/run-types.ts';
import { costOfUsage, promptCacheSavingUsd, type PricingTable } from '../domain/pricing.ts';
import { priorityOf } from '../domain/priority.ts';
import type { ItemResult, ItemSelection, ItemStore, PendingItem } from '../store/item-store.ts';
import type { ProviderClient } from '../llm/provider.ts';
import { PromptCacheChunkLanes } from '../llm/prompt-cache-lanes.ts';
import type { SharedProviderHealth } from '../llm/provider-health.ts';
import { ResultWriter } from './result-writer.ts';
import { RealtimeExactCache } from '../cache/realtime-cache.ts';
import type { SingleFlight } from '../cache/single-flight.ts';
import type { SharedAnswer } from '../cache/cache-results.ts';
import type { SemanticCache } from '../cache/semantic-cache.ts';
import { SemanticStep } from '../cache/semantic-step.ts';
import { classifierCostOf, routeAtDispatch } from '../llm/classifier.ts';
import { answerFits, callUntilValid, validatesAnswers } from './schema-attempts.ts';
import type { WorkerMetrics } from '../observability/metrics.ts';
import type { Pack } from '../domain/pack-plan.ts';
import { callPack, planChunkPacks, withPackShare, type PackShare } from './realtime-pack.ts';

export interface ChunkInput {
  config: RunConfig;
  chunkIndex: number;
  selection: ItemSelection;
  /** The selection's totals when the run dispatched it: progress is counted from here. */
  before: Pick<ItemTotals, 'succeeded' | 'failed' | 'costUsd'>;
  /** The model to call instead of each item's own (the budget's fallback). */
  model?: string;
  /** Do at most this many items (the part of the chunk the budget allows). */
  maxItems?: number;
  /** Stop starting items once spend plus in-flight estimates would pass this (USD). */
  capUsd?: number;
  /** Output tokens per item the reservation assumed (max_tokens when absent). */
  outputTokensPerItem?: number;
  /** Which circuit epoch dispatched it: chunks of one epoch share one tripwire. */
  circuitEpoch: number;
  /** Realtime calls, or the Batch API (workflows/batch-chunk.ts); realtime when absent. */
  route?: Route;
  /** How many times this piece was dispatched before: keeps each dispatch's batch submissions apart. */
  dispatch?: number;
}

export interface RealtimeDeps {
  store: ItemStore;
  pricingFor(config: RunConfig): Promise<PricingTable>;
  providerFor(config: RunConfig): ProviderClient;
  /** The run's concurrency gate in this process: every chunk of the run shares it. */
  runSlots(config: RunConfig): <T>(fn: () => Promise<T>) => Promise<T>;
  /** The run's circuit tripwire in this process, per epoch. */
  providerHealth(config: RunConfig, epoch: number): SharedProviderHealth;
  /** Identical requests in flight in this process, sent once (the exact cache's in-run dedupe). */
  cacheFlights: SingleFlight<SharedAnswer>;
  /** The process's semantic cache for an embedding model (--semantic-cache), shared by every run. */
  semanticCacheFor(embeddingModel: string | undefined): SemanticCache;
  /** The worker's Prometheus metrics (items in flight); none when absent. */
  metrics?: WorkerMetrics;
}

const HEARTBEAT_MS = 1000;
/** After a stop, calls still in flight get this long to answer before they are dropped. */
const STOP_GRACE_MS = 10_000;

/** The item as it is sent: with the fallback model when the run switched. */
export function requestOf(item: PendingItem, model: string | undefined): { body: unknown; model: string } {
  if (model === undefined || model === item.model) return { body: item.body, model: item.model };
  return { body: { ...(item.body as Record<string, unknown>), model }, model };
}

/** Prompt cost plus the reserved output, at the price of the model that will be called. */
function itemEstimateUsd(pricing: PricingTable, item: PendingItem, model: string, outputTokensPerItem: number | undefined): number {
  const output = outputTokensPerItem === undefined ? item.maxOutputTokens : Math.min(item.maxOutputTokens, outputTokensPerItem);
  return costOfUsage(pricing, model, { promptTokens: item.promptTokens, cachedTokens: 0, completionTokens: output, reasoningTokens: 0 });
}

export function makeProcessChunk(deps: RealtimeDeps) {
  return async function processChunk(input: ChunkInput): Promise<ChunkSummary> {
    const { config, selection } = input;
    const ctx = Context.current();
    const cancelled = ctx.cancellationSignal;
    const [pricing, start] = await Promise.all([deps.pricingFor(config), deps.store.totals(config.runId, selection)]);
    // After a retry, the items this dispatch already did count against its maxItems.
    const doneBefore = start.succeeded + start.failed - input.before.succeeded - input.before.failed;
    const limit = input.maxItems === undefined ? -1 : Math.max(0, input.maxItems - doneBefore);
    const pending = limit === 0 ? [] : await deps.store.pendingItems(config.runId, selection, limit);
    // Calls of a prefix group carry its prompt_cache_key; a key's first call goes before the others.
    const lanes = new PromptCacheChunkLanes(config, pending);
    const provider = lanes.around(deps.providerFor(config));
    const slots = deps.metrics ? deps.metrics.countInFlight(deps.runSlots(config)) : deps.runSlots(config);
    const health = deps.providerHealth(config, input.circuitEpoch);
    const writer = new ResultWriter(deps.store, config.runId);
    // --semantic-cache: a step of the cache between the exact lookup and the call (src/cache/semantic-step.ts).
    const semantic = config.semanticThreshold === undefined ? undefined : new SemanticStep({ cache: deps.semanticCacheFor(config.embeddingModel), provider: deps.providerFor(config), pricing, threshold: config.semanticThreshold });
    // --schema: a cached answer must pass the same check as a called one (else it is a miss).
    const fit = validatesAnswers(config) ? answerFits : undefined;
    const cache = new RealtimeExactCache(deps.store, deps.cacheFlights, config, pricing, Date.now, semantic, fit);
    // --route: items of a classifier rule are rated just before their call (llm/classifier.ts).
    const classifier = { runId: config.runId, rules: config.routeRules, store: deps.store, provider: deps.providerFor(config), pricing, priority: priorityOf(config) };
    // --pack: small items of one request shape share calls (activities/realtime-pack.ts); the rest go alone.
    const packing = await planChunkPacks(deps.store, config, pending, (p) => requestOf(p, input.model));
    // What a pack that did not split cost each of its items, added to the item's own result.
    const packShares = new Map<string, PackShare>();
    const progress: ChunkProgress = {
      done: doneBefore,
      succeeded: start.succeeded - input.before.succeeded,
      failed: start.failed - input.before.failed,
      costUsd: start.costUsd - input.before.costUsd,
    };
    const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_MS);
    ctx.heartbeat(progress);

    // Soft stop: no new call. Hard abort: calls in flight are dropped (after the grace).
    const stop = new AbortController();
    const hardAbort = new AbortController();
    let graceTimer: NodeJS.Timeout | undefined;
    const onCancel = (): void => {
      stop.abort(cancelled.reason);
      graceTimer = setTimeout(() => hardAbort.abort(cancelled.reason), STOP_GRACE_MS);
    };
    cancelled.addEventListener('abort', onCancel, { once: true });
    const onTrip = (): void => stop.abort(health.signal.reason);
    health.signal.addEventListener('abort', onTrip, { once: true });
    if (health.tripped) onTrip();

    let quotaExhausted = false;
    let capReached = false;
    // Spend so far plus the estimates of calls in flight: what the cap is checked against.
    let committedUsd = progress.costUsd;
    // The first unexpected error (a store write failing, say): stop starting calls, then rethrow.
    let broken: unknown;

    /** One call of the item as sent; undefined when it was not done (stopped, or left pending). */
    const send = async (item: PendingItem, body: unknown, model: string, priorAttempts = item.attempts): Promise<ItemResult | undefined> => {
      if (stop.signal.aborted || quotaExhausted || capReached || broken !== undefined) return undefined;
      const estimate = itemEstimateUsd(pricing, item, model, input.outputTokensPerItem);
      if (input.capUsd !== undefined && committedUsd + estimate > input.capUsd) {
        capReached = true;
        return undefined;
      }
      committedUsd += estimate;
      const outcome = await provider.call(
        { customId: item.customId, url: item.url, body, chargeTokens: item.promptTokens + item.maxOutputTokens, priorAttempts, priority: priorityOf(config) },
        { signal: hardAbort.signal, stop: stop.signal, health },
      );
      committedUsd -= estimate;
      if (outcome.kind === 'quota_exhausted') {
        quotaExhausted = true;
        stop.abort(new Error('insufficient_quota'));
        return undefined;
      }
      if (outcome.kind === 'interrupted' || outcome.kind === 'unavailable') return undefined; // stays pending
      const result: ItemResult = { customId: item.customId, status: outcome.kind, attempts: outcome.attempts, model, mode: 'realtime' };
      if (outcome.statusCode !== undefined) result.statusCode = outcome.statusCode;
      if (outcome.requestId !== undefined) result.requestId = outcome.requestId;
      if (outcome.latencyMs !== undefined) result.latencyMs = outcome.latencyMs;
      if (outcome.rateLimited !== undefined) result.rateLimited = outcome.rateLimited;
      if (outcome.kind === 'succeeded') {
        result.response = outcome.body;
        result.usage = outcome.usage;
        result.costUsd = costOfUsage(pricing, model, {
          promptTokens: outcome.usage.prompt,
          cachedTokens: outcome.usage.cached,
          completionTokens: outcome.usage.completion,
          reasoningTokens: outcome.usage.reasoning,
        });
        result.promptCacheSavedUsd = promptCacheSavingUsd(pricing, model, outcome.usage.cached);
      } else {
        result.error = outcome.error;
        if (outcome.body !== undefined) result.response = outcome.body;
      }
      return result;
    };

    /** One item alone: through the cache and its own call, written when done. */
    const sendAlone = (staged: PendingItem): Promise<void> =>
          lanes.queue(staged, () => slots(async () => {
            if (stop.signal.aborted || quotaExhausted || capReached || broken !== undefined) return;
            // A cap check at the staged model before anything is spent on the item (a rating, say).
            const { model: stagedModel } = requestOf(staged, input.model);
            if (input.capUsd !== undefined && committedUsd + itemEstimateUsd(pricing, staged, stagedModel, input.outputTokensPerItem) > input.capUsd) {
              capReached = true;
              return;
            }
            // --route: items of a classifier rule are rated just before their call (llm/classifier.ts).
            const routed = await routeAtDispatch(classifier, staged, { signal: hardAbort.signal, stop: stop.signal, health, ...(input.model !== undefined ? { fallbackModel: input.model } : {}) });
            if (routed.kind === 'quota_exhausted') {
              quotaExhausted = true;
              stop.abort(new Error('insufficient_quota'));
              return;
            }
            if (routed.kind === 'stopped') return; // stays pending, still to be rated
            const item = routed.item;
            progress.costUsd += routed.costUsd;
            committedUsd += routed.costUsd;
            const { body, model } = requestOf(item, input.model);
            // The exact cache (--cache) answers it, or lets it call (src/cache/realtime-cache.ts).
            // --schema: an unfit answer is asked again, each discarded one counted (schema-attempts.ts).
            const discarded = (usd: number): void => {
              progress.costUsd += usd;
              committedUsd += usd;
            };
            const call = () => callUntilValid({ store: deps.store, config }, item, body, (prior) => send(item, body, model, prior), discarded);
            const answered = await cache.through(item, body, model, call, { signal: hardAbort.signal, stop: stop.signal, health });
            if (answered === undefined) return;
            // A failed call costs nothing itself, but a semantic lookup's embedding before it was paid.
            const callUsd = answered.costUsd ?? 0;
            progress.costUsd += callUsd;
            committedUsd += callUsd;
            if (answered.status === 'succeeded') progress.succeeded++;
            else progress.failed++;
            // The item's cost is all it took: its call (or $0 for an exact hit), its embedding, and its rating calls.
            const rating = classifierCostOf(item);
            const result: ItemResult = rating > 0 ? { ...answered, costUsd: callUsd + rating } : answered;
            progress.done++;
            await writer.write(withPackShare(result, packShares.get(item.customId)));
          })).catch((e: unknown) => {
            // An aborted call after a cancellation is the stop working, not a failure.
            if (!cancelled.aborted) broken ??= e;
          });

    /** A pack in one call (activities/realtime-pack.ts); its items go alone when it does not split cleanly. */
    const sendPack = (pack: Pack<PendingItem>): Promise<void> =>
      slots(async (): Promise<PendingItem[]> => {
        if (stop.signal.aborted || quotaExhausted || capReached || broken !== undefined) return [];
        const model = String(pack.body.model);
        const estimate = pack.members.reduce((sum, m) => sum + itemEstimateUsd(pricing, m, model, input.outputTokensPerItem), 0);
        if (input.capUsd !== undefined && committedUsd + estimate > input.capUsd) return pack.members; // alone, each checks the cap
        committedUsd += estimate;
        const out = await callPack({ provider: deps.providerFor(config), pricing, store: deps.store, runId: config.runId, priority: priorityOf(config) }, pack, { signal: hardAbort.signal, stop: stop.signal, health });
        committedUsd -= estimate;
        if (out.kind === 'quota_exhausted') {
          quotaExhausted = true;
          stop.abort(new Error('insufficient_quota'));
        }
        if (out.kind === 'quota_exhausted' || out.kind === 'not_done') return [];
        progress.costUsd += out.costUsd;
        committedUsd += out.costUsd;
        if (out.kind === 'unsplit') {
          for (const [id, share] of out.shares) packShares.set(id, share);
          return pack.members;
        }
        progress.succeeded += out.results.length;
        progress.done += out.results.length;
        return [];
      })
        .then(async (alone) => void (await Promise.all(alone.map(sendAlone))))
        .catch((e: unknown) => {
          if (!cancelled.aborted) broken ??= e;
        });

    try {
      await Promise.all([...packing.singles.map(sendAlone), ...packing.packs.map(sendPack)]);
    } finally {
      clearInterval(beat);
      clearTimeout(graceTimer);
      cancelled.removeEventListener('abort', onCancel);
      health.signal.removeEventListener('abort', onTrip);
      await writer.flush();
    }
    if (broken !== undefined) throw broken;
    // The run asked it to stop: it did, with everything finished recorded.
    if (cancelled.aborted) throw cancelled.reason instanceof CancelledFailure ? cancelled.reason : new CancelledFailure('chunk stopped');

    const after = await deps.store.totals(config.runId, selection);
    let stopReason: ChunkStopReason = 'done';
    if (quotaExhausted) stopReason = 'insufficient_quota';
    else if (after.pending > 0 && health.tripped) stopReason = 'provider_unavailable';
    else if (after.pending > 0 && capReached) stopReason = 'cost_cap';
    else if (after.pending > 0 && input.maxItems !== undefined) stopReason = 'item_limit';
    return { ...after, chunkIndex: input.chunkIndex, stopReason };
  };
}
