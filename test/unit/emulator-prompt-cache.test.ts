// The emulator's prompt cache model (prompt-cache.ts) on its own, on a clock the test sets:
// the 1,024-token threshold and 128-token steps, the longest shared prefix, routing by the
// first 256 tokens and prompt_cache_key, overflow past ~15 requests a minute, prefixes held
// only once their request was processed, and eviction after the TTL (to twice it) unused.
import { describe, expect, it } from 'vitest';
import { PromptCacheModel, type PromptCacheSettings } from '../../src/emulator/prompt-cache.ts';
import { chatPromptTokenIds } from '../../src/llm/prompt-tokens.ts';
import { countChatPromptTokens, countTextTokens } from '../../src/llm/tokens.ts';
import { rngFromSeed } from '../../src/emulator/random.ts';
import type { PromptPart } from '../../src/domain/prompt-prefix.ts';

const MODEL = 'gpt-4o-mini';
const SYSTEM = 'You answer questions about the shipping handbook, citing its section numbers. '.repeat(90);

function cache(s: Partial<PromptCacheSettings> = {}): PromptCacheModel {
  const settings = { machines: 64, ttlMs: 10_000, overflowPerMinute: 15, ...s };
  return new PromptCacheModel(() => settings, rngFromSeed(7));
}
const req = (parts: PromptPart[], key?: string) => ({ model: MODEL, ids: chatPromptTokenIds(MODEL, parts).ids, ...(key ? { key } : {}) });
const ask = (question: string, key?: string) => req([{ role: 'system', text: SYSTEM }, { role: 'user', text: question }], key);
/** Tokens two such prompts share, counted from the public token counts: the system message, then the user message's framing and role. */
const sharedTokens = (): number => countChatPromptTokens(MODEL, [{ role: 'system', content: SYSTEM }]) - 3 + 1 + countTextTokens(MODEL, 'user') + 1;

describe('prompt tokens', () => {
  it('are exactly the billed prompt tokens, in order', () => {
    const messages = [
      { role: 'system', content: SYSTEM },
      { role: 'user', name: 'ana', content: [{ type: 'text', text: 'Where is ' }, { type: 'text', text: 'my parcel?' }] },
      { role: 'assistant', content: 'In Lyon.' },
    ];
    const parts: PromptPart[] = [
      { role: 'system', text: SYSTEM },
      { role: 'user', name: 'ana', text: 'Where is my parcel?' },
      { role: 'assistant', text: 'In Lyon.' },
    ];
    expect(chatPromptTokenIds(MODEL, parts).ids.length).toBe(countChatPromptTokens(MODEL, messages));
  });
});

describe('prompt cache model', () => {
  it('caches nothing under 1,024 tokens', () => {
    const c = cache();
    const short = req([{ role: 'user', text: 'Where is my parcel?' }]);
    expect(c.serve(short, 0)).toBe(0);
    expect(c.serve(short, 1)).toBe(0);
    expect(c.stats()).toMatchObject({ lookups: 0, entries: 0 });
  });

  it('serves the longest prefix it holds, in 128-token steps', () => {
    const c = cache();
    const first = ask('Where is order 1?');
    expect(first.ids.length).toBeGreaterThan(1100);
    expect(c.serve(first, 0)).toBe(0);
    // The same prompt again: all of it, in 128-token steps.
    expect(c.serve(first, 10)).toBe(Math.floor(first.ids.length / 128) * 128);
    // Another question after the same system message: the shared part only.
    const expected = Math.floor(sharedTokens() / 128) * 128;
    expect(expected).toBeGreaterThanOrEqual(1024);
    expect(c.serve(ask('And what about order 2, which was sent to Lyon last week?'), 20)).toBe(expected);
    expect(c.stats()).toMatchObject({ lookups: 3, hits: 2 });
  });

  it('holds a prefix only once the request that carried it was processed', () => {
    const c = cache();
    c.serve(ask('q1'), 0, 500); // processed (answered) at t = 500 ms
    expect(c.serve(ask('q2'), 100, 600)).toBe(0); // still being processed: a miss
    expect(c.serve(ask('q3'), 500)).toBeGreaterThanOrEqual(1024);
  });

  it('evicts a prefix unused for the TTL to twice it; a hit keeps it alive', () => {
    const c = cache({ ttlMs: 10_000 });
    c.serve(ask('q1'), 0);
    expect(c.serve(ask('q2'), 9_000)).toBeGreaterThan(0); // within the TTL: a hit, which refreshes it
    expect(c.serve(ask('q3'), 18_500)).toBeGreaterThan(0); // 9.5 s after its last use
    expect(c.serve(ask('q4'), 18_500 + 20_001)).toBe(0); // over twice the TTL unused: gone
    const d = cache({ ttlMs: 10_000 });
    d.serve(ask('q1'), 0);
    expect(d.serve(ask('q2'), 20_001)).toBe(0);
  });

  it('routes by the first 256 tokens and prompt_cache_key: another key is another machine', () => {
    const c = cache({ machines: 1000 });
    c.serve(ask('q1', 'key-a'), 0);
    expect(c.serve(ask('q2', 'key-a'), 10)).toBeGreaterThan(0);
    expect(c.serve(ask('q3', 'key-b'), 20)).toBe(0);
    // With one machine, every route lands where the prefix is.
    const one = cache({ machines: 1 });
    one.serve(ask('q1', 'key-a'), 0);
    expect(one.serve(ask('q2', 'key-b'), 10)).toBeGreaterThan(0);
  });

  it('overflows past the rate per prefix and key to other machines, and comes back within a minute', () => {
    const c = cache({ machines: 1000, overflowPerMinute: 15, ttlMs: 120_000 });
    const hits: boolean[] = [];
    for (let i = 0; i < 45; i++) hits.push(c.serve(ask(`q${i}`, 'k'), i * 100) > 0);
    // The first 15 of the minute go to the key's machine: one miss, then hits.
    expect(hits.slice(0, 15)).toEqual([false, ...Array<boolean>(14).fill(true)]);
    expect(c.stats().overflowed).toBe(30);
    // The overflow is spread over machines that do not hold the prefix yet: misses among them.
    expect(hits.slice(15).filter((h) => !h).length).toBeGreaterThan(0);
    // A minute later the route is under the rate again: its own machine, still holding the prefix.
    expect(c.serve(ask('later', 'k'), 65_000)).toBeGreaterThan(0);
  });

  it('keeps each key under the rate on its own machine: sharded keys stay cached at a high rate', () => {
    const c = cache({ machines: 1000 });
    let cached = 0;
    for (let i = 0; i < 120; i++) cached += c.serve(ask(`q${i}`, `k-${Math.floor(i / 12)}`), i * 50) > 0 ? 1 : 0;
    // 10 keys, one miss each at most.
    expect(cached).toBeGreaterThanOrEqual(110);
    expect(c.stats().overflowed).toBe(0);
  });
});
