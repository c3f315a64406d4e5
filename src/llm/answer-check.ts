// Every answer of a run with --schema is parsed and validated (ajv) against what its request
// asked for: the json_schema of its response_format (the run's, or the line's own), any JSON
// object for json_object, nothing for free text. A refusal is its own outcome, never retried.
import { Ajv, type ValidateFunction } from 'ajv';
import { answerMessageOf, clip, expectedAnswerOf } from '../domain/response-schema.ts';

export type AnswerCheck =
  | { ok: true; parsed: unknown }
  | { ok: false; code: 'refusal'; message: string }
  | { ok: false; code: 'schema_mismatch'; message: string; errors: string[]; content: string | null };

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
/** Compiled validators by the schema's JSON text: a run's items share one. */
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 256;

function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (v === undefined) {
    // A meta-schema URI ($schema, as zod writes it) names a draft ajv may not carry; the keywords are what count.
    const { $schema: _ignored, ...rest } = schema;
    v = ajv.compile(rest);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, v);
  }
  return v;
}

/** Compiles a schema once, so a broken one is found before a run starts: the problem, or undefined. */
export function schemaCompileProblem(schema: Record<string, unknown>): string | undefined {
  try {
    validatorOf(schema);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const mismatch = (name: string, errors: string[], content: string | null): AnswerCheck => ({
  ok: false,
  code: 'schema_mismatch',
  message: `the answer does not match the schema${name ? ` '${name}'` : ''}: ${errors.slice(0, 5).join('; ')}${errors.length > 5 ? ` (and ${errors.length - 5} more)` : ''}; content: ${content === null ? '(none)' : clip(content)}`,
  errors,
  content,
});

/** The answer (a chat completion body) checked against what its request (body) asked for. */
export function checkAnswer(requestBody: unknown, responseBody: unknown): AnswerCheck {
  const message = answerMessageOf(responseBody);
  if ('refusal' in message) return { ok: false, code: 'refusal', message: `the model refused: ${clip(message.refusal)}` };
  const expected = expectedAnswerOf(requestBody);
  const content = message.content;
  if (expected.kind === 'text') return { ok: true, parsed: content };
  const name = expected.kind === 'json_schema' ? expected.name : '';
  if (content === null) return mismatch(name, ['the answer has no content'], null);
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (e) {
    return mismatch(name, [`the content is not valid JSON (${(e as Error).message})`], content);
  }
  if (expected.kind === 'json_object') {
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? { ok: true, parsed } : mismatch(name, ['the content is not a JSON object'], content);
  }
  const validate = validatorOf(expected.schema);
  if (validate(parsed)) return { ok: true, parsed };
  const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` ('${String((e.params as { additionalProperty?: unknown }).additionalProperty)}')` : ''}`);
  return mismatch(name, errors.length > 0 ? errors : ['the content does not match'], content);
}
