// One pass of `llm-batch estimate` over a file (src/input/estimate-file.ts): it accepts and
// rejects exactly the lines staging does (duplicate custom_ids included), its figure for the
// file as it is equals staging's upper bound, threads change nothing, duplicate bodies are
// counted by the exact cache's key, and each injected lever sees what its contract says.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { estimateFile, countFile } from '../../src/input/estimate-file.ts';
import { runningStageThreads } from '../../src/input/prepare-pool.ts';
import { stageInput } from '../../src/input/stage-input.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { countChatPromptTokens, countTextTokens, encodingOf } from '../../src/llm/tokens.ts';
import { exactCacheKey } from '../../src/cache/exact-key.ts';
import { estimateCostUsd } from '../../src/domain/pricing.ts';
import { tallyCost } from '../../src/domain/estimate.ts';
import type { PrefixRequest, RoutableLine } from '../../src/domain/estimate-levers.ts';
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

  it('the prefix lever observes the lines sent in file order, with message boundaries in the model\'s own tokens', async () => {
    const file = join(dir, 'prefix.jsonl');
    const longSystem = `You are a support agent. ${'Follow the policy carefully. '.repeat(300)}`;
    writeFileSync(file, `${[line('a', user('first', longSystem)), line('b', user('second', longSystem)), line('c', user('first', longSystem)), line('d', user('third'))].join('\n')}\n`);
    const seen: PrefixRequest[] = [];
    // A minimal accumulator: the longest boundary seen before counts, from 1,024 tokens.
    const prefix = () => {
      const known = new Set<string>();
      return {
        observe(req: PrefixRequest): number {
          seen.push(req);
          let best = 0;
          for (const b of req.boundaries) if (known.has(b.key) && b.tokens >= 1024) best = b.tokens;
          for (const b of req.boundaries) known.add(b.key);
          return best;
        },
      };
    };
    const r = await estimateFile(file, { pricing, defaults: {}, models: ['gpt-4o-mini'], levers: { prefix } });
    // c repeats a's body: a duplicate, never sent, never observed.
    expect(seen.map((s) => s.boundaries.length)).toEqual([2, 2, 2]);
    const systemTokens = 3 + countTextTokens('gpt-4o-mini', 'system') + countTextTokens('gpt-4o-mini', longSystem);
    expect(seen[0]!.boundaries[0]!.tokens).toBe(systemTokens);
    expect(seen[0]!.boundaries[1]!.tokens + 3).toBe(seen[0]!.promptTokens);
    expect(seen[0]!.promptTokens).toBe(countChatPromptTokens('gpt-4o-mini', user('first', longSystem).messages));
    expect(seen[1]!.boundaries[0]!.key).toBe(seen[0]!.boundaries[0]!.key);
    expect(seen[1]!.boundaries[1]!.key).not.toBe(seen[0]!.boundaries[1]!.key);
    expect(seen[2]!.boundaries[0]!.key).not.toBe(seen[0]!.boundaries[0]!.key);
    expect(r.levers.promptPrefix).toMatchObject({ available: true, lines: 1, promptTokens: systemTokens });
    const p = pricing.models['gpt-4o-mini']!;
    expect((r.levers.promptPrefix as { savedUsd: { realtime: number } }).savedUsd.realtime).toBeCloseTo((systemTokens * (p.inputPerMTok - p.cachedInputPerMTok!)) / 1e6, 12);
  });

  it('the routing lever sees each line sent and its choice is priced at the chosen model, in that model\'s tokens', async () => {
    const file = join(dir, 'route.jsonl');
    writeFileSync(file, `${[line('t-1', user('Is this a bug?'), { feature: 'triage' }), line('s-1', user('Summarise: the app is slow since Tuesday.'), { feature: 'summary', priority: 'urgent' }), line('t-2', user('Is this a bug too?'), { feature: 'triage' })].join('\n')}\n`);
    const seen: RoutableLine[] = [];
    const routeLine = (l: RoutableLine) => (seen.push(l), l.feature === 'triage' ? { model: 'gpt-3.5-turbo', rule: 'feature=triage' } : { model: l.model, rule: 'default' });
    const counts = await countFile(file, { defaults: {}, models: ['gpt-4o-mini'], levers: { routeLine } });
    expect(seen.map((l) => [l.customId, l.feature, l.priority, l.lastUserMessage])).toEqual([
      ['t-1', 'triage', undefined, 'Is this a bug?'],
      ['s-1', 'summary', 'urgent', 'Summarise: the app is slow since Tuesday.'],
      ['t-2', 'triage', undefined, 'Is this a bug too?'],
    ]);
    expect(seen[0]!.promptTokens).toBe(countChatPromptTokens('gpt-4o-mini', user('Is this a bug?').messages));
    expect(counts.routing!.mix).toEqual([{ model: 'gpt-3.5-turbo', rule: 'feature=triage', lines: 2 }, { model: 'gpt-4o-mini', rule: 'default', lines: 1 }]);
    expect(counts.routing!.moved).toBe(2);
    // The routed triage lines are counted in gpt-3.5-turbo's encoding (cl100k_base), though no row compares it.
    const routed = tallyCost(pricing, counts.routing!.routed, encodingOf);
    const triage = [user('Is this a bug?'), user('Is this a bug too?')].reduce((n, b) => n + countChatPromptTokens('gpt-3.5-turbo', b.messages), 0);
    const summary = countChatPromptTokens('gpt-4o-mini', user('Summarise: the app is slow since Tuesday.').messages);
    expect(routed.realtime).toBeCloseTo(estimateCostUsd(pricing, 'gpt-3.5-turbo', triage, 60) + estimateCostUsd(pricing, 'gpt-4o-mini', summary, 30), 12);
  });
});
