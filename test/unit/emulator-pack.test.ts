// The emulator's answer to a packed request: one result per numbered item, each the answer
// that item gets sent alone; and the pack-drop fault.
import { describe, expect, it } from 'vitest';
import { buildChatCompletion, generateCompletion } from '../../src/emulator/chat.ts';
import { structuredContent } from '../../src/emulator/structured-output.ts';
import { planPacks, type PackCandidate } from '../../src/domain/pack-plan.ts';
import { emulatorOptionsFromCli } from '../../src/cli/emulator.ts';

const SYSTEM = { role: 'system', content: 'Answer briefly.' };
const item = (text: string, extra: Record<string, unknown> = {}): PackCandidate => ({
  url: '/v1/chat/completions',
  model: 'gpt-4o-mini',
  body: { model: 'gpt-4o-mini', messages: [SYSTEM, { role: 'user', content: text }], max_tokens: 40, ...extra },
  promptTokens: 20,
  maxOutputTokens: 40,
});
const packOf = (items: PackCandidate[]) => planPacks(items, (x) => x, { maxItems: items.length }).packs[0]!;
const resultsOf = (body: Record<string, unknown>, drop?: { rate: number; seed: number }) =>
  (JSON.parse(generateCompletion(body as never, {}, drop).content) as { results: { id: number; answer: unknown }[] }).results;

describe('emulator: packed requests', () => {
  it('answers each numbered item with what it answers that item alone', () => {
    const items = Array.from({ length: 10 }, (_, i) => item(`Ticket ${i}: the export fails. What should I check?`));
    const results = resultsOf(packOf(items).body);
    expect(results.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    for (const [i, r] of results.entries()) expect(r.answer).toBe(generateCompletion(items[i]!.body as never).content);
    // Different items, different answers.
    expect(new Set(results.map((r) => r.answer)).size).toBe(10);
  });

  it('answers in the user\'s schema inside the pack', () => {
    const schema = { type: 'object', properties: { label: { type: 'string', enum: ['bug', 'question', 'praise'] }, score: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['label', 'score'], additionalProperties: false };
    const rf = { type: 'json_schema', json_schema: { name: 'triage', strict: true, schema } };
    const items = Array.from({ length: 5 }, (_, i) => item(`Ticket ${i}`, { response_format: rf }));
    const results = resultsOf(packOf(items).body);
    for (const [i, r] of results.entries()) {
      const alone = items[i]!.body as { model: string; messages: unknown };
      expect(r.answer).toEqual(JSON.parse(structuredContent(alone, { name: 'triage', schema, strict: true })));
      expect(JSON.stringify(r.answer)).toBe(generateCompletion(alone as never).content);
    }
  });

  it('--pack-drop-rate leaves one id out of about that share of packs, the same for the same request', () => {
    const packs = Array.from({ length: 200 }, (_, p) => packOf(Array.from({ length: 5 }, (_, i) => item(`p${p} item ${i}`))));
    const dropped = packs.filter((p) => resultsOf(p.body, { rate: 0.05, seed: 7 }).length === 4);
    expect(dropped.length).toBeGreaterThan(2);
    expect(dropped.length).toBeLessThan(25);
    for (const p of dropped) expect(resultsOf(p.body, { rate: 0.05, seed: 7 })).toEqual(resultsOf(p.body, { rate: 0.05, seed: 7 }));
    expect(packs.slice(0, 20).every((p) => resultsOf(p.body, { rate: 0, seed: 7 }).length === 5)).toBe(true);
    expect(packs.slice(0, 20).every((p) => resultsOf(p.body, { rate: 1, seed: 7 }).length === 4)).toBe(true);
    // Through the completion body too (as the HTTP route builds it).
    const body = buildChatCompletion(packs[0]!.body as never, { packDrop: { rate: 1, seed: 7 } });
    expect(JSON.parse(body.choices[0].message.content).results).toHaveLength(4);
  });

  it('takes --pack-drop-rate on the command line', () => {
    const base = { port: '0', host: '127.0.0.1', latencyMs: '0', jitterMs: '0', errorRate: '0', outage: [], malformedRate: '0', hangRate: '0', quotaExhausted: false, seed: '1', batchValidatingMs: '0', batchInProgressMs: '0', batchFinalizingMs: '0', batchLineErrorRate: '0' };
    expect(emulatorOptionsFromCli({ ...base, packDropRate: '0.05' }).packDropRate).toBe(0.05);
    expect(() => emulatorOptionsFromCli({ ...base, packDropRate: '2' })).toThrow(/--pack-drop-rate must be between 0 and 1/);
  });
});
