// Input validation: one test per reject reason, plus the accepted shapes.
import { describe, expect, it } from 'vitest';
import { detectJsonlFormat, parseBatchLine, parsePromptLine, type LineResult } from '../../src/domain/schemas.ts';

const good = { custom_id: 'a-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } };
const line = (patch: Record<string, unknown>): string => JSON.stringify({ ...good, ...patch });
const rejectOf = (r: LineResult) => {
  if (r.ok) throw new Error(`expected a reject, got ${JSON.stringify(r.line)}`);
  return r.reject;
};

describe('batch lines', () => {
  it('accepts a chat line and keeps metadata apart from the body', () => {
    const r = parseBatchLine(line({ metadata: { feature: 'triage', priority: 'urgent' } }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.line).toMatchObject({ customId: 'a-1', url: '/v1/chat/completions', feature: 'triage', priority: 'urgent' });
    expect(r.line.body).not.toHaveProperty('metadata');
  });
  it('accepts an embeddings line', () => {
    expect(parseBatchLine(line({ url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: 'x' } })).ok).toBe(true);
  });
  it('empty_line', () => expect(rejectOf(parseBatchLine('   ')).code).toBe('empty_line'));
  it('a custom_id with a NUL character is refused, naming it', () => {
    const r = rejectOf(parseBatchLine(JSON.stringify({ ...good, custom_id: 'a\u0000b' })));
    expect(r.message).toContain('custom_id: must not contain the NUL character');
  });
  it('invalid_json', () => expect(rejectOf(parseBatchLine('{"custom_id": "x",')).code).toBe('invalid_json'));
  it('not_an_object', () => expect(rejectOf(parseBatchLine('"just a string"')).code).toBe('not_an_object'));
  it('missing_required_parameter: custom_id', () => {
    const { custom_id: _, ...rest } = good;
    const r = rejectOf(parseBatchLine(JSON.stringify(rest)));
    expect(r).toMatchObject({ code: 'missing_required_parameter', message: 'custom_id is required' });
  });
  it('missing_required_parameter: body.model, with the custom_id kept', () => {
    const r = rejectOf(parseBatchLine(line({ body: { messages: [{ role: 'user', content: 'x' }] } })));
    expect(r).toMatchObject({ code: 'missing_required_parameter', message: 'body.model is required', customId: 'a-1' });
  });
  it('missing_required_parameter: body.messages for chat', () => {
    expect(rejectOf(parseBatchLine(line({ body: { model: 'gpt-4o-mini' } })))).toMatchObject({ code: 'missing_required_parameter', message: expect.stringContaining('body.messages') });
  });
  it('missing_required_parameter: body.input for embeddings', () => {
    expect(rejectOf(parseBatchLine(line({ url: '/v1/embeddings', body: { model: 'text-embedding-3-small' } })))).toMatchObject({ code: 'missing_required_parameter', message: expect.stringContaining('body.input') });
  });
  it('invalid_type', () => expect(rejectOf(parseBatchLine(line({ body: { model: 42, messages: [] } }))).code).toBe('invalid_type'));
  it('invalid_method', () => expect(rejectOf(parseBatchLine(line({ method: 'GET' })))).toMatchObject({ code: 'invalid_method', customId: 'a-1' }));
  it('invalid_url', () => expect(rejectOf(parseBatchLine(line({ url: '/v1/completions' }))).code).toBe('invalid_url'));
  it('streaming_unsupported', () => {
    expect(rejectOf(parseBatchLine(line({ body: { ...good.body, stream: true } }))).code).toBe('streaming_unsupported');
  });
});

describe('prompts lines', () => {
  const defaults = { model: 'gpt-4o-mini', system: 'Be brief.', maxTokens: 50 };
  it('turns a text line into a chat request with a derived, stable custom_id', () => {
    const r = parsePromptLine('What is Temporal?', 7, false, defaults);
    expect(r).toEqual({
      ok: true,
      line: {
        customId: 'line-7',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is Temporal?' }] },
      },
    });
  });
  it('takes prompt or messages from JSON lines, and their own custom_id', () => {
    const r = parsePromptLine(JSON.stringify({ custom_id: 'q1', prompt: 'hi' }), 1, true, defaults);
    expect(r.ok && r.line.customId).toBe('q1');
    const m = parsePromptLine(JSON.stringify({ messages: [{ role: 'user', content: 'yo' }] }), 2, true, defaults);
    expect(m.ok && m.line.body.messages).toHaveLength(2);
  });
  it('missing_model', () => expect(rejectOf(parsePromptLine('hi', 1, false, {})).code).toBe('missing_model'));
  it('missing_required_parameter when neither prompt nor messages', () => {
    expect(rejectOf(parsePromptLine('{"text": "hi"}', 3, true, defaults))).toMatchObject({ code: 'missing_required_parameter', customId: 'line-3' });
  });
  it('empty_line in a text file', () => expect(rejectOf(parsePromptLine('', 4, false, defaults)).code).toBe('empty_line'));
});

describe('format detection', () => {
  it('tells batch lines from prompts lines', () => {
    expect(detectJsonlFormat(JSON.stringify(good))).toBe('batch');
    expect(detectJsonlFormat('{"prompt": "x"}')).toBe('prompts');
    expect(detectJsonlFormat('not json')).toBeUndefined();
  });
});
