// One pass of `llm-batch estimate` over a file (src/input/estimate-file.ts): it accepts and
// rejects exactly the lines staging does (duplicate custom_ids included), its figure for the
// file as it is equals staging's upper bound, threads change nothing, duplicate bodies are
// counted by the exact cache's key, and each lever gives what staging and the store give:
// the prompt cache's eligible tokens are staging's own count, the routing mix is staging's
// routing line by line, cache hits are the store's live shared entries.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { estimateFile, countFile } from '../../src/input/estimate-file.ts';
import { openEstimateLevers } from '../../src/cli/estimate-levers.ts';
import { PrefixEligibilityByModel } from '../../src/domain/estimate-prefix.ts';
import { PrefixCacheEligibility, type PrefixFingerprint } from '../../src/domain/prompt-prefix.ts';
import { countAndFingerprint } from '../../src/llm/prompt-fingerprint.ts';
import { loadRouteFile } from '../../src/input/route-file.ts';
import { routeParsedLine } from '../../src/input/route-line.ts';
import { parseInputLine } from '../../src/domain/schemas.ts';
import { NO_RULE } from '../../src/domain/estimate-routing.ts';
import { DEFAULT_CACHE_TTL_MS } from '../../src/domain/exact-cache.ts';
import { runningStageThreads } from '../../src/input/prepare-pool.ts';
import { stageInput } from '../../src/input/stage-input.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { countChatPromptTokens, countTextTokens } from '../../src/llm/tokens.ts';
import { exactCacheKey } from '../../src/cache/exact-key.ts';
import { estimateCostUsd } from '../../src/domain/pricing.ts';
import type { PrefixRequest } from '../../src/domain/estimate-levers.ts';
import { DEFAULTS } from '../../src/client.ts';
import { mixedInput } from '../support/reference-stage.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'estimate-file-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pricing = loadDefaultPricing();
const models = Object.keys(pricing.models);

const line = (id: string, body: Record<string, unknown>, metadata?: Record<string, unknown>): string =>
  JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', max_tokens: 30, ...body }, ...(metadata ? { metadata } : {}) });
const user = (text: string, system = 'Be brief.') => ({ messages: [{ role: 'system', content: system }, { role: 'user', content: text }] });

describe('estimate: one pass over a file', () => {
  it('accepts and rejects what staging does, and its realtime figure for the file as it is is staging\'s upper bound', async () => {
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, mixedInput());
    const store = new SqliteItemStore(join(dir, 'items.sqlite'));
    const staged = await stageInput({ store, pricingFor: async () => pricing, runDir: () => dir }, { runId: 'r', inputPath: file, mode: 'hybrid', urgentIf: 'feature=reply', ...DEFAULTS });
    await store.close();
    const r = await estimateFile(file, { pricing, defaults: {}, urgentIf: 'feature=reply' });
    expect({ lines: r.lines, accepted: r.accepted, rejected: r.rejected }).toEqual({ lines: staged.lines, accepted: staged.accepted, rejected: staged.rejected });
    expect(r.asIs.promptTokens).toBe(staged.promptTokens);
    expect(r.asIs.maxOutputTokens).toBe(staged.maxOutputTokens);
    expect(Math.abs(r.asIs.costUsd.realtime - staged.estimateUsd)).toBeLessThan(1e-12);
    expect(r.fileModels).toEqual(staged.models);
    // The first rejects are staging's, in line order, with the same messages.
    const stagedRejects = readFileSync(join(dir, 'rejects.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).sort((a, b) => a.line - b.line);
    expect(r.rejects.first).toEqual(stagedRejects.slice(0, 20));
    expect(Object.values(r.rejects.byCode).reduce((a, b) => a + b, 0)).toBe(staged.rejected);
    expect(r.rejects.byCode.duplicate_custom_id).toBe(stagedRejects.filter((x) => x.code === 'duplicate_custom_id').length);
    // Chat and embeddings lines: both kinds of model are compared.
    expect(r.models.map((m) => m.model).sort()).toEqual([...models].sort());
  });

  it('gives the same figures on counting threads, in any batch size, and leaves no thread behind', async () => {
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, mixedInput());
    const inline = await estimateFile(file, { pricing, defaults: {}, threads: { threads: 0 } });
    for (const threads of [{ threads: 1 }, { threads: 2, batchLines: 37, depth: 2 }, { threads: 1, help: false }]) {
      expect(await estimateFile(file, { pricing, defaults: {}, threads })).toEqual(inline);
    }
    expect(runningStageThreads()).toBe(0);
  });

  it('counts each model\'s prompt tokens with its own tokenizer, once per encoding', async () => {
    const file = join(dir, 'two.jsonl');
    const text = 'Überprüfe die Rechnung 4711 — ça ne marche pas 🚀';
    writeFileSync(file, `${line('a', user(text))}\n`);
    const r = await estimateFile(file, { pricing, defaults: {} });
    const messages = user(text).messages;
    for (const m of r.models) expect(m.promptTokens, m.model).toBe(countChatPromptTokens(m.model, messages));
    expect(new Set(r.models.map((m) => m.encoding))).toEqual(new Set(['o200k_base', 'cl100k_base']));
    expect(countChatPromptTokens('gpt-3.5-turbo', messages)).not.toBe(countChatPromptTokens('gpt-4o', messages));
  });

  it('a prompts file takes --model, --system and --max-tokens as run does', async () => {
    const file = join(dir, 'prompts.txt');
    writeFileSync(file, 'Name three rivers.\n\nSay hi.\n');
    const r = await estimateFile(file, { pricing, defaults: { model: 'gpt-4.1-nano', system: 'Be brief.', maxTokens: 25 } });
    expect(r).toMatchObject({ format: 'prompts', lines: 3, accepted: 2, rejected: 1, fileModels: ['gpt-4.1-nano'] });
    expect(r.rejects.first).toEqual([{ line: 2, custom_id: null, code: 'empty_line', message: 'the line is empty' }]);
    const tokens = countChatPromptTokens('gpt-4.1-nano', [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Name three rivers.' }]) + countChatPromptTokens('gpt-4.1-nano', [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hi.' }]);
    expect(r.asIs).toMatchObject({ promptTokens: tokens, maxOutputTokens: 50 });
    expect(r.asIs.costUsd.realtime).toBe(estimateCostUsd(pricing, 'gpt-4.1-nano', tokens, 50));
  });

  it('counts duplicate bodies by the exact cache\'s key: custom_id and metadata aside, any parameter apart', async () => {
    const file = join(dir, 'dups.jsonl');
    const lines = [
      line('a', user('Where is my invoice?')),
      line('b', user('Where is my invoice?'), { feature: 'other' }), // duplicate: only custom_id and metadata differ
      line('c', { ...user('Where is my invoice?'), temperature: 0.7 }), // not: temperature
      line('d', user('Where is my invoice?', 'Be kind.')), // not: system prompt
      line('e', user('Where is my invoice?')), // duplicate again
      line('a', user('Something else entirely')), // duplicate custom_id: rejected, not a body
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await estimateFile(file, { pricing, defaults: {}, models: ['gpt-4o-mini'] });
    expect(r).toMatchObject({ accepted: 5, rejected: 1 });
    expect(r.rejects.first).toEqual([{ line: 6, custom_id: 'a', code: 'duplicate_custom_id', message: 'custom_id "a" was already used on line 1' }]);
    const one = countChatPromptTokens('gpt-4o-mini', user('Where is my invoice?').messages);
    expect(r.levers.duplicates).toMatchObject({ available: true, lines: 2, promptTokens: 2 * one, repeatedBodies: 1 });
    const saved = (r.levers.duplicates as { savedUsd: { realtime: number; batch: number } }).savedUsd;
    expect(saved.realtime).toBeCloseTo(estimateCostUsd(pricing, 'gpt-4o-mini', 2 * one, 60), 12);
    expect(saved.batch).toBeCloseTo(estimateCostUsd(pricing, 'gpt-4o-mini', 2 * one, 60, { batch: true }), 12);
  });

  it('the cache lever is asked about first occurrences only, and its hits are not sent', async () => {
    const file = join(dir, 'cache.jsonl');
    const bodies = [user('one'), user('two'), user('three')];
    writeFileSync(file, `${[line('a', bodies[0]!), line('b', bodies[1]!), line('c', bodies[0]!), line('d', bodies[2]!)].join('\n')}\n`);
    const cached = new Set([exactCacheKey('/v1/chat/completions', { model: 'gpt-4o-mini', max_tokens: 30, ...bodies[0] }), exactCacheKey('/v1/chat/completions', { model: 'gpt-4o-mini', max_tokens: 30, ...bodies[2] })]);
    const asked: string[][] = [];
    const levers = { cachedKeys: async (keys: readonly string[]) => (asked.push([...keys]), new Set(keys.filter((k) => cached.has(k)))) };
    const counts = await countFile(file, { defaults: {}, models: ['gpt-4o-mini'], levers });
    expect(asked.flat()).toHaveLength(3); // a, b, d: c repeats a's body
    expect(asked.flat().filter((k) => cached.has(k))).toHaveLength(2);
    expect({ dups: counts.duplicates.lines, hits: counts.cacheHits!.lines, sent: counts.sent.lines }).toEqual({ dups: 1, hits: 2, sent: 1 });
    const r = await estimateFile(file, { pricing, defaults: {}, models: ['gpt-4o-mini'], levers });
    expect(r.levers.cacheHits).toMatchObject({ available: true, lines: 2 });
  });

  it('the prefix lever: eligible tokens are staging\'s own count (its fingerprints, PrefixCacheEligibility) on a file of long shared prompts, per model and per path', async () => {
    const file = join(dir, 'long.jsonl');
    const lines = longPromptLines();
    writeFileSync(file, `${lines.join('\n')}\n`);
    const store = new SqliteItemStore(join(dir, 'items.sqlite'));
    const staged = await stageInput({ store, pricingFor: async () => pricing, runDir: () => dir }, { runId: 'r', inputPath: file, mode: 'realtime', ...DEFAULTS });
    await store.close();
    const levers = { prefix: () => new PrefixEligibilityByModel() };
    const r = await estimateFile(file, { pricing, defaults: {}, levers });
    const p = r.levers.promptPrefix;
    if (!p.available) throw new Error('prefix lever not available');
    // Staging's own figure for the same file (no duplicate body: every line is sent).
    expect(staged.promptPrefix!.eligibleCachedTokens).toBeGreaterThan(20_000);
    expect(p.promptTokens).toBe(staged.promptPrefix!.eligibleCachedTokens);
    expect(p.lines).toBe(staged.promptPrefix!.groupedItems - staged.promptPrefix!.groups);
    // Per model and per path, from staging's fingerprints fed to PrefixCacheEligibility directly.
    const counter = new Map<string, PrefixCacheEligibility>();
    const feed = (key: string, fp: PrefixFingerprint | undefined): void => {
      if (!counter.has(key)) counter.set(key, new PrefixCacheEligibility());
      counter.get(key)!.add(fp);
    };
    for (const text of lines) {
      const l = JSON.parse(text) as { url: string; body: { model: string; messages?: unknown; input?: unknown }; metadata?: { priority?: string } };
      const fp = countAndFingerprint(l.url, l.body).fingerprint?.prefix;
      feed(`${l.body.model} together`, fp);
      feed(`${l.body.model} ${l.metadata?.priority === 'urgent' ? 'urgent' : 'regular'}`, fp);
    }
    const eligible = (key: string): number => counter.get(key)?.result().eligibleCachedTokens ?? 0;
    const saving = (model: string, tokens: number, batch: boolean): number => {
      const m = pricing.models[model]!;
      return (tokens * (m.inputPerMTok - m.cachedInputPerMTok!) * (batch ? pricing.batchDiscount : 1)) / 1e6;
    };
    const models = ['gpt-4o-mini', 'gpt-4.1-nano'];
    for (const m of models) expect(eligible(`${m} together`), m).toBeGreaterThan(0);
    expect(p.promptTokens).toBe(eligible('gpt-4o-mini together') + eligible('gpt-4.1-nano together'));
    expect(p.savedUsd.realtime).toBeCloseTo(models.reduce((n, m) => n + saving(m, eligible(`${m} together`), false), 0), 12);
    expect(p.savedUsd.batch).toBeCloseTo(models.reduce((n, m) => n + saving(m, eligible(`${m} together`), true), 0), 12);
    // Hybrid: the urgent lines go out realtime, apart from the rest: each path pays the first item of its groups.
    expect(eligible('gpt-4o-mini urgent')).toBeGreaterThan(0);
    expect(eligible('gpt-4o-mini urgent') + eligible('gpt-4o-mini regular')).toBeLessThan(eligible('gpt-4o-mini together'));
    expect(p.savedUsd.hybrid).toBeCloseTo(models.reduce((n, m) => n + saving(m, eligible(`${m} urgent`), false) + saving(m, eligible(`${m} regular`), true), 0), 12);
    // The same on counting threads (fingerprints cross threads), in any batch size.
    expect(await estimateFile(file, { pricing, defaults: {}, levers, threads: { threads: 2, batchLines: 7, depth: 2 } })).toEqual(r);
    // A repeated body is never sent: it adds nothing to the prompt cache's figure.
    const again = join(dir, 'again.jsonl');
    writeFileSync(again, `${lines.join('\n')}\n${JSON.stringify({ ...JSON.parse(lines[0]!), custom_id: 'repeat-1' })}\n`);
    const r2 = await estimateFile(again, { pricing, defaults: {}, levers });
    expect(r2.levers.duplicates).toMatchObject({ lines: 1 });
    expect(r2.levers.promptPrefix).toEqual(p);
  });

  it('short prompts are never fingerprinted: the figure is 0 and nothing is carried', async () => {
    const file = join(dir, 'short.jsonl');
    writeFileSync(file, `${[line('a', user('one')), line('b', user('two'))].join('\n')}\n`);
    const seen: PrefixRequest[] = [];
    const prefix = () => {
      const inner = new PrefixEligibilityByModel();
      return { add: (req: PrefixRequest) => (seen.push(req), inner.add(req)), result: () => inner.result() };
    };
    const r = await estimateFile(file, { pricing, defaults: {}, models: ['gpt-4o-mini'], levers: { prefix } });
    expect(seen).toEqual([{ model: 'gpt-4o-mini', urgent: false }, { model: 'gpt-4o-mini', urgent: false }]);
    expect(r.levers.promptPrefix).toMatchObject({ available: true, lines: 0, promptTokens: 0 });
  });

  it('--route on the example file: the model mix is routeParsedLine applied line by line, and its cost is what staging reserves with the same rules', async () => {
    const rules = loadRouteFile(ROUTES);
    const r = await estimateFile(EXAMPLE, { pricing, defaults: {}, models: ['gpt-4o-mini'], levers: { routes: { rules, file: 'examples/routes.yaml' } } });
    const f = r.levers.routing;
    if (!f.available) throw new Error('routing not available');
    // Line by line, as staging routes.
    const byModel: Record<string, number> = {};
    const byRule: Record<string, number> = {};
    let ratingCalls = 0;
    let ratingPrompt = 0;
    let moved = 0;
    readFileSync(EXAMPLE, 'utf8').trim().split('\n').forEach((text, i) => {
      const parsed = parseInputLine('batch', true, text, i + 1, {});
      if (!parsed.ok) throw new Error('example line rejected');
      const routed = routeParsedLine(rules, parsed.line);
      byModel[routed.model] = (byModel[routed.model] ?? 0) + 1;
      byRule[routed.rule ?? NO_RULE] = (byRule[routed.rule ?? NO_RULE] ?? 0) + 1;
      if (routed.model !== parsed.line.body.model || routed.route !== undefined || routed.classifier) moved++;
      if (routed.classifier) {
        ratingCalls++;
        ratingPrompt += routed.classifier.promptTokens;
      }
    });
    expect(Object.keys(byModel).length).toBeGreaterThanOrEqual(3);
    expect(Object.fromEntries(f.models.filter((m) => m.with.lines > 0).map((m) => [m.model, m.with.lines]))).toEqual(byModel);
    expect(f.models.find((m) => m.model === 'gpt-4o-mini')!.without.lines).toBe(2400);
    const mixByRule: Record<string, number> = {};
    for (const m of f.mix) mixByRule[m.rule] = (mixByRule[m.rule] ?? 0) + m.lines;
    expect(mixByRule).toEqual(byRule);
    expect(f.lines).toBe(moved);
    expect(f.ratings).toEqual([expect.objectContaining({ model: 'gpt-4.1-nano', calls: ratingCalls, promptTokens: ratingPrompt, maxOutputTokens: ratingCalls * 20 })]);
    // Staging with the same rules reserves the routed lines and the rating calls at their upper bound: the same figure.
    const store = new SqliteItemStore(join(dir, 'items.sqlite'));
    const staged = await stageInput({ store, pricingFor: async () => pricing, runDir: () => dir }, { runId: 'routed', inputPath: EXAMPLE, mode: 'realtime', routeRules: rules, ...DEFAULTS });
    await store.close();
    expect(Math.abs(f.routedUsd.realtime - staged.estimateUsd)).toBeLessThan(1e-9);
    expect(f.savedUsd.realtime).toBeCloseTo(r.asIs.costUsd.realtime - staged.estimateUsd, 9);
  });

  it('the cache lever opened on the item store: no store means no hits, said plainly, and none is created; hits within --cache-ttl only', async () => {
    const file = join(dir, 'cached.jsonl');
    const bodies = [user('one'), user('two'), user('three')];
    writeFileSync(file, `${bodies.map((b, i) => line(`c${i}`, b)).join('\n')}\n`);
    const home = join(dir, 'home');
    const none = await openEstimateLevers({ home, cacheTtlMs: DEFAULT_CACHE_TTL_MS });
    const r0 = await estimateFile(file, { pricing, defaults: {}, models: ['gpt-4o-mini'], levers: none.levers });
    await none.close();
    expect(r0.levers.cacheHits).toMatchObject({ available: true, lines: 0, note: expect.stringContaining(`no item store at ${join(home, 'items.sqlite')}`) });
    expect(existsSync(join(home, 'items.sqlite'))).toBe(false);
    // Two bodies answered by an earlier run (shared entries), one of them 10 days ago.
    const store = new SqliteItemStore(join(home, 'items.sqlite'));
    const now = Date.now();
    const entry = (b: (typeof bodies)[number], createdAt: number) => ({
      key: exactCacheKey('/v1/chat/completions', { model: 'gpt-4o-mini', max_tokens: 30, ...b }), url: '/v1/chat/completions', model: 'gpt-4o-mini', responseJson: '{}',
      usage: { prompt: 10, cached: 0, completion: 5, reasoning: 0 }, costUsd: 0.001, runId: 'earlier', customId: 'x', createdAt, shared: true,
    });
    await store.cachePut([entry(bodies[0]!, now - 3_600_000), entry(bodies[2]!, now - 10 * 86_400_000)]);
    await store.close();
    const hitsOf = async (cacheTtlMs: number) => {
      const opened = await openEstimateLevers({ home, cacheTtlMs });
      try {
        return (await estimateFile(file, { pricing, defaults: {}, models: ['gpt-4o-mini'], levers: opened.levers })).levers.cacheHits;
      } finally {
        await opened.close();
      }
    };
    const month = await hitsOf(DEFAULT_CACHE_TTL_MS);
    expect(month).toMatchObject({ available: true, lines: 2, note: `answers cached in ${join(home, 'items.sqlite')} in the last 30d (--cache-ttl)` });
    expect(await hitsOf(86_400_000)).toMatchObject({ lines: 1 });
  });
});

const EXAMPLE = join(import.meta.dirname, '../../examples/support-tickets.jsonl');
const ROUTES = join(import.meta.dirname, '../../examples/routes.yaml');

/** ~`tokens` tokens of varied prose, deterministic. */
function prose(seed: number, tokens: number): string {
  const words = ['carrier', 'consignee', 'invoice', 'pallet', 'warehouse', 'customs', 'insurance', 'delivery', 'liability', 'notice', 'depot', 'freight'];
  const out: string[] = [];
  for (let i = 0; countTextTokens('gpt-4o-mini', out.join(' ')) < tokens; i++) {
    out.push(`Clause ${seed}.${i}: the ${words[(seed + i) % words.length]} and the ${words[(seed * 7 + i * 3) % words.length]} are bound by term ${seed * 100 + i}.`);
  }
  return out.join(' ');
}

/**
 * Long shared prompts on two models: a handbook (~1,400 tokens) as the system prompt of many
 * tickets (some urgent), documents (~1,200 tokens) each with several tasks, shuffled, and
 * short lines; every body distinct.
 */
function longPromptLines(): string[] {
  const handbook = `You are a support agent. Follow this handbook.\n${prose(1, 1400)}`;
  const out: string[] = [];
  const req = (id: string, model: string, messages: { role: string; content: string }[], priority?: string): string =>
    JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model, messages, max_tokens: 50 }, ...(priority ? { metadata: { priority } } : {}) });
  for (let i = 0; i < 14; i++) out.push(req(`h-${i}`, 'gpt-4o-mini', [{ role: 'system', content: handbook }, { role: 'user', content: `Ticket ${i}: my invoice ${4000 + i} is wrong.` }], i % 4 === 0 ? 'urgent' : undefined));
  for (let i = 0; i < 4; i++) out.push(req(`n-${i}`, 'gpt-4.1-nano', [{ role: 'system', content: handbook }, { role: 'user', content: `Ticket ${i}: where is parcel ${9000 + i}?` }]));
  for (let d = 0; d < 4; d++) {
    const doc = `Contract ${d}.\n${prose(10 + d, 1200)}`;
    for (const [t, task] of ['Summarise it.', 'List every deadline.', 'Who are the parties?'].entries()) out.push(req(`d${d}-t${t}`, 'gpt-4o-mini', [{ role: 'system', content: 'You read contracts.' }, { role: 'user', content: `${doc}\n\nTask: ${task}` }]));
  }
  for (let i = 0; i < 5; i++) out.push(req(`s-${i}`, 'gpt-4o-mini', [{ role: 'user', content: `Say hi to ${i}.` }]));
  // A fixed shuffle: groups spread through the file, as in a real one.
  let seed = 7;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
