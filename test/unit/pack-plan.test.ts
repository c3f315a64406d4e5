import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { packShapeOf, planPacks, type PackCandidate } from '../../src/domain/pack-plan.ts';
import { packAnswerSchemaOf, packResultsSchema, packUserMessage, readPackUserMessage } from '../../src/domain/pack-prompt.ts';

const SYSTEM = { role: 'system', content: 'Classify the ticket.' };
const item = (text: string, extra: Record<string, unknown> = {}, sizes: Partial<PackCandidate> = {}): PackCandidate => ({
  url: '/v1/chat/completions',
  model: 'gpt-4o-mini',
  body: { model: 'gpt-4o-mini', messages: [SYSTEM, { role: 'user', content: text }], max_tokens: 40, ...extra },
  promptTokens: 20,
  maxOutputTokens: 40,
  ...sizes,
});
const ids = (packs: { members: PackCandidate[] }[], all: PackCandidate[]): number[][] => packs.map((p) => p.members.map((m) => all.indexOf(m)));

describe('pack prompt', () => {
  it('numbers the items and reads them back', () => {
    const texts = ['first\nwith two lines', 'second', 'third <b>bold</b>'];
    const msg = packUserMessage(texts, 40);
    expect(readPackUserMessage(msg)).toEqual({ items: texts.map((text, i) => ({ id: i + 1, text })), answerTokens: 40 });
    expect(readPackUserMessage(packUserMessage(['a', 'b'], undefined))).toEqual({ items: [{ id: 1, text: 'a' }, { id: 2, text: 'b' }] });
    expect(readPackUserMessage('just a question')).toBeUndefined();
  });

  it('wraps the answer schema and finds it again', () => {
    const user = { type: 'object', properties: { label: { type: 'string' } }, required: ['label'], additionalProperties: false };
    expect(packAnswerSchemaOf(packResultsSchema(user))).toEqual(user);
    expect(packAnswerSchemaOf(packResultsSchema(undefined))).toEqual({ type: 'string' });
    expect(packAnswerSchemaOf(user)).toBeUndefined();
  });

  it('keeps the user\'s definitions at the root, where its $refs resolve', () => {
    const user = { type: 'object', properties: { tag: { $ref: '#/$defs/tag' } }, required: ['tag'], additionalProperties: false, $defs: { tag: { type: 'string', enum: ['a', 'b'] } } };
    const packed = packResultsSchema(user);
    expect(packed.$defs).toEqual(user.$defs);
    const validate = new Ajv().compile(packed);
    expect(validate({ results: [{ id: 1, answer: { tag: 'a' } }] })).toBe(true);
    expect(validate({ results: [{ id: 1, answer: { tag: 'c' } }] })).toBe(false);
    expect(packAnswerSchemaOf(packed)).toEqual(user);
    // A reference to the user's own root cannot be moved: such items go alone.
    const recursive = { type: 'object', properties: { child: { anyOf: [{ $ref: '#' }, { type: 'null' }] } }, required: ['child'], additionalProperties: false };
    expect(packShapeOf(item('x', { response_format: { type: 'json_schema', json_schema: { name: 'tree', strict: true, schema: recursive } } }))).toBeUndefined();
  });
});

describe('planning packs', () => {
  it('packs up to N items of one request shape, in order, the rest alone', () => {
    const all = Array.from({ length: 23 }, (_, i) => item(`ticket ${i}`));
    const { packs, singles } = planPacks(all, (x) => x, { maxItems: 10 });
    expect(ids(packs, all)).toEqual([Array.from({ length: 10 }, (_, i) => i), Array.from({ length: 10 }, (_, i) => i + 10), [20, 21, 22]]);
    expect(singles).toEqual([]);
    const body = packs[2]!.body as { messages: { role: string; content: string }[]; max_tokens: number; response_format: { json_schema: { strict: boolean; name: string } } };
    // The system prompt once, the items numbered in one user message.
    expect(body.messages[0]).toEqual(SYSTEM);
    expect(body.messages).toHaveLength(2);
    expect(readPackUserMessage(body.messages[1]!.content)!.items.map((x) => x.text)).toEqual(['ticket 20', 'ticket 21', 'ticket 22']);
    expect(body.response_format.json_schema).toMatchObject({ name: 'packed_results', strict: true });
    expect(body.max_tokens).toBeGreaterThanOrEqual(3 * 40);
  });

  it('keeps apart items whose model, parameters, system prompt or schema differ', () => {
    const schema = { type: 'json_schema', json_schema: { name: 'label', strict: true, schema: { type: 'object', properties: { l: { type: 'string' } }, required: ['l'], additionalProperties: false } } };
    const all = [
      item('a'), item('b', { temperature: 0 }), item('c'), item('d', { temperature: 0 }),
      item('e', { model: 'gpt-4o' }, { model: 'gpt-4o' }), item('f', { model: 'gpt-4o' }, { model: 'gpt-4o' }),
      item('g', { messages: [{ role: 'system', content: 'Other.' }, { role: 'user', content: 'g' }] }),
      item('h', { response_format: schema }), item('i', { response_format: schema }),
    ];
    const { packs, singles } = planPacks(all, (x) => x, { maxItems: 10 });
    expect(ids(packs, all).sort()).toEqual([[0, 2], [1, 3], [4, 5], [7, 8]].sort());
    expect(singles.map((s) => all.indexOf(s))).toEqual([6]); // no partner
    const withSchema = packs.find((p) => p.members.includes(all[7]!))!;
    expect(withSchema.answerSchema).toEqual(schema.json_schema.schema);
    expect(packAnswerSchemaOf((withSchema.body.response_format as { json_schema: { schema: unknown } }).json_schema.schema)).toEqual(schema.json_schema.schema);
  });

  it('sends alone what cannot pack', () => {
    const unpackable = [
      item('x', { tools: [{ type: 'function', function: { name: 'f' } }] }),
      item('x', { n: 2 }),
      item('x', { response_format: { type: 'json_object' } }),
      item('contains </request> marker'),
      { ...item('x'), url: '/v1/embeddings' },
      item('x', { messages: [{ role: 'user', content: 'one' }, { role: 'assistant', content: 'two' }, { role: 'user', content: 'x' }] }),
      item('x', { messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] }),
    ];
    for (const u of unpackable) expect(packShapeOf(u)).toBeUndefined();
    expect(planPacks([...unpackable, ...unpackable], (x) => x, { maxItems: 5 }).packs).toEqual([]);
  });

  it('caps a pack by tokens: --pack-max-tokens and the model\'s output limit', () => {
    const all = Array.from({ length: 12 }, (_, i) => item(`t${i}`, {}, { promptTokens: 100 }));
    // Each item: 100 + 12 prompt, 40 + 16 output = 168; the pack adds 96 + 16. 1,000 tokens hold 5.
    const { packs } = planPacks(all, (x) => x, { maxItems: 10, maxTokens: 1000 });
    expect(packs.map((p) => p.members.length)).toEqual([5, 5, 2]);
    for (const p of packs) expect(p.chargeTokens).toBeLessThanOrEqual(1000);
    // gpt-4o-mini writes at most 16,384 tokens: items of 5,000 output tokens go 3 to a call (the seventh alone).
    const big = Array.from({ length: 7 }, (_, i) => item(`b${i}`, { max_tokens: 5000 }, { maxOutputTokens: 5000 }));
    expect(planPacks(big, (x) => x, { maxItems: 10 }).packs.map((p) => p.members.length)).toEqual([3, 3]);
    // One item too big to share a call goes alone.
    const huge = [item('h1', {}, { promptTokens: 2000 }), item('h2'), item('h3')];
    const r = planPacks(huge, (x) => x, { maxItems: 10, maxTokens: 1000 });
    expect(r.singles).toEqual([huge[0]]);
    expect(ids(r.packs, huge)).toEqual([[1, 2]]);
  });

  it('packs nothing below two', () => {
    const all = [item('a'), item('b')];
    expect(planPacks(all, (x) => x, { maxItems: 1 })).toEqual({ packs: [], singles: all });
  });
});
