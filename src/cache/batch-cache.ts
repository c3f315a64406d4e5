// The exact cache on the Batch API path (activities/batch-submit.ts, batch-collect.ts).
//
// Submit: before a line goes into a batch file, the cache is asked. A request it answers is
// recorded as a hit at once and left out of the file; a request identical to one already in
// this file is left out too (it stays pending, waiting on that line). Only a dispatch's first
// submission leaves repeats out: a resubmission (lines that failed) sends every line, so a
// failed line's repeats cost at most one more round, never one round each.
//
// Collect: each successful line's complete answer is remembered (after its result is
// recorded, so an entry always has its item's result beside it); then the requests that
// waited on a line get its answer as hits when it succeeded (a truncated answer too: the
// very call they waited on answered it), or are handed back for the next submission when
// it did not. A failure is never stored nor copied.
import { cachePolicy, DEFAULT_CACHE_TTL_MS, uncacheableReason, type CachePolicy } from '../domain/exact-cache.ts';
import { withModel } from '../domain/batch-format.ts';
import type { PricingTable } from '../domain/pricing.ts';
import type { RunConfig } from '../domain/run-types.ts';
import type { CacheEntry, ItemResult, ItemSelection, ItemStore, PendingRequest } from '../store/item-store.ts';
import { answerOfEntry, answerOfResult, entryOf, hitResult, ownResult, savedUsdOf, type SharedAnswer } from './cache-results.ts';
import { exactCacheKey } from './exact-key.ts';

const PAGE = 5000;

/** The key of a request as a Batch input line sends it. */
export const keyOfLine = (url: string, bodyJson: string): string => exactCacheKey(url, JSON.parse(bodyJson));

/** The key and endpoint of one line of a Batch input file, as read back from the provider. */
export function keyOfInputLine(line: string): { key: string; url: string } {
  const { url, body } = JSON.parse(line) as { url: string; body: unknown };
  return { key: exactCacheKey(url, body), url };
}

function scopeOf(config: RunConfig, policy: CachePolicy, now: number) {
  return { runId: config.runId, includeShared: policy.useShared, minCreatedAt: now - (config.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS) };
}

/** The cache while a batch file is written (a run whose --cache is not off). */
export class SubmitCache {
  private readonly policy: CachePolicy;
  private readonly store: ItemStore;
  private readonly config: RunConfig;
  private readonly pricing: PricingTable;
  private readonly leaveOutRepeats: boolean;
  /** Keys already in this file. */
  private readonly inFile = new Set<string>();
  /** --schema: whether a stored answer may answer this request (an unfit one is a miss); all may when absent. */
  private readonly fit: ((bodyJson: string, responseJson: string) => boolean) | undefined;

  constructor(store: ItemStore, config: RunConfig, pricing: PricingTable, submission: number, fit?: (bodyJson: string, responseJson: string) => boolean) {
    this.fit = fit;
    this.store = store;
    this.config = config;
    this.pricing = pricing;
    this.policy = cachePolicy(config.cache);
    this.leaveOutRepeats = this.policy.dedupe && submission === 0;
  }

  /** The custom_ids of a page to leave out of the file: the hits (recorded here) and repeats of a line already in it. */
  async leaveOut(page: PendingRequest[], model: string | undefined): Promise<Set<string>> {
    const out = new Set<string>();
    const keys = page.map((r) => keyOfLine(r.url, withModel(r.bodyJson, model)));
    const found = await this.store.cacheLookup([...new Set(keys)], scopeOf(this.config, this.policy, Date.now()));
    const hits: ItemResult[] = [];
    page.forEach((r, i) => {
      const key = keys[i]!;
      const stored = found.get(key);
      const entry = stored && (this.fit === undefined || this.fit(r.bodyJson, stored.responseJson)) ? stored : undefined;
      const sentModel = model ?? r.model;
      if (entry) {
        const item = { customId: r.customId, attempts: 0 };
        hits.push(entry.runId === this.config.runId && entry.customId === r.customId
          ? ownResult(item, sentModel, 'batch', entry)
          : hitResult(item, sentModel, answerOfEntry(entry), savedUsdOf(this.pricing, sentModel, entry.usage, true)));
        out.add(r.customId);
      } else if (this.leaveOutRepeats && this.inFile.has(key)) out.add(r.customId);
      else this.inFile.add(key);
    });
    await this.store.recordResults(this.config.runId, hits);
    return out;
  }
}

/** The cache while a batch's results are collected. */
export class CollectCache {
  private readonly store: ItemStore;
  private readonly config: RunConfig;
  private readonly pricing: PricingTable;
  private readonly policy: CachePolicy;
  /** Per submitted line (by position in the file), its key. */
  private readonly keys: string[];
  private readonly url: string;
  /** Pending requests not in the file, by key: those waiting on a line of it. */
  private readonly waiting = new Map<string, string[]>();
  /** Answers of lines someone waits on, by key. */
  private readonly answers = new Map<string, { answer: SharedAnswer; model: string }>();
  private queued: CacheEntry[] = [];

  private constructor(store: ItemStore, config: RunConfig, pricing: PricingTable, keys: string[], url: string) {
    this.store = store;
    this.config = config;
    this.pricing = pricing;
    this.policy = cachePolicy(config.cache);
    this.keys = keys;
    this.url = url;
  }

  /**
   * Undefined when the run does not use the cache. `keys`: the submitted lines' keys in file
   * order; `submitted`: their custom_ids; `model`: the fallback model the file was written with.
   */
  static async open(
    store: ItemStore,
    config: RunConfig,
    pricing: PricingTable,
    batch: { url: string; keys: string[]; submitted: ReadonlyMap<string, number>; model: string | undefined },
    selection: ItemSelection,
  ): Promise<CollectCache | undefined> {
    const { keys, submitted, model } = batch;
    const c = new CollectCache(store, config, pricing, keys, batch.url);
    if (!c.policy.dedupe) return undefined;
    const inFile = new Set(keys);
    for (let after = -1; ;) {
      const page = await store.pendingRequests(config.runId, selection, after, PAGE);
      for (const r of page) {
        if (submitted.has(r.customId)) continue;
        const key = keyOfLine(r.url, withModel(r.bodyJson, model));
        if (!inFile.has(key)) continue;
        const list = c.waiting.get(key);
        if (list) list.push(r.customId);
        else c.waiting.set(key, [r.customId]);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
    return c;
  }

  /** A line that succeeded: `body` is its parsed response body. */
  succeeded(position: number, result: ItemResult, body: unknown): void {
    const key = this.keys[position];
    if (key === undefined) return;
    const answer = answerOfResult(this.config.runId, result);
    if (this.waiting.has(key) && !this.answers.has(key)) this.answers.set(key, { answer, model: result.model });
    const unfit = uncacheableReason(body);
    // A truncated answer is kept for this run's own repeats only (see realtime-cache.ts).
    if (unfit === undefined || unfit === 'truncated') this.queued.push(entryOf(answer, key, this.url, result.model, unfit === undefined && this.policy.share, Date.now()));
  }

  /** The answers to remember noted since the last call: written once their results are recorded. */
  take(): CacheEntry[] {
    const entries = this.queued;
    this.queued = [];
    return entries;
  }

  /**
   * Gives the waiting requests their line's answer (hits); returns how many wait on a line
   * that has none (failed, or to be sent again): they go in the next submission.
   */
  async fanOut(): Promise<{ hits: number; left: number }> {
    let hits: ItemResult[] = [];
    let count = 0;
    let left = 0;
    for (const [key, ids] of this.waiting) {
      const got = this.answers.get(key);
      if (!got) {
        left += ids.length;
        continue;
      }
      const saved = savedUsdOf(this.pricing, got.model, got.answer.usage, true);
      for (const customId of ids) hits.push(hitResult({ customId, attempts: 0 }, got.model, got.answer, saved));
      if (hits.length >= PAGE) {
        await this.store.recordResults(this.config.runId, hits);
        count += hits.length;
        hits = [];
      }
    }
    await this.store.recordResults(this.config.runId, hits);
    return { hits: count + hits.length, left };
  }
}
