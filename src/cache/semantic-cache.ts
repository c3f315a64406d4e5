// The semantic cache (opt-in, `--semantic-cache THRESHOLD`): a chat request whose prompt
// means the same as one answered before reuses that answer, found by embedding similarity
// and checked by the guard.
//
// How a lookup decides:
// 1. The request's text and scope (domain/semantic-prompt.ts). Only prompts of the same
//    scope (model, parameters, system prompt) are compared; a request that cannot be judged
//    from its text (images, tool calls, other endpoints) is skipped, and nothing is spent.
// 2. The embedding of its case-folded text, from the provider (llm/embedder.ts): a real call,
//    priced, returned as `embedding` so the caller counts it like any other spend.
// 3. The CANDIDATES nearest stored prompts of the scope (cache/vector-index.ts: an exact scan
//    below ~1,000 vectors, usearch's HNSW graph above); those at or above the threshold
//    (cosine similarity), most similar first, go through the guard (domain/semantic-guard.ts).
//    The first the guard accepts is the hit; if it refuses them all, the best refusal is
//    reported as `refusedBy` (reason and both texts), so every non-reuse can be audited too.
//
// DEFAULT_SEMANTIC_THRESHOLD = 0.92, chosen on the pair set of
// test/integration/semantic-cache.test.ts (2,300 pairs from examples/support-tickets.jsonl:
// 800 paraphrases, 1,300 guarded near misses, 200 topic swaps; emulator embeddings):
//   threshold  0.80    0.85    0.88    0.90    0.91    0.92    0.93    0.95
//   precision  0.8605  0.8462  0.8957  0.9899  1.0000  1.0000  1.0000  1.0000  (with topic swaps)
//   recall     0.910   0.811   0.751   0.733   0.719   0.703   0.660   0.576
// Precision without the topic swaps is 1.000 at every threshold: the guard
// alone refuses every negation, number, date, id, name and quote pair. The threshold is what
// keeps apart requests that differ in an ordinary word ("the mobile app" vs "the web
// dashboard", 0.86–0.92 here): 0.91 is the lowest with precision ≥ 99%, and the default
// keeps one step of margin above it. The emulator's embeddings are lexical; a real model
// scores paraphrases higher, so with OpenAI this threshold is on the cautious side.
//
// Where the vectors live: the item store's `semantic_cache` table (SQLite or PostgreSQL), so
// every worker and both stores share them. Each process keeps its own in-memory index per
// scope and follows the table by id (domain/id-follower.ts allows for ids committed out of
// order), at most every `syncIntervalMs`, at the same time as the lookup's embedding call.
// Memory: 4 bytes per dimension per entry (6 KiB at 1536) plus the prompt's text.
//
// Use: one instance per worker process (and embedding model/size), shared by every run; the
// run's provider client, pricing table and threshold come with each lookup. Safe to call
// concurrently.
//   const cache = new SemanticCache(store);                        // worker start
//   const found = await cache.lookup({ url, body, customId }, { provider, pricing, threshold, signal, stop, health });
//   spend += found.embedding?.costUsd ?? 0;                        // the embedding is paid for, hit or not
//   if (found.hit) → serve the exact cache's answer under found.hit.key (a miss if it is gone);
//   else, once the chat call succeeded and its answer is in the exact cache under exactKey:
//     if (found.probe) await cache.remember(found.probe, exactKey);
import { createHash } from 'node:crypto';
import type { PricingTable } from '../domain/pricing.ts';
import { IdFollower } from '../domain/id-follower.ts';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../domain/semantic-threshold.ts';
import { guardRefusal, type GuardReason } from '../domain/semantic-guard.ts';
import { semanticPrompt, type SemanticPrompt } from '../domain/semantic-prompt.ts';
import type { ItemStore, SemanticEntry, SemanticSpace } from '../store/item-store.ts';
import { embed, embeddingSpace, type EmbeddingCharge } from '../llm/embedder.ts';
import type { CallOptions, ProviderClient } from '../llm/provider.ts';
import { VectorIndex } from './vector-index.ts';

export type { EmbeddingCharge };

// The constant lives in domain/ so the CLI and workflows can read it without this module's native index.
export { DEFAULT_SEMANTIC_THRESHOLD };
/** Candidates the guard may look at per lookup. */
export const CANDIDATES = 5;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows read per query while following the table. */
const PAGE = 1000;

export interface SemanticCacheOptions {
  /** Default text-embedding-3-small. */
  embeddingModel?: string;
  /** Default: the model's native size (1536 for text-embedding-3-small). */
  dimensions?: number;
  /** Nearest prompts the guard may look at; default 5. */
  candidates?: number;
  /** Entries older than this are neither loaded nor reused; default 30 days (the exact cache's TTL). */
  ttlMs?: number;
  /** Reads new rows of other processes at most this often; default 500 ms. */
  syncIntervalMs?: number;
  /** How long an id missing from the table is waited for (see IdFollower); default 10 s. */
  gapWaitMs?: number;
  /** Passed to each VectorIndex. */
  exactScanBelow?: number;
  now?: () => number;
}

/** What a lookup needs of its run, besides the request. */
export interface SemanticLookupContext extends CallOptions {
  /** The run's client: its rate limiter, retries and circuit apply to the embedding call. */
  provider: ProviderClient;
  /** Prices the embedding call (a table without the embedding model makes lookup throw its UnknownModelError). */
  pricing: PricingTable;
  /** Cosine similarity a stored prompt needs, in (0, 1]; default DEFAULT_SEMANTIC_THRESHOLD. */
  threshold?: number;
}

export interface SemanticRequest {
  url: string;
  body: unknown;
  /** The item's custom_id: the embedding call goes out as `<customId>#embedding`. */
  customId: string;
}

/** What remember() needs from a lookup: the prompt and its vector (no second embedding call). */
export interface SemanticProbe {
  readonly prompt: SemanticPrompt;
  readonly scopeKey: string;
  readonly vector: Float32Array;
}

export interface SemanticHit {
  /** The exact cache's key of the answer to reuse. */
  key: string;
  similarity: number;
  /** The stored prompt's text, and this request's: both go in the hit marker. */
  matchedText: string;
  text: string;
}

export interface SemanticRefusal extends Omit<SemanticHit, 'key'> {
  reason: GuardReason;
  detail: string;
}

export interface SemanticLookup {
  hit?: SemanticHit;
  /** No hit because the guard refused the best candidate above the threshold (the most similar refusal). */
  refusedBy?: SemanticRefusal;
  /** No lookup: the request is not cacheable (nothing spent), or the embedding call failed or was stopped. */
  skipped?: { code: 'not_cacheable' | 'embedding_failed' | 'quota_exhausted' | 'interrupted' | 'unavailable'; message: string };
  /** The embedding call's usage and cost; absent when no call was made. */
  embedding?: EmbeddingCharge;
  /** Hand to remember() once the answer is in the exact cache; absent when skipped. */
  probe?: SemanticProbe;
}

interface Remembered {
  exactKey: string;
  text: string;
  createdAt: number;
}

/** sha256 hex of a prompt's scope: what the store keeps and compares. */
export const scopeKeyOf = (scope: string): string => createHash('sha256').update(scope).digest('hex');

export class SemanticCache {
  readonly space: SemanticSpace;
  private readonly store: ItemStore;
  private readonly opts: Required<Omit<SemanticCacheOptions, 'embeddingModel' | 'dimensions' | 'exactScanBelow'>> & Pick<SemanticCacheOptions, 'exactScanBelow'>;
  private readonly indexes = new Map<string, VectorIndex>();
  private readonly entries = new Map<number, Remembered>();
  private readonly follower: IdFollower;
  private syncing: Promise<void> | undefined;
  private syncedAt = -Infinity;

  constructor(store: ItemStore, opts: SemanticCacheOptions = {}) {
    this.store = store;
    this.space = embeddingSpace(opts.embeddingModel, opts.dimensions);
    this.opts = {
      candidates: opts.candidates ?? CANDIDATES,
      ttlMs: opts.ttlMs ?? 30 * DAY_MS,
      syncIntervalMs: opts.syncIntervalMs ?? 500,
      gapWaitMs: opts.gapWaitMs ?? 10_000,
      exactScanBelow: opts.exactScanBelow,
      now: opts.now ?? Date.now,
    };
    this.follower = new IdFollower({ gapWaitMs: this.opts.gapWaitMs });
  }

  /** Entries this process holds in memory. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Looks for a stored prompt that may share its answer with this request. A provider
   * failure does not throw: it comes back as `skipped`, with what the call cost (nothing).
   * It throws for a configuration error (threshold, no price for the embedding model) and
   * when the store cannot be read.
   */
  async lookup(req: SemanticRequest, ctx: SemanticLookupContext): Promise<SemanticLookup> {
    const { provider, pricing, threshold = DEFAULT_SEMANTIC_THRESHOLD, ...callOpts } = ctx;
    if (!(threshold > 0 && threshold <= 1)) throw new Error(`the semantic cache's threshold is a cosine similarity in (0, 1], not ${threshold}`);
    const p = semanticPrompt(req.url, req.body);
    if (!p.ok) return { skipped: { code: 'not_cacheable', message: p.reason } };
    const via = { provider, pricing, ...this.space };
    const [embedded] = await Promise.all([embed(via, p.prompt.embeddingInput, `${req.customId}#embedding`, callOpts), this.sync()]);
    if (!embedded.ok) return { skipped: { code: embedded.code, message: embedded.message }, embedding: embedded.charge };
    const probe: SemanticProbe = { prompt: p.prompt, scopeKey: scopeKeyOf(p.prompt.scope), vector: embedded.vector };
    const out: SemanticLookup = { embedding: embedded.charge, probe };
    const index = this.indexes.get(probe.scopeKey);
    if (!index) return out;
    const oldest = this.opts.now() - this.opts.ttlMs;
    for (const n of index.search(probe.vector, this.opts.candidates)) {
      const e = this.entries.get(n.key);
      if (!e || n.similarity < threshold || e.createdAt < oldest) continue;
      const refusal = guardRefusal(p.prompt.text, e.text);
      if (!refusal) {
        out.hit = { key: e.exactKey, similarity: n.similarity, matchedText: e.text, text: p.prompt.text };
        delete out.refusedBy;
        return out;
      }
      out.refusedBy ??= { ...refusal, similarity: n.similarity, matchedText: e.text, text: p.prompt.text };
    }
    return out;
  }

  /**
   * Stores the probe's prompt as answered by the exact cache's entry `exactKey`. Returns false
   * when that answer already had a vector (another worker remembered it first).
   */
  async remember(probe: SemanticProbe, exactKey: string): Promise<boolean> {
    const entry = {
      ...this.space,
      vector: probe.vector,
      promptText: probe.prompt.text,
      exactKey,
      model: probe.prompt.model,
      scopeKey: probe.scopeKey,
      createdAt: this.opts.now(),
    };
    const id = await this.store.semanticPut(entry);
    if (id === undefined) return false;
    this.take({ ...entry, id });
    this.follower.saw([id], this.opts.now());
    return true;
  }

  /**
   * Reads the rows other processes added since the last read: at most every syncIntervalMs,
   * concurrent callers sharing one read. `force` reads now (after a read in progress), so
   * that every row committed before the call is in. A store failure rejects (and lookup with it).
   */
  async sync(force = false): Promise<void> {
    if (this.syncing) {
      await this.syncing;
      if (!force) return;
    }
    if (!force && this.opts.now() - this.syncedAt < this.opts.syncIntervalMs) return;
    this.syncing ??= this.readNewRows().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /** Stops background work of the indexes (nothing to flush: every entry is in the store). */
  close(): void {
    for (const index of this.indexes.values()) index.close();
  }

  private async readNewRows(): Promise<void> {
    const startedAt = this.opts.now();
    const createdFrom = startedAt - this.opts.ttlMs;
    const ids: number[] = [];
    for (let after = this.follower.after; ; ) {
      const rows = await this.store.semanticEntriesSince(this.space, after, PAGE, createdFrom);
      for (const r of rows) {
        ids.push(r.id);
        this.take(r);
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1]!.id;
    }
    this.follower.saw(ids, startedAt);
    this.syncedAt = startedAt;
  }

  private take(e: SemanticEntry): void {
    if (this.entries.has(e.id)) return;
    this.entries.set(e.id, { exactKey: e.exactKey, text: e.promptText, createdAt: e.createdAt });
    let index = this.indexes.get(e.scopeKey);
    if (!index) this.indexes.set(e.scopeKey, (index = new VectorIndex(this.space.dimensions, { exactScanBelow: this.opts.exactScanBelow })));
    index.add(e.id, e.vector);
  }
}
