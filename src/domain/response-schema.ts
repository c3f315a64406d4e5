// `run --schema`: the user's JSON Schema as the response_format of every chat request, and
// what an answer to such a request holds (a refusal, or content to parse and validate).
// Pure: the validation itself (ajv) is in llm/answer-check.ts.
import type { JsonSchemaObject } from './strict-schema.ts';

/** The schema a run asks every chat answer to follow (RunConfig.responseSchema). */
export interface ResponseSchema {
  name: string;
  schema: JsonSchemaObject;
}

/** Schema mismatches retried (each a new, paid call) before an item fails with schema_mismatch. */
export const DEFAULT_SCHEMA_RETRIES = 2;

export const CHAT_URL = '/v1/chat/completions';

/** `response_format` as OpenAI's chat completions take a strict JSON Schema. */
export function responseFormatOf(rs: ResponseSchema): { type: 'json_schema'; json_schema: { name: string; strict: true; schema: JsonSchemaObject } } {
  return { type: 'json_schema', json_schema: { name: rs.name, strict: true, schema: rs.schema } };
}

/**
 * The body as sent with the run's schema: a chat request gets the schema's response_format
 * unless it carries its own (a line's own response_format is kept, whatever it is).
 */
export function withResponseFormat<B extends Record<string, unknown>>(url: string, body: B, rs: ResponseSchema | undefined): B {
  if (rs === undefined || url !== CHAT_URL || body.response_format !== undefined) return body;
  return { ...body, response_format: responseFormatOf(rs) };
}

/** What a request asked its answer to be: JSON following a schema, any JSON object, or free text. */
export type ExpectedAnswer = { kind: 'json_schema'; name: string; schema: JsonSchemaObject } | { kind: 'json_object' } | { kind: 'text' };

export function expectedAnswerOf(requestBody: unknown): ExpectedAnswer {
  const rf = (requestBody as { response_format?: unknown } | null | undefined)?.response_format as { type?: unknown; json_schema?: { name?: unknown; schema?: unknown } } | undefined;
  if (rf?.type === 'json_object') return { kind: 'json_object' };
  if (rf?.type !== 'json_schema') return { kind: 'text' };
  const schema = rf.json_schema?.schema;
  return { kind: 'json_schema', name: String(rf.json_schema?.name ?? ''), schema: schema && typeof schema === 'object' ? (schema as JsonSchemaObject) : {} };
}

/** The assistant message of a chat completion: its refusal, or its content (null when there is none). */
export function answerMessageOf(responseBody: unknown): { refusal: string } | { content: string | null } {
  const message = (responseBody as { choices?: { message?: { content?: unknown; refusal?: unknown } }[] } | null | undefined)?.choices?.[0]?.message;
  if (typeof message?.refusal === 'string' && message.refusal !== '') return { refusal: message.refusal };
  return { content: typeof message?.content === 'string' ? message.content : null };
}

/** The name a schema file gives the response_format: its base name without extension, in the characters OpenAI allows. */
export function schemaNameOf(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  const stem = base.replace(/\.(schema\.)?(json|m?js|ts|mts)$/i, '');
  const name = stem.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return name === '' ? 'response' : name;
}

/** Text shortened for a message, with how much was left out. */
export function clip(text: string, max = 500): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
