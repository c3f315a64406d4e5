// --schema's pure pieces and the emulator's schema-violation fault: the strict rules, the
// response_format put on a request, the answer check (ajv), parsed records, the CLI's loading of
// a schema file (JSON or a zod module), and broken answers that the check catches.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { strictSchemaProblem } from '../../src/domain/strict-schema.ts';
import { expectedAnswerOf, schemaNameOf, withResponseFormat, type ResponseSchema } from '../../src/domain/response-schema.ts';
import { checkAnswer } from '../../src/llm/answer-check.ts';
import { csvCell, parsedRecord } from '../../src/domain/parsed-answer.ts';
import { loadSchemaOption } from '../../src/cli/schema-option.ts';
import { CliError } from '../../src/cli/options.ts';
import { buildChatCompletion } from '../../src/emulator/chat.ts';
import { lineBreaksSchema, SchemaViolations } from '../../src/emulator/faults.ts';
import { foldRetries } from '../../src/store/result-fold.ts';

const ticket: ResponseSchema = {
  name: 'ticket',
  schema: {
    type: 'object',
    properties: {
      category: { type: 'string', enum: ['billing', 'bug', 'other'] },
      urgency: { type: 'integer', minimum: 1, maximum: 5 },
      summary: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
    },
    required: ['category', 'urgency', 'summary', 'tags'],
    additionalProperties: false,
  },
};
const request = (text: string) => withResponseFormat('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] } as Record<string, unknown>, ticket);
const answer = (content: string | null, refusal: string | null = null) => ({ choices: [{ message: { role: 'assistant', content, refusal }, finish_reason: 'stop' }] });

describe('strict schema rules', () => {
  it('accepts a strict object schema and names what breaks the rules', () => {
    expect(strictSchemaProblem('ticket', ticket.schema)).toBeUndefined();
    expect(strictSchemaProblem('ticket', { type: 'array', items: {} })).toMatch(/type: "object"/);
    expect(strictSchemaProblem('ticket', { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })).toMatch(/additionalProperties/);
    expect(strictSchemaProblem('ticket', { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, required: ['a'], additionalProperties: false })).toMatch(/Missing 'b'/);
    expect(strictSchemaProblem('my ticket!', ticket.schema)).toMatch(/must match/);
    const nested = { type: 'object', properties: { o: { type: 'object', properties: { x: { type: 'string' } }, required: [] } }, required: ['o'], additionalProperties: false };
    expect(strictSchemaProblem('n', nested)).toMatch(/'properties', 'o'.*additionalProperties/);
  });
});

describe('response_format on requests', () => {
  it('goes on chat requests without their own; a line\'s own is kept; other endpoints untouched', () => {
    expect(request('hi').response_format).toEqual({ type: 'json_schema', json_schema: { name: 'ticket', strict: true, schema: ticket.schema } });
    const own = { model: 'm', messages: [], response_format: { type: 'json_object' } };
    expect(withResponseFormat('/v1/chat/completions', own, ticket)).toBe(own);
    const emb = { model: 'text-embedding-3-small', input: 'x' };
    expect(withResponseFormat('/v1/embeddings', emb, ticket)).toBe(emb);
    expect(withResponseFormat('/v1/chat/completions', emb, undefined)).toBe(emb);
    expect(expectedAnswerOf(request('x'))).toMatchObject({ kind: 'json_schema', name: 'ticket' });
    expect(expectedAnswerOf(own)).toEqual({ kind: 'json_object' });
    expect(expectedAnswerOf({})).toEqual({ kind: 'text' });
  });

  it('names a schema after its file', () => {
    expect(schemaNameOf('/a/b/ticket-schema.json')).toBe('ticket-schema');
    expect(schemaNameOf('out.schema.json')).toBe('out');
    expect(schemaNameOf('my schema (v2).ts')).toBe('my_schema__v2_');
    expect(schemaNameOf(`${'x'.repeat(80)}.mjs`)).toHaveLength(64);
  });
});

describe('checkAnswer', () => {
  const req = request('a ticket');
  const good = { category: 'bug', urgency: 3, summary: 'export fails', tags: ['export'] };

  it('parses a matching answer', () => {
    expect(checkAnswer(req, answer(JSON.stringify(good)))).toEqual({ ok: true, parsed: good });
  });

  it('names every mismatch, with the raw content', () => {
    const { summary: _s, ...missing } = good;
    const r = checkAnswer(req, answer(JSON.stringify({ ...missing, urgency: 'high', extra: 1 })));
    expect(r.ok).toBe(false);
    if (r.ok || r.code !== 'schema_mismatch') throw new Error('expected a mismatch');
    expect(r.errors.join('\n')).toMatch(/must have required property 'summary'/);
    expect(r.errors.join('\n')).toMatch(/\/urgency must be integer/);
    expect(r.errors.join('\n')).toMatch(/additional properties \('extra'\)/);
    expect(r.message).toMatch(/does not match the schema 'ticket'/);
    expect(r.content).toContain('"urgency":"high"');
    expect(r.message).toContain('"urgency":"high"');
  });

  it('refuses invalid JSON, no content, and a truncated answer; a refusal is its own outcome', () => {
    expect(checkAnswer(req, answer('{"category": "bug", "urg'))).toMatchObject({ ok: false, code: 'schema_mismatch', errors: [expect.stringMatching(/not valid JSON/)] });
    expect(checkAnswer(req, answer(null))).toMatchObject({ ok: false, code: 'schema_mismatch', content: null });
    expect(checkAnswer(req, answer(null, 'I cannot help with that.'))).toEqual({ ok: false, code: 'refusal', message: 'the model refused: I cannot help with that.' });
  });

  it('checks a line\'s own response_format: json_object wants an object, text anything', () => {
    expect(checkAnswer({ response_format: { type: 'json_object' } }, answer('[1]'))).toMatchObject({ ok: false, code: 'schema_mismatch' });
    expect(checkAnswer({ response_format: { type: 'json_object' } }, answer('{"a":1}'))).toEqual({ ok: true, parsed: { a: 1 } });
    expect(checkAnswer({}, answer('free text'))).toEqual({ ok: true, parsed: 'free text' });
  });
});

describe('parsed records', () => {
  it('flattens a JSON object answer beside its custom_id; other answers as value or content', () => {
    expect(parsedRecord('c1', answer('{"a":1,"b":{"c":[2]}}'))).toEqual({ custom_id: 'c1', a: 1, b: { c: [2] } });
    expect(parsedRecord('c1', answer('{"custom_id":"spoof"}'))).toEqual({ custom_id: 'c1' });
    expect(parsedRecord('c2', answer('[1,2]'))).toEqual({ custom_id: 'c2', value: [1, 2] });
    expect(parsedRecord('c3', answer('plain words'))).toEqual({ custom_id: 'c3', content: 'plain words' });
    expect([csvCell(null), csvCell('x'), csvCell(2.5), csvCell(false), csvCell({ a: [1] })]).toEqual(['', 'x', '2.5', 'false', '{"a":[1]}']);
  });
});

describe('the emulator\'s schema-violation fault', () => {
  it('a broken answer fails the check; the same request unbroken passes (deterministically)', () => {
    let broken = 0;
    for (let i = 0; i < 200; i++) {
      const req = request(`ticket ${i}`);
      const ok = buildChatCompletion(req as never, { promptTokens: 10 });
      expect(checkAnswer(req, ok).ok).toBe(true);
      expect(buildChatCompletion(req as never, { promptTokens: 10 }).choices[0].message.content).toBe(ok.choices[0].message.content);
      const bad = buildChatCompletion(req as never, { promptTokens: 10, breakSchema: true });
      const r = checkAnswer(req, bad);
      expect(r).toMatchObject({ ok: false, code: 'schema_mismatch' });
      // Usage is the broken content's own.
      expect(bad.usage.completion_tokens).toBeGreaterThan(0);
      if (bad.choices[0].message.content !== ok.choices[0].message.content) broken++;
    }
    expect(broken).toBe(200);
  });

  it('draws per request and per repeat from the seed, whatever the order of arrival', () => {
    const bodies = Array.from({ length: 2000 }, (_, i) => Buffer.from(`{"n":${i}}`));
    const a = new SchemaViolations();
    const b = new SchemaViolations();
    const first = bodies.map((body, i) => a.draw(0.1, 7, `id-${i}`, body));
    const reversed = [...bodies.keys()].reverse().map((i) => b.draw(0.1, 7, `id-${i}`, bodies[i]!)).reverse();
    expect(reversed).toEqual(first);
    const share = first.filter(Boolean).length / first.length;
    expect(share).toBeGreaterThan(0.07);
    expect(share).toBeLessThan(0.13);
    // A repeat gets a fresh draw: most broken first answers are not broken again.
    const again = bodies.map((body, i) => a.draw(0.1, 7, `id-${i}`, body));
    expect(again).not.toEqual(first);
    expect(first.filter((x, i) => x && again[i]).length).toBeLessThan(first.filter(Boolean).length / 2);
    expect(new SchemaViolations().draw(0, 7, 'x', bodies[0]!)).toBe(false);
    expect(lineBreaksSchema(1, 1, 'batch_1', 'c')).toBe(true);
    expect(lineBreaksSchema(0.5, 1, 'batch_1', 'c')).toBe(lineBreaksSchema(0.5, 1, 'batch_1', 'c'));
  });
});

describe('retries folded in one store write', () => {
  it('keep the most attempts and sum the discarded answers\' costs', () => {
    const e = { code: 'schema_mismatch', message: 'x' };
    expect(foldRetries([{ customId: 'a', attempts: 1, error: e, mode: 'batch', costUsd: 0.25 }, { customId: 'a', attempts: 2, error: e, mode: 'batch', costUsd: 0.5 }])).toEqual([
      { customId: 'a', attempts: 2, error: e, mode: 'batch', costUsd: 0.75 },
    ]);
  });
});

describe('run --schema FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'schema-opt-'));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads a JSON Schema file, named after the file', async () => {
    const rs = await loadSchemaOption(resolve('examples/ticket-schema.json'));
    expect(rs.name).toBe('ticket-schema');
    expect(rs.schema.required).toEqual(['category', 'urgency', 'summary', 'needs_human', 'tags']);
    const wrapped = file('wrapped.json', JSON.stringify({ name: 'labels', strict: true, schema: ticket.schema }));
    expect(await loadSchemaOption(wrapped)).toEqual({ name: 'labels', schema: ticket.schema });
  });

  it('converts a zod module\'s default export (zod 4 toJSONSchema), without the meta-schema URI', async () => {
    const rs = await loadSchemaOption(resolve('examples/ticket-schema.ts'));
    expect(rs.name).toBe('ticket-schema');
    expect(rs.schema.$schema).toBeUndefined();
    expect(rs.schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['category', 'urgency', 'summary', 'needs_human'] });
    expect(strictSchemaProblem(rs.name, rs.schema)).toBeUndefined();
  });

  it('says which file and what is wrong', async () => {
    const fails = async (path: string, re: RegExp): Promise<void> => {
      const e = await loadSchemaOption(path).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(CliError);
      expect((e as Error).message).toContain(path);
      expect((e as Error).message).toMatch(re);
    };
    await fails(join(dir, 'nope.json'), /no such file/);
    await fails(file('bad.json', '{"type": "object",'), /not valid JSON/);
    await fails(file('loose.json', JSON.stringify({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })), /not a strict Structured Outputs schema: .*additionalProperties/);
    await fails(file('list.json', '[1]'), /expected a JSON Schema object, got an array/);
    await fails(file('schema.yaml', 'type: object'), /expected a \.json JSON Schema or a \.ts/);
    await fails(file('none.mjs', 'export const other = 1;\n'), /exports no schema/);
    await fails(file('broken.mjs', 'export default {\n'), /could not be loaded/);
    await fails(file('badtype.json', JSON.stringify({ type: 'object', properties: { a: { type: 'strin' } }, required: ['a'], additionalProperties: false })), /not a valid JSON Schema/);
  });
});

describe('what a batch file\'s lines asked for', () => {
  it('reads each line\'s response_format, one stub per distinct format', async () => {
    const { RequestFormats } = await import('../../src/activities/request-formats.ts');
    const f = new RequestFormats();
    const line = (body: unknown) => JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/chat/completions', body });
    const rf = { type: 'json_schema', json_schema: { name: 'ticket', strict: true, schema: ticket.schema } };
    f.addLine(line({ model: 'm', response_format: rf }));
    f.addLine(line({ model: 'm' }));
    f.addLine(line({ model: 'm', response_format: rf }));
    f.addLine('not json');
    expect(f.requestOf(0)).toEqual({ response_format: rf });
    expect(f.requestOf(2)).toBe(f.requestOf(0));
    expect(f.requestOf(1)).toEqual({});
    expect(f.requestOf(3)).toEqual({});
    expect(f.requestOf(99)).toEqual({});
  });
});
