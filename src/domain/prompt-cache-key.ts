// Which prompt_cache_key a call of a prefix group carries. OpenAI routes a request to a cache
// machine by its prefix and prompt_cache_key, and past about 15 requests a minute for one
// prefix and key the excess overflows to machines that may not hold the prefix; its guide
// advises a key granularity that keeps each prefix-key combination below 15 requests a
// minute. So a group's calls take shard keys in turn: the first shard until it has had
// PER_KEY_PER_MINUTE calls in the last minute, then the next, and so on. A group sent at a
// low rate keeps one key; one sent at a high rate spreads over as many keys as its rate needs,
// each with its own warm machine. Pure: the clock is passed in.

/** Calls a minute per key: below the ~15 at which the provider starts to overflow, with a margin. */
export const PER_KEY_PER_MINUTE = 12;
const WINDOW_MS = 60_000;

/** The key of a group's shard: short, and within the 64 characters the API allows elsewhere. */
export const shardKey = (group: string, tag: string, shard: number): string => `${group.slice(0, 22)}.${tag}${shard.toString(36)}`;

export class PromptCacheKeyShards {
  /** Per group: per shard, the times of its calls in the last minute. */
  private readonly groups = new Map<string, number[][]>();
  private readonly perKey: number;

  constructor(perKeyPerMinute = PER_KEY_PER_MINUTE) {
    this.perKey = perKeyPerMinute;
  }

  /** The shard for a call of `group` at `now` (ms): the first under the rate. Records the call. */
  shardFor(group: string, now: number): number {
    let shards = this.groups.get(group);
    if (shards === undefined) this.groups.set(group, (shards = []));
    for (let i = 0; ; i++) {
      const times = (shards[i] ??= []);
      while (times.length > 0 && now - times[0]! >= WINDOW_MS) times.shift();
      if (times.length < this.perKey) {
        times.push(now);
        return i;
      }
    }
  }

  /** Forgets groups with no call in the last minute (memory stays with the groups in use). */
  prune(now: number): void {
    for (const [g, shards] of this.groups) {
      if (shards.every((t) => t.length === 0 || now - t[t.length - 1]! >= WINDOW_MS)) this.groups.delete(g);
    }
  }

  get size(): number {
    return this.groups.size;
  }
}
