// Calls with a prompt_cache_key per prefix group (domain/prompt-cache-key.ts picks the shard
// key), the first call of each key sent alone: OpenAI caches a prefix after it has processed
// the prompt, so the calls of a key sent at the same moment as its first would all miss. The
// others of that key wait until the first has answered (at most LEADER_WAIT_MS), then go, and
// find the prefix cached on the machine their key routes to. They wait before taking a
// concurrency slot, so the slots keep calling other groups meanwhile. A line that carries its
// own prompt_cache_key keeps it, and goes without a lane.
// One set of lanes per worker process, shared by the chunks of every run it works on.
import { randomBytes } from 'node:crypto';
import { PromptCacheKeyShards, shardKey } from '../domain/prompt-cache-key.ts';
import type { RunConfig } from '../domain/run-types.ts';
import type { CallOptions, CallOutcome, CallRequest } from './provider.ts';

/** What the lanes read of an item (a store's LaneItem has it). */
export interface LaneItem {
  customId: string;
  body: unknown;
  prefixGroup?: string;
}

export interface Caller {
  call(req: CallRequest, opts?: CallOptions): Promise<CallOutcome>;
}

/** The longest a call waits for its key's first call: a first call stuck in retries must not hold the rest. */
export const LEADER_WAIT_MS = 30_000;
/** A key whose first call answered counts as warm this long (OpenAI keeps a prefix 5 to 10 minutes unused). */
const WARM_MS = 5 * 60_000;
const PRUNE_EVERY_MS = 60_000;

export interface Lane {
  key: string;
  /** After the call: `ok` when it succeeded (the prefix is now cached). */
  leave(ok: boolean): void;
}

const noLane = (key: string): Lane => ({ key, leave: () => {} });

export class PromptCacheLanes {
  private readonly shards = new PromptCacheKeyShards();
  /** Keys of this process differ from another worker's: each process keeps its own keys under the rate. */
  private readonly tag = randomBytes(3).toString('base64url');
  private readonly leaders = new Map<string, Promise<void>>();
  private readonly warmAt = new Map<string, number>();
  private prunedAt = 0;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /**
   * The lane of a call of `group` in run `runId`: its key, once the key's first call has answered.
   * At once (not a promise) for that first call and on a warm key, so calls keep their order.
   */
  enter(runId: string, group: string): Lane | Promise<Lane> {
    const now = this.now();
    this.prune(now);
    const key = shardKey(group, this.tag, this.shards.shardFor(`${runId}\u0000${group}`, now));
    const id = `${runId}\u0000${key}`;
    const warm = this.warmAt.get(id);
    if (warm !== undefined && now - warm < WARM_MS) return noLane(key);
    const leader = this.leaders.get(id);
    if (leader !== undefined) return settledWithin(leader, LEADER_WAIT_MS).then(() => noLane(key));
    let release!: () => void;
    this.leaders.set(id, new Promise<void>((r) => (release = r)));
    let left = false;
    return {
      key,
      leave: (ok) => {
        if (left) return;
        left = true;
        this.leaders.delete(id);
        if (ok) this.warmAt.set(id, this.now());
        release();
      },
    };
  }

  private prune(now: number): void {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    this.shards.prune(now);
    for (const [id, at] of this.warmAt) if (now - at >= WARM_MS) this.warmAt.delete(id);
  }
}

async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** The lanes of this worker process. */
export const processLanes = new PromptCacheLanes();

const ownKey = (body: unknown): boolean => typeof (body as { prompt_cache_key?: unknown } | undefined)?.prompt_cache_key === 'string';

/**
 * The lanes of one piece of work (a chunk's pending items): `queue` holds back an item whose
 * key's first call is still out (so it waits without taking a concurrency slot), and the
 * provider from `around` puts the item's key on its call. Items without a prefix group, with
 * a key of their own, or with `--prompt-cache off` pass straight through.
 */
export class PromptCacheChunkLanes {
  private readonly runId: string;
  private readonly groups = new Map<string, string>();
  private readonly entered = new Map<string, Lane>();
  private readonly lanes: PromptCacheLanes;

  constructor(config: RunConfig, items: readonly LaneItem[], lanes: PromptCacheLanes = processLanes) {
    this.runId = config.runId;
    this.lanes = lanes;
    if (config.promptCache === 'off') return;
    for (const it of items) if (it.prefixGroup !== undefined && !ownKey(it.body)) this.groups.set(it.customId, it.prefixGroup);
  }

  /** Runs `send` (which takes a slot and calls) once the item's lane lets it go; its lane is left after. */
  async queue<T>(item: LaneItem, send: () => Promise<T>): Promise<T> {
    const group = this.groups.get(item.customId);
    if (group === undefined) return send();
    const entered = this.lanes.enter(this.runId, group);
    // Awaited only when it waits: a call that need not wait goes in its turn, like one without a group.
    const lane = entered instanceof Promise ? await entered : entered;
    this.entered.set(item.customId, lane);
    try {
      return await send();
    } finally {
      // Not called (stopped, capped) or failed: the others of its key go anyway, the key not warm.
      lane.leave(false);
      this.entered.delete(item.customId);
    }
  }

  /** `provider` with each queued item's prompt_cache_key; the lane is left as soon as the call answers. */
  around(provider: Caller): Caller {
    if (this.groups.size === 0) return provider;
    return {
      call: async (req, opts) => {
        const lane = this.entered.get(req.customId);
        if (lane === undefined || ownKey(req.body)) return provider.call(req, opts);
        let ok = false;
        try {
          const out = await provider.call({ ...req, body: { ...(req.body as Record<string, unknown>), prompt_cache_key: lane.key } }, opts);
          ok = out.kind === 'succeeded';
          return out;
        } finally {
          lane.leave(ok);
        }
      },
    };
  }
}
