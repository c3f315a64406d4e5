// The classifier rule's request and answer (src/domain/route-classifier.ts), and the
// emulator's Structured Outputs, which answer that request with one of the labels as
// OpenAI's json_schema response format promises.
import { describe, expect, it } from 'vitest';
import { classifierRequest, classify, defaultClassifierPrompt, otherwiseLabel, otherwiseModel, ratedReason, unclassified } from '../../src/domain/route-classifier.ts';
import type { ClassifierRule } from '../../src/domain/route-rules.ts';
import { buildChatCompletion, validateChatRequest } from '../../src/emulator/chat.ts';
import { checkResponseFormat, sampleValue } from '../../src/emulator/structured-output.ts';
import { rngFromSeed } from '../../src/emulator/random.ts';

const rule: ClassifierRule = { model: 'gpt-4.1-nano', answers: { simple: 'gpt-4.1-mini', complex: 'gpt-4.1' } };

describe('classifier rule', () => {
  it('asks the cheap model with the default prompt, the item cut to max_input_chars, and a schema of the labels', () => {
    const req = classifierRequest({ ...rule, max_input_chars: 100 }, 'x'.repeat(500));
    expect(req.model).toBe('gpt-4.1-nano');
    expect(req.messages).toEqual([{ role: 'system', content: defaultClassifierPrompt(['simple', 'complex']) }, { role: 'user', content: 'x'.repeat(100) }]);
    expect(req.messages[0]!.content).toMatch(/Answer with exactly one of: simple, complex\.$/);
    expect(req.response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true, schema: { properties: { label: { enum: ['simple', 'complex'] } } } } });
    expect(classifierRequest({ ...rule, prompt: 'Mine.' }, 'q').messages[0]).toEqual({ role: 'system', content: 'Mine.' });
  });

  it('maps the answer to a model: JSON as the schema asks, a bare label, or otherwise', () => {
    expect(classify(rule, '{"label":"simple"}')).toEqual({ label: 'simple', model: 'gpt-4.1-mini', reason: 'classifier: simple' });
    expect(classify(rule, ' "Complex".')).toEqual({ label: 'complex', model: 'gpt-4.1', reason: 'classifier: complex' });
    expect(classify(rule, '{"label":"medium"}')).toEqual({ label: 'complex', model: 'gpt-4.1', reason: 'classifier answered "{\\"label\\":\\"medium\\"}", not a label: complex assumed' });
    expect(unclassified({ ...rule, otherwise: 'simple' }, 'invalid_request_error')).toEqual({ label: 'simple', model: 'gpt-4.1-mini', reason: 'classifier failed (invalid_request_error): simple assumed' });
    expect([otherwiseLabel(rule), otherwiseModel(rule)]).toEqual(['complex', 'gpt-4.1']);
    expect(ratedReason('feature=triage → classifier pending', 'classifier: simple')).toBe('feature=triage → classifier: simple');
  });

  it('the emulator answers it with one of the labels, the same for the same request, spread over the labels', () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const req = classifierRequest(rule, `Ticket ${i}: the export fails.`);
      const v = validateChatRequest(req);
      expect(v.ok).toBe(true);
      const a = buildChatCompletion(req);
      const b = buildChatCompletion(req);
      expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
      expect(a.choices[0].finish_reason).toBe('stop');
      const label = (JSON.parse(a.choices[0].message.content) as { label: string }).label;
      seen.set(label, (seen.get(label) ?? 0) + 1);
      expect(a.usage.completion_tokens).toBeLessThanOrEqual(20);
    }
    expect([...seen.keys()].sort()).toEqual(['complex', 'simple']);
    expect(Math.min(...seen.values())).toBeGreaterThan(60);
  });
});

describe('emulator: Structured Outputs', () => {
  const format = (json_schema: unknown): unknown => ({ type: 'json_schema', json_schema });

  it('refuses what OpenAI refuses: a missing or bad name, a strict schema that is not closed and fully required', () => {
    expect(checkResponseFormat(undefined)).toEqual({ ok: true });
    expect(checkResponseFormat({ type: 'text' })).toEqual({ ok: true });
    const err = (rf: unknown): string => {
      const r = checkResponseFormat(rf);
      return r.ok ? 'ok' : `${r.error.status} ${(r.error.body as { error: { message: string } }).error.message}`;
    };
    expect(err({ type: 'xml' })).toMatch(/^400 Invalid value: 'xml'/);
    expect(err(format({ schema: {} }))).toBe("400 Missing required parameter: 'response_format.json_schema.name'.");
    expect(err(format({ name: 'has space' }))).toMatch(/^400 Invalid 'response_format\.json_schema\.name'/);
    expect(err(format({ name: 'x', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } }))).toMatch(/'additionalProperties' is required to be supplied and to be false/);
    expect(err(format({ name: 'x', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } }, required: [], additionalProperties: false } }))).toMatch(/Missing 'a'\.$/);
    expect(err(format({ name: 'x', strict: true, schema: { type: 'array' } }))).toMatch(/schema must be a JSON Schema of 'type: "object"'/);
    expect(err(format({ name: 'x', strict: false, schema: { type: 'object' } }))).toBe('ok');
    // A chat request with such a format is a 400 from the emulator's validation.
    expect(validateChatRequest({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], response_format: format({}) }).ok).toBe(false);
  });

  it('draws values the schema admits', () => {
    const schema = {
      type: 'object',
      properties: {
        kind: { type: 'string', enum: ['a', 'b'] },
        n: { type: 'integer', minimum: 3, maximum: 7 },
        ok: { type: 'boolean' },
        tags: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2 },
        maybe: { anyOf: [{ type: 'null' }, { type: 'number', minimum: 0, maximum: 1 }] },
      },
    };
    for (let seed = 0; seed < 50; seed++) {
      const v = sampleValue(schema, rngFromSeed(seed)) as { kind: string; n: number; ok: boolean; tags: string[]; maybe: number | null };
      expect(['a', 'b']).toContain(v.kind);
      expect(Number.isInteger(v.n) && v.n >= 3 && v.n <= 7).toBe(true);
      expect(typeof v.ok).toBe('boolean');
      expect(v.tags).toHaveLength(2);
      expect(v.maybe === null || (v.maybe >= 0 && v.maybe <= 1)).toBe(true);
    }
  });

  it('cuts the JSON at the output bound with finish_reason length', () => {
    const req = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 3, response_format: format({ name: 'x', schema: { type: 'object', properties: { text: { type: 'string' } } } }) };
    const c = buildChatCompletion(req);
    expect(c.choices[0].finish_reason).toBe('length');
    expect(c.usage.completion_tokens).toBeLessThanOrEqual(3);
  });
});
