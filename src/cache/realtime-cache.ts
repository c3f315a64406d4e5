// The exact cache around one realtime call: look the request up before calling, remember a
// complete answer after, and within a run send identical requests in flight at once only
// once (SingleFlight), fanning the answer out to each custom_id.
//
// - A stored answer (this run's, or one another run shared within the TTL, as --cache
//   allows) is a hit: no call, no rate-limiter charge, $0.
// - A failed call is never served or stored: the requests that waited on it try again,
//   one of them calling.
// - A successful answer is given to the requests that waited on that very call; it is stored
//   for later requests and runs only when complete (domain/exact-cache.ts: not truncated,
//   not a refusal). A truncated one is stored for this run's own repeats only.
// - The entry is written before the item's result: a worker killed between the two leaves
//   an entry of the item itself, which the resumed run records as that item's call.
// - With --semantic-cache, a miss here goes through the semantic step (cache/semantic-step.ts)
//   before calling: a prompt that means the same as one answered before reuses its answer.
//   Requests waiting on a semantic hit do not share it (the marker is the hit's own): each
//   looks for itself.
// - With --schema, a stored answer is used only if it passes the same check as a called one
//   (`fit`); one that does not is a miss. Answers that failed the check are never stored: the
//   call given here returns them as failures.
import { cachePolicy, DEFAULT_CACHE_TTL_MS, uncacheableReason } from '../domain/exact-cache.ts';
import type { PricingTable } from '../domain/pricing.ts';
import type { RunConfig } from '../domain/run-types.ts';
import type { ItemResult, ItemStore } from '../store/item-store.ts';
import type { CallOptions } from '../llm/provider.ts';
import { answerOfEntry, answerOfResult, entryOf, hitResult, ownResult, savedUsdOf, type SharedAnswer } from './cache-results.ts';
import { exactCacheKey } from './exact-key.ts';
import type { SingleFlight } from './single-flight.ts';
import { embeddingCostOf, semanticHitResult, withEmbeddingCost, type SemanticStep } from './semantic-step.ts';

export interface CachedItem {
  customId: string;
  url: string;
  /** Attempts already spent on the item. */
  attempts: number;
}

export class RealtimeExactCache {
  private readonly store: ItemStore;
  private readonly flights: SingleFlight<SharedAnswer>;
  private readonly config: RunConfig;
  private readonly pricing: PricingTable;
  private readonly now: () => number;
  private readonly semantic: SemanticStep | undefined;
  private readonly fit: ((body: unknown, response: unknown) => boolean) | undefined;

  /**
   * `semantic`: the run's semantic step (--semantic-cache), consulted after an exact miss.
   * `fit`: whether a stored answer may answer this request (--schema validation); all may when absent.
   */
  constructor(store: ItemStore, flights: SingleFlight<SharedAnswer>, config: RunConfig, pricing: PricingTable, now: () => number = Date.now, semantic?: SemanticStep, fit?: (body: unknown, response: unknown) => boolean) {
    this.store = store;
    this.flights = flights;
    this.config = config;
    this.pricing = pricing;
    this.now = now;
    this.semantic = semantic;
    this.fit = fit;
  }

  private fits(body: unknown, answer: SharedAnswer): boolean {
    return this.fit === undefined || this.fit(body, JSON.parse(answer.responseJson));
  }

  /**
   * The item's result: from the cache, or from `call` (which returns undefined when the item
   * was not done: stopped, or left pending). `body` and `model` are the request as sent;
   * `callOpts` stop the semantic step's embedding call with the item's.
   */
  async through(item: CachedItem, body: unknown, model: string, call: () => Promise<ItemResult | undefined>, callOpts: CallOptions = {}): Promise<ItemResult | undefined> {
    const policy = cachePolicy(this.config.cache);
    if (!policy.dedupe) return call();
    const runId = this.config.runId;
    const key = exactCacheKey(item.url, body);
    for (;;) {
      const joined = this.flights.join(`${runId}\n${key}`);
      if ('wait' in joined) {
        const answer = await joined.wait;
        if (answer && this.fits(body, answer)) return this.hit(item, model, answer);
        continue; // the call waited on gave nothing to reuse: try again, perhaps calling
      }
      let answer: SharedAnswer | undefined;
      try {
        const scope = { runId, includeShared: policy.useShared, minCreatedAt: this.now() - (this.config.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS) };
        const found0 = (await this.store.cacheLookup([key], scope)).get(key);
        const entry = found0 && this.fits(body, answerOfEntry(found0)) ? found0 : undefined;
        if (entry) {
          answer = answerOfEntry(entry);
          return entry.runId === runId && entry.customId === item.customId ? ownResult(item, model, 'realtime', entry) : this.hit(item, model, answer);
        }
        const found = await this.semantic?.lookup(item, body, callOpts);
        const embeddingUsd = embeddingCostOf(found);
        if (found?.hit) {
          const matched = (await this.store.cacheLookup([found.hit.key], scope)).get(found.hit.key);
          // The matched prompt's answer, if this run may still use it (else: a miss).
          if (matched && this.fits(body, answerOfEntry(matched))) {
            const reused = answerOfEntry(matched);
            return semanticHitResult(item, model, reused, found.hit, savedUsdOf(this.pricing, model, reused.usage, false), embeddingUsd);
          }
        }
        const result = await call();
        if (result === undefined) return undefined;
        if (result.status !== 'succeeded') return withEmbeddingCost(result, embeddingUsd);
        const shared = answerOfResult(runId, result);
        result.responseJson = shared.responseJson; // stored as the same text, serialised once
        const unfit = uncacheableReason(result.response ?? JSON.parse(shared.responseJson));
        if (unfit === undefined) {
          await this.store.cachePut([entryOf(shared, key, item.url, model, policy.share, this.now())]);
          if (found) await this.semantic!.remember(found, key);
        } else if (unfit === 'truncated') {
          // Kept for this run only: its own repeats get the same answer (the request is the
          // same, so its answer would be cut the same way), while other runs, and the semantic
          // cache, never see it (a rerun is how a user asks for a longer answer).
          await this.store.cachePut([entryOf(shared, key, item.url, model, false, this.now())]);
        }
        answer = shared;
        // The entry keeps the call's own cost (what a hit saves); the item's cost adds its embedding.
        return withEmbeddingCost(result, embeddingUsd);
      } finally {
        joined.lead.land(answer);
      }
    }
  }

  private hit(item: CachedItem, model: string, answer: SharedAnswer): ItemResult {
    return hitResult(item, model, answer, savedUsdOf(this.pricing, model, answer.usage, false));
  }
}
