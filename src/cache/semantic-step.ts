// The semantic cache's step in a realtime call (`run --semantic-cache THRESHOLD`): after the
// exact cache missed, before the chat call. cache/realtime-cache.ts runs it, so the realtime
// activity sees one cache.
//
// - The lookup embeds the prompt (one embeddings call, `<customId>#embedding`) and searches
//   the prompts answered before (cache/semantic-cache.ts). The embedding is paid hit or not:
//   its cost is part of the item's cost, so of the run's spend.
// - A hit is served from the exact cache's entry of the matched prompt: no chat call, usage 0,
//   mode `cache`, cost = the embedding, and a marker with both texts and the similarity
//   (domain/semantic-marker.ts). An entry that is gone (past the TTL, or not shared with this
//   run) makes the hit a miss.
// - A miss (or a guard refusal) calls as usual; once the answer is in the exact cache, the
//   prompt is remembered under that answer's key. Errors, refusals and truncated answers are
//   never in the exact cache, so never remembered; a hit is never remembered either.
// - An item stopped after its embedding but before its chat call (pause, cost cap, open
//   circuit) stays pending and records nothing: that embedding's cost (a few millionths of a
//   dollar) is not counted, and the item is embedded again when it is dispatched again. At
//   most the calls in flight at a stop.
import type { PricingTable } from '../domain/pricing.ts';
import { semanticHitMarker } from '../domain/semantic-marker.ts';
import type { ItemResult } from '../store/item-store.ts';
import type { CallOptions, ProviderClient } from '../llm/provider.ts';
import { hitResult, type SharedAnswer } from './cache-results.ts';
import type { SemanticCache, SemanticHit, SemanticLookup } from './semantic-cache.ts';

export interface SemanticStepOptions {
  /** The worker's cache for the run's embedding model (one per process, shared by runs). */
  cache: SemanticCache;
  /** The run's client: its rate limiter, retries and circuit apply to the embedding call. */
  provider: ProviderClient;
  pricing: PricingTable;
  threshold: number;
}

export class SemanticStep {
  private readonly opts: SemanticStepOptions;

  constructor(opts: SemanticStepOptions) {
    this.opts = opts;
  }

  /** Embeds and searches; a provider failure comes back as `skipped` (then the item just calls). */
  lookup(item: { customId: string; url: string }, body: unknown, callOpts: CallOptions): Promise<SemanticLookup> {
    const { cache, provider, pricing, threshold } = this.opts;
    return cache.lookup({ url: item.url, body, customId: item.customId }, { ...callOpts, provider, pricing, threshold });
  }

  /** After a chat call whose answer the exact cache stored under `exactKey`: the prompt joins the cache. */
  async remember(found: SemanticLookup, exactKey: string): Promise<void> {
    if (found.probe) await this.opts.cache.remember(found.probe, exactKey);
  }
}

/** What the embedding cost (0 when none was made or it failed). */
export const embeddingCostOf = (found: SemanticLookup | undefined): number => found?.embedding?.costUsd ?? 0;

/** An item answered by the semantic cache: the matched prompt's answer, at the embedding's cost, marked for audit. */
export function semanticHitResult(item: { customId: string; attempts: number }, model: string, answer: SharedAnswer, hit: SemanticHit, savedUsd: number, embeddingUsd: number): ItemResult {
  const r = hitResult(item, model, answer, savedUsd);
  r.costUsd = embeddingUsd;
  r.cacheMarker = JSON.stringify(semanticHitMarker(hit, answer.runId, answer.customId, savedUsd));
  return r;
}

/** The item's result with its embedding's cost added (a failed call's too: the embedding was paid). */
export function withEmbeddingCost(r: ItemResult, embeddingUsd: number): ItemResult {
  return embeddingUsd > 0 ? { ...r, costUsd: (r.costUsd ?? 0) + embeddingUsd } : r;
}
