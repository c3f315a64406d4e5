// The emulator's prompt cache, modelled on OpenAI's "Prompt caching" guide:
// - Routing: a request goes to one of several cache machines, chosen by a hash of its first
//   256 tokens (and model) combined with its prompt_cache_key (the deprecated `user` field
//   when no key is given: the API reference says it also buckets requests for caching).
// - Overflow: past about 15 requests a minute for the same prefix and key, the excess is
//   spread at random over additional machines (as many as that rate needs at ~15 a minute
//   each), which may not hold the prefix.
// - Lookup: only prompts of ≥ 1,024 tokens are cached; a hit is the longest prefix the chosen
//   machine holds, in 128-token steps (1,024, 1,152, …).
// - Write: after a request was processed its prefixes are cached on that machine, so a
//   request that arrives while the first one is still being processed misses too (the
//   guide: on a miss the system "processes your full prompt, caching the prefix afterward").
// - Eviction: a prefix not used for 5–10 minutes is gone (each entry draws its idle lifetime
//   between the TTL and twice it; `--prompt-cache-ttl` scales the 5 minutes down for tests).
// Not modelled: the one-hour off-peak retention, extended (24h) retention, cache write fees.
import { createHash } from 'node:crypto';
import { CACHE_MIN_TOKENS, CACHE_STEP_TOKENS, ROUTE_PREFIX_TOKENS } from '../domain/prompt-prefix.ts';
import { idBytes } from '../llm/prompt-tokens.ts';

export interface PromptCacheSettings {
  /** Cache machines requests are spread over. */
  machines: number;
  /** Least idle time before a cached prefix is evicted (ms); each entry lasts between this and twice it. */
  ttlMs: number;
  /** Requests a minute per prefix and key that one machine takes before the excess overflows. */
  overflowPerMinute: number;
}

export const DEFAULT_PROMPT_CACHE: PromptCacheSettings = { machines: 64, ttlMs: 5 * 60_000, overflowPerMinute: 15 };

/** A request as the cache sees it. */
export interface CacheRequest {
  model: string;
  /** The prompt's tokens in billing order (llm/prompt-tokens.ts). */
  ids: Int32Array;
  /** prompt_cache_key (or user), when given. */
  key?: string;
}

interface Entry {
  lastUsed: number;
  /** When the request that wrote it has been processed: readable from then on. */
  readyAt: number;
  idleMs: number;
}

export interface PromptCacheStats {
  /** Requests of ≥ 1,024 tokens looked up, hits among them, and tokens served from the cache. */
  lookups: number;
  hits: number;
  cachedTokens: number;
  /** Requests sent to an overflow machine. */
  overflowed: number;
  /** Prefix entries held now, over all machines. */
  entries: number;
}

const MINUTE_MS = 60_000;
/** Entries per machine at most (least recently used go first): memory stays bounded. */
const MAX_ENTRIES_PER_MACHINE = 50_000;

const u32 = (digest: Buffer): number => digest.readUInt32BE(0);

export class PromptCacheModel {
  private readonly settings: () => PromptCacheSettings;
  private readonly random: () => number;
  private machines = new Map<number, Map<string, Entry>>();
  /** Per route (prefix + key): arrival times within the last minute. */
  private readonly recent = new Map<string, number[]>();
  private sweptAt = 0;
  private counters = { lookups: 0, hits: 0, cachedTokens: 0, overflowed: 0 };

  constructor(settings: () => PromptCacheSettings, random: () => number) {
    this.settings = settings;
    this.random = random;
  }

  /**
   * Cached tokens for a request arriving at `at` (ms), which will have been processed at
   * `readyAt`: looks its prefixes up on the machine it is routed to, then caches them there.
   */
  serve(req: CacheRequest, at: number, readyAt: number = at): number {
    const n = req.ids.length;
    if (n < CACHE_MIN_TOKENS) return 0;
    const s = this.settings();
    this.sweep(at, s);
    this.counters.lookups++;
    const machine = this.machineFor(req, at, s);

    // Checkpoint hashes: model + the first 1,024, 1,152, … tokens.
    const running = createHash('sha256').update(req.model).update('\u0000');
    const digests: Buffer[] = [];
    let done = 0;
    for (let k = CACHE_MIN_TOKENS; k <= n; k += CACHE_STEP_TOKENS) {
      running.update(idBytes(req.ids, done, k));
      done = k;
      digests.push(running.copy().digest());
    }
    const keys = digests.map((d) => d.toString('base64'));

    let hit = -1;
    for (let i = keys.length - 1; i >= 0; i--) {
      const e = machine.get(keys[i]!);
      if (e !== undefined && e.readyAt <= at && at - e.lastUsed <= e.idleMs) {
        hit = i;
        break;
      }
    }
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const e = machine.get(k);
      machine.delete(k); // re-inserted last: the map's order is least recently used first
      const live = e !== undefined && at - e.lastUsed <= e.idleMs;
      machine.set(k, live ? { ...e, lastUsed: at } : { lastUsed: at, readyAt, idleMs: s.ttlMs * (1 + digests[i]![4]! / 256) });
    }
    while (machine.size > MAX_ENTRIES_PER_MACHINE) machine.delete(machine.keys().next().value!);

    if (hit < 0) return 0;
    const cached = CACHE_MIN_TOKENS + hit * CACHE_STEP_TOKENS;
    this.counters.hits++;
    this.counters.cachedTokens += cached;
    return cached;
  }

  /** The machine of a request: its route's own while under the overflow rate, else one drawn among the additional ones. */
  private machineFor(req: CacheRequest, at: number, s: PromptCacheSettings): Map<string, Entry> {
    const head = req.ids.subarray(0, Math.min(ROUTE_PREFIX_TOKENS, req.ids.length));
    const route = createHash('sha256').update(req.model).update('\u0000').update(idBytes(head, 0, head.length)).update('\u0000').update(req.key ?? '').digest();
    const routeKey = route.toString('base64');
    const times = this.recent.get(routeKey) ?? [];
    while (times.length > 0 && at - times[0]! >= MINUTE_MS) times.shift();
    const before = times.length;
    times.push(at);
    this.recent.set(routeKey, times);
    let replica = 0;
    if (before >= s.overflowPerMinute) {
      const extra = Math.ceil((before + 1 - s.overflowPerMinute) / s.overflowPerMinute);
      replica = 1 + Math.floor(this.random() * extra);
      this.counters.overflowed++;
    }
    const index = replica === 0 ? u32(route) % s.machines : u32(createHash('sha256').update(route).update(String(replica)).digest()) % s.machines;
    let m = this.machines.get(index);
    if (m === undefined) this.machines.set(index, (m = new Map()));
    return m;
  }

  /** Drops expired entries and empty routes, at most once per few seconds. */
  private sweep(at: number, s: PromptCacheSettings): void {
    if (at - this.sweptAt < Math.min(5000, s.ttlMs)) return;
    this.sweptAt = at;
    for (const m of this.machines.values()) for (const [k, e] of m) if (at - e.lastUsed > e.idleMs) m.delete(k);
    for (const [k, times] of this.recent) if (times.length === 0 || at - times[times.length - 1]! >= MINUTE_MS) this.recent.delete(k);
  }

  stats(): PromptCacheStats {
    let entries = 0;
    for (const m of this.machines.values()) entries += m.size;
    return { ...this.counters, entries };
  }

  /** Forgets every cached prefix and route (a change of machine count reshuffles everything). */
  clear(): void {
    this.machines = new Map();
    this.recent.clear();
  }

  resetStats(): void {
    this.counters = { lookups: 0, hits: 0, cachedTokens: 0, overflowed: 0 };
  }
}
