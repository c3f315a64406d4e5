// prompt_cache_key per prefix group: shard keys kept under the provider's ~15 requests a
// minute per prefix and key (domain/prompt-cache-key.ts), and the lanes that send a key's
// first call alone and the rest once it answered (llm/prompt-cache-lanes.ts).
import { describe, expect, it } from 'vitest';
import { PER_KEY_PER_MINUTE, PromptCacheKeyShards, shardKey } from '../../src/domain/prompt-cache-key.ts';
import { PromptCacheLanes } from '../../src/llm/prompt-cache-lanes.ts';

describe('PromptCacheKeyShards', () => {
  it('keeps a group on one key below the rate, and moves on to the next shard past it', () => {
    const s = new PromptCacheKeyShards();
    const shards = Array.from({ length: 30 }, (_, i) => s.shardFor('g', i * 100));
    expect(shards).toEqual([...Array<number>(PER_KEY_PER_MINUTE).fill(0), ...Array<number>(PER_KEY_PER_MINUTE).fill(1), ...Array<number>(30 - 2 * PER_KEY_PER_MINUTE).fill(2)]);
    // A minute after its calls, the first shard takes calls again.
    expect(s.shardFor('g', 60_000 + 1200)).toBe(0);
    // Another group has shards of its own.
    expect(s.shardFor('h', 0)).toBe(0);
  });

  it('a slow group keeps one key for ever', () => {
    const s = new PromptCacheKeyShards();
    for (let i = 0; i < 100; i++) expect(s.shardFor('g', i * 6_000)).toBe(0);
  });

  it('forgets idle groups', () => {
    const s = new PromptCacheKeyShards();
    s.shardFor('g', 0);
    s.shardFor('h', 50_000);
    s.prune(70_000);
    expect(s.size).toBe(1);
  });

  it('keys fit the API and differ per shard', () => {
    const k = shardKey('A'.repeat(22), 'tag0', 35);
    expect(k.length).toBeLessThanOrEqual(64);
    expect(k).not.toBe(shardKey('A'.repeat(22), 'tag0', 34));
  });
});

describe('PromptCacheLanes', () => {
  it("sends a key's first call alone; the others go once it answered, then at once", async () => {
    let now = 0;
    const lanes = new PromptCacheLanes(() => now);
    const first = await lanes.enter('run', 'g');
    let secondIn = false;
    const second = lanes.enter('run', 'g').then((l) => {
      secondIn = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(secondIn).toBe(false);
    first.leave(true);
    const l2 = await second;
    expect(l2.key).toBe(first.key);
    // Warm now: no waiting.
    now = 1000;
    const l3 = await lanes.enter('run', 'g');
    expect(l3.key).toBe(first.key);
  });

  it('another group or run is another lane, and the shard key changes past the rate', async () => {
    let now = 0;
    const lanes = new PromptCacheLanes(() => now);
    const a = await lanes.enter('run', 'g');
    const b = await lanes.enter('run', 'h'); // not waiting on g's first call
    const c = await lanes.enter('other-run', 'g');
    expect(new Set([a.key, b.key])).toHaveProperty('size', 2);
    a.leave(true);
    b.leave(true);
    c.leave(true);
    const keys = new Set<string>();
    for (let i = 0; i < PER_KEY_PER_MINUTE + 1; i++) {
      now += 10;
      const l = await lanes.enter('run2', 'g');
      keys.add(l.key);
      l.leave(true);
    }
    expect(keys.size).toBe(2);
  });

  it('a failed first call releases the others without marking the key warm', async () => {
    const lanes = new PromptCacheLanes(() => 0);
    const first = await lanes.enter('run', 'g');
    const waiting = lanes.enter('run', 'g');
    first.leave(false);
    await waiting;
    // Not warm: the next call leads again (it resolves at once, holding the lane).
    const next = await lanes.enter('run', 'g');
    let third = false;
    void lanes.enter('run', 'g').then(() => (third = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    next.leave(true);
  });
});
