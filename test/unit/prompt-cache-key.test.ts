// prompt_cache_key per prefix group: shard keys kept under the provider's ~15 requests a
// minute per prefix and key (domain/prompt-cache-key.ts), and the lanes that send a key's
// first call alone and the rest once it answered (llm/prompt-cache-lanes.ts).
import { describe, expect, it } from 'vitest';
import { PER_KEY_PER_MINUTE, PromptCacheKeyShards, shardKey } from '../../src/domain/prompt-cache-key.ts';
import pLimit from 'p-limit';
import { PromptCacheChunkLanes, PromptCacheLanes } from '../../src/llm/prompt-cache-lanes.ts';
import { DEFAULTS } from '../../src/client.ts';
import type { PendingItem } from '../../src/store/item-store.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';

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
    const second = Promise.resolve(lanes.enter('run', 'g')).then((l) => {
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
    void Promise.resolve(lanes.enter('run', 'g')).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    next.leave(true);
  });
});

describe('PromptCacheChunkLanes', () => {
  const pending = (customId: string, prefixGroup?: string, body: Record<string, unknown> = {}): PendingItem => ({
    customId, seq: 0, url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [], ...body }, model: 'gpt-4o-mini', promptTokens: 2000, maxOutputTokens: 10, attempts: 0,
    ...(prefixGroup ? { prefixGroup } : {}),
  });
  const config = (extra: Partial<RunConfig> = {}): RunConfig => ({ ...DEFAULTS, runId: `r-${Math.random()}`, inputPath: 'x', mode: 'realtime', ...extra });

  it('a follower waits for its key\'s first call without holding a concurrency slot', async () => {
    const items = [pending('g1', 'G'), pending('g2', 'G'), pending('h1', 'H'), pending('plain')];
    const lanes = new PromptCacheChunkLanes(config(), items);
    const slot = pLimit(1);
    const sent: string[] = [];
    const caller = lanes.around({
      call: async (req) => {
        sent.push(`${req.customId}:${(req.body as { prompt_cache_key?: string }).prompt_cache_key ? 'key' : 'none'}`);
        await new Promise((r) => setTimeout(r, 5));
        return { kind: 'succeeded', attempts: 1, statusCode: 200, body: {}, usage: { prompt: 0, cached: 0, completion: 0, reasoning: 0 } };
      },
    });
    await Promise.all(items.map((it) => lanes.queue(it, () => slot(() => caller.call({ customId: it.customId, url: it.url, body: it.body, chargeTokens: 1, priorAttempts: 0 })))));
    // g2 waited for g1 outside the single slot, so h1 and the plain item went before it.
    expect(sent).toEqual(['g1:key', 'h1:key', 'plain:none', 'g2:key']);
  });

  it('keeps a line\'s own key, and sets none with --prompt-cache off', async () => {
    const own = pending('o', 'G', { prompt_cache_key: 'mine' });
    const seen: unknown[] = [];
    const call = async (req: { body: unknown }) => {
      seen.push((req.body as { prompt_cache_key?: string }).prompt_cache_key);
      return { kind: 'succeeded' as const, attempts: 1, statusCode: 200, body: {}, usage: { prompt: 0, cached: 0, completion: 0, reasoning: 0 } };
    };
    for (const [cfg, it] of [[config(), own], [config({ promptCache: 'off' }), pending('p', 'G')]] as const) {
      const lanes = new PromptCacheChunkLanes(cfg, [it]);
      await lanes.queue(it, () => lanes.around({ call }).call({ customId: it.customId, url: it.url, body: it.body, chargeTokens: 1, priorAttempts: 0 }));
    }
    expect(seen).toEqual(['mine', undefined]);
  });
});
