// Provider prompt caching end to end: a real dev server, workers, and the emulator over HTTP
// with its prompt cache as OpenAI documents it (machines routed by prefix and
// prompt_cache_key, overflow past ~15 requests a minute, prefixes held once processed), its
// eviction scaled down to 20-40 s. Measured here:
// (a) tasks on long documents, file shuffled: prefix-group order and prompt_cache_key against
//     the same run without them (each on its own emulator, so neither warms the other's cache);
// (b) one long shared system prompt at a high rate stays ≥ 80% cached;
// (c) the difference in spend between the two runs of (a) is the pricing table's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { priceFor } from '../../src/domain/pricing.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { client, readJsonl, runConfig, runToEnd, startWorker, tempDir } from '../support/harness.ts';

const MODEL = 'gpt-4o-mini';
const EMULATOR = { port: 0, promptCacheTtlMs: 20_000, latencyMs: 25, jitterMs: 10 };

/** A small seeded PRNG, so the shuffle is the same on every run of the test. */
function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const line = (id: string, messages: { role: string; content: string }[]) =>
  JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages, max_tokens: 60 } });

// ~330 tokens of instructions shared by every line: more than the 256 tokens the provider
// routes by, so without a prompt_cache_key every request has the same route.
const ANALYST = 'You are a contract analyst for a logistics company. Read the document, answer the task precisely, quote clause numbers, and say when the document does not answer. '.repeat(10);
const TASKS = ['Summarise the document in three sentences.', 'List every date and deadline.', 'Who are the parties and their obligations?', 'What penalties apply, and when?'];
function documentText(d: number): string {
  const words = ['carrier', 'consignee', 'invoice', 'pallet', 'warehouse', 'customs', 'insurance', 'delivery', 'liability', 'notice', 'depot', 'freight'];
  const sentences: string[] = [];
  for (let i = 0; i < 60; i++) sentences.push(`Clause ${d}.${i}: the ${words[(d + i) % words.length]} and the ${words[(d * 7 + i * 3) % words.length]} are bound by term ${d * 100 + i}.`);
  return `Contract ${d} between Shipper ${d} and Carrier ${d + 50}.\n${sentences.join(' ')}`;
}

/** Each of `docs` documents (over 1,024 tokens with the instructions) gets every task; the file is shuffled. */
function docTasksInput(dir: string, docs: number): { path: string; ids: string[] } {
  const lines: { id: string; text: string }[] = [];
  for (let d = 0; d < docs; d++) {
    for (const [t, task] of TASKS.entries()) lines.push({ id: `doc${d}-task${t}`, text: line(`doc${d}-task${t}`, [{ role: 'system', content: ANALYST }, { role: 'user', content: `${documentText(d)}\n\nTask: ${task}` }]) });
  }
  const shuffled = shuffle(lines, 42);
  const path = join(dir, 'doc-tasks.jsonl');
  writeFileSync(path, `${shuffled.map((l) => l.text).join('\n')}\n`);
  return { path, ids: shuffled.map((l) => l.id) };
}

const share = (s: RunStatus): number => s.tokens.cached / s.tokens.prompt;

describe('provider prompt caching', () => {
  const home = tempDir();
  let c: Client;
  // Two emulators, two workers: the run with ordering and keys, and the run without, never share a cache.
  let emuOn: RunningEmulator, emuOff: RunningEmulator;
  let workerOn: Awaited<ReturnType<typeof startWorker>>, workerOff: Awaited<ReturnType<typeof startWorker>>;
  const queueOn = `prefix-on-${Date.now()}`;
  const queueOff = `prefix-off-${Date.now()}`;

  beforeAll(async () => {
    [emuOn, emuOff] = await Promise.all([startEmulator(EMULATOR), startEmulator(EMULATOR)]);
    c = await client();
    [workerOn, workerOff] = await Promise.all([
      startWorker({ home: join(home, 'on'), baseURL: emuOn.baseUrl, taskQueue: queueOn }),
      startWorker({ home: join(home, 'off'), baseURL: emuOff.baseUrl, taskQueue: queueOff }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([workerOn?.stop(), workerOff?.stop()]);
    await Promise.all([emuOn?.close(), emuOff?.close()]);
  });

  let on: RunStatus;
  let off: RunStatus;

  it('(a) ordering and prompt_cache_key raise the cached share of a shuffled file of tasks on long documents', { timeout: 240_000 }, async () => {
    const { path, ids } = docTasksInput(home, 30);
    const base = { inputPath: path, concurrency: 8, chunkSize: 30, maxChunksInFlight: 2 } as const;
    const t0 = Date.now();
    [on, off] = await Promise.all([
      runToEnd(c, runConfig({ ...base, runId: `prefix-on-${Date.now()}` }), queueOn),
      runToEnd(c, runConfig({ ...base, runId: `prefix-off-${Date.now()}`, promptCache: 'off' }), queueOff),
    ]);
    const wallS = (Date.now() - t0) / 1000;
    for (const s of [on, off]) {
      expect(s.state).toBe('completed');
      expect(s.counts).toMatchObject({ total: 120, succeeded: 120, failed: 0 });
      // Results in input order, whatever the dispatch order.
      expect(readJsonl<{ custom_id: string }>(s.outputPath!).map((l) => l.custom_id)).toEqual(ids);
    }
    expect(emuOn.stats().duplicateCalls).toBe(0);
    const [pcOn, pcOff] = [emuOn.promptCacheStats(), emuOff.promptCacheStats()];
    console.log(
      `(a) 30 documents × 4 tasks, shuffled, in ${wallS.toFixed(1)} s: cached share with ordering + prompt_cache_key ${(share(on) * 100).toFixed(1)}% ` +
        `(${on.tokens.cached}/${on.tokens.prompt} tokens, ${pcOn.hits} hits, ${pcOn.overflowed} overflowed), ` +
        `without ${(share(off) * 100).toFixed(1)}% (${off.tokens.cached}/${off.tokens.prompt}, ${pcOff.hits} hits, ${pcOff.overflowed} overflowed)`,
    );
    // Staging found the groups and put the run in their order; the status says what was eligible.
    expect(on.promptCache?.eligibleTokens).toBeGreaterThan(0);
    expect(on.promptCache?.hitShare).toBeCloseTo(share(on), 5);
    // With keys, no prefix-and-key combination went past the provider's overflow rate.
    expect(pcOn.overflowed).toBe(0);
    expect(pcOff.overflowed).toBeGreaterThan(0);
    // Three of each document's four tasks can be hits: the share is near 3/4 of the prompt.
    expect(share(on)).toBeGreaterThan(0.6);
    expect(share(on)).toBeGreaterThan(2 * share(off));
    expect(share(on) - share(off)).toBeGreaterThan(0.3);
  });

  it('(c) the difference in spend between the two runs is the cached tokens priced by the table', () => {
    expect(on, 'run (a) first').toBeDefined();
    const p = priceFor(loadDefaultPricing(), MODEL);
    // The same requests on both sides: the same prompt and completion tokens, only the cache differs.
    expect(on.tokens.prompt).toBe(off.tokens.prompt);
    expect(on.tokens.completion).toBe(off.tokens.completion);
    const perCached = (p.inputPerMTok - p.cachedInputPerMTok!) / 1e6;
    const expectedDiff = (on.tokens.cached - off.tokens.cached) * perCached;
    console.log(`(c) spend without $${off.costUsd.spent.toFixed(6)}, with $${on.costUsd.spent.toFixed(6)}: difference $${(off.costUsd.spent - on.costUsd.spent).toFixed(6)}, table says $${expectedDiff.toFixed(6)}; saved ${on.promptCache!.savedUsd} vs ${off.promptCache!.savedUsd}`);
    expect(off.costUsd.spent - on.costUsd.spent).toBeCloseTo(expectedDiff, 8);
    // Each run's spend and saving, recomputed from its token totals.
    for (const s of [on, off]) {
      const t = s.tokens;
      expect(s.costUsd.spent).toBeCloseTo(((t.prompt - t.cached) * p.inputPerMTok + t.cached * p.cachedInputPerMTok! + t.completion * p.outputPerMTok) / 1e6, 8);
      expect(s.promptCache!.savedUsd).toBeCloseTo(t.cached * perCached, 8);
    }
    expect(on.promptCache!.savedUsd - off.promptCache!.savedUsd).toBeCloseTo(expectedDiff, 8);
  });

  it('(b) one long shared system prompt at a high rate stays at least 80% cached', { timeout: 180_000 }, async () => {
    const handbook = 'Support handbook: greet the customer, confirm the order number, check the carrier status, offer a refund only after two failed deliveries, and close with the ticket number. '.repeat(55);
    const lines = Array.from({ length: 300 }, (_, i) => line(`q${i}`, [{ role: 'system', content: handbook }, { role: 'user', content: `Ticket ${i}: parcel ${70000 + i} has not arrived.` }]));
    const path = join(home, 'shared-system.jsonl');
    writeFileSync(path, `${lines.join('\n')}\n`);
    emuOn.resetStats();
    const t0 = Date.now();
    const s = await runToEnd(c, runConfig({ runId: `prefix-shared-${Date.now()}`, inputPath: path, concurrency: 24 }), queueOn);
    const wallS = (Date.now() - t0) / 1000;
    expect(s.state).toBe('completed');
    expect(s.counts.succeeded).toBe(300);
    const pc = emuOn.promptCacheStats();
    const rate = (300 / wallS) * 60;
    console.log(`(b) 300 items sharing a ${s.tokens.prompt / 300 | 0}-token prompt in ${wallS.toFixed(1)} s (~${rate.toFixed(0)} requests/min): cached share ${(share(s) * 100).toFixed(1)}%, ${pc.hits}/${pc.lookups} hits, ${pc.overflowed} overflowed; saved $${s.promptCache!.savedUsd}`);
    // Far above the ~15 requests a minute a prefix and key can take on one machine.
    expect(rate).toBeGreaterThan(150);
    expect(share(s)).toBeGreaterThanOrEqual(0.8);
  });
});
