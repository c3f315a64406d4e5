// Structured Outputs, as OpenAI documents them for chat completions: with
// `response_format: {type: "json_schema", json_schema: {name, schema, strict}}` the answer is
// JSON that the schema admits. The emulator draws that JSON deterministically from the
// request's hash (an enum's value, a number in range, a few words for a string), so a request
// always gets the same answer and different requests spread over the allowed values.
// Validation follows the API reference (name: a-z, A-Z, 0-9, _ and -, at most 64) and the
// Structured Outputs guide's rules for strict schemas (root an object; every object with
// `additionalProperties: false` and every property required).
import { invalidRequest, type ErrorAnswer } from './errors.ts';
import { rngFromDigest, sha256, type Rng } from './random.ts';
import { SCHEMA_NAME as NAME, strictProblem } from '../domain/strict-schema.ts';

export interface JsonSchemaFormat {
  name: string;
  schema?: Record<string, unknown>;
  strict?: boolean;
}

type Schema = Record<string, unknown>;

const MAX_DEPTH = 6;

const bad = (message: string): { ok: false; error: ErrorAnswer } => ({ ok: false, error: invalidRequest(message, 'response_format', 'invalid_value') });

/** Checks a request's response_format: undefined format for text (or none), a 400 when it is invalid. */
export function checkResponseFormat(rf: unknown): { ok: true; format?: JsonSchemaFormat } | { ok: false; error: ErrorAnswer } {
  if (rf === undefined || rf === null) return { ok: true };
  if (typeof rf !== 'object' || Array.isArray(rf)) return bad("Invalid type for 'response_format': expected an object.");
  const type = (rf as { type?: unknown }).type;
  if (type === 'text' || type === 'json_object') return { ok: true };
  if (type !== 'json_schema') return bad(`Invalid value: '${String(type)}'. Supported values are: 'json_object', 'json_schema', and 'text'.`);
  const js = (rf as { json_schema?: unknown }).json_schema;
  if (!js || typeof js !== 'object') return { ok: false, error: invalidRequest("Missing required parameter: 'response_format.json_schema'.", 'response_format.json_schema', 'missing_required_parameter') };
  const { name, schema, strict } = js as { name?: unknown; schema?: unknown; strict?: unknown };
  if (typeof name !== 'string') return { ok: false, error: invalidRequest("Missing required parameter: 'response_format.json_schema.name'.", 'response_format.json_schema.name', 'missing_required_parameter') };
  if (!NAME.test(name)) return bad(`Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$' (at most 64 characters).`);
  if (schema !== undefined && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) return bad("Invalid type for 'response_format.json_schema.schema': expected an object.");
  const format: JsonSchemaFormat = { name, strict: strict === true };
  if (schema !== undefined) format.schema = schema as Schema;
  if (strict === true) {
    const s = (schema ?? {}) as Schema;
    if (s.type !== 'object') return bad(`Invalid schema for response_format '${name}': schema must be a JSON Schema of 'type: "object"', got 'type: "${String(s.type)}"'.`);
    const problem = strictProblem(s, [], 0);
    if (problem) return bad(`Invalid schema for response_format '${name}': ${problem}`);
  }
  return { ok: true, format };
}

/**
 * How the drawn content leans, where a real model's answers lean rather than spread evenly.
 * booleanFalseRate: the share (0..1) of boolean fields drawn false, per field and seeded per
 * request (deterministic); half when absent. It models a model answering yes/no fields "no"
 * at some rate, e.g. a judge model failing that share of the answers it is shown.
 */
export interface ContentShaping {
  booleanFalseRate?: number;
}

const WORDS = ['alpha', 'bravo', 'clear', 'delta', 'early', 'final', 'green', 'large', 'quick', 'small', 'steady', 'useful'];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

/** A value the schema admits, drawn from `rng`. */
export function sampleValue(s: unknown, rng: Rng, depth = 0, shaping: ContentShaping = {}): unknown {
  if (!s || typeof s !== 'object') return pick(rng, WORDS);
  const schema = s as Schema;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return pick(rng, schema.enum);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.anyOf) && schema.anyOf.length > 0) return sampleValue(pick(rng, schema.anyOf), rng, depth + 1, shaping);
  const type = Array.isArray(schema.type) ? pick(rng, schema.type as unknown[]) : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth >= MAX_DEPTH) return out;
      for (const [k, v] of Object.entries((schema.properties ?? {}) as Record<string, unknown>)) out[k] = sampleValue(v, rng, depth + 1, shaping);
      return out;
    }
    case 'array': {
      if (depth >= MAX_DEPTH) return [];
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 3);
      const n = min + Math.floor(rng() * (max - min + 1));
      return Array.from({ length: n }, () => sampleValue(schema.items, rng, depth + 1, shaping));
    }
    case 'integer':
    case 'number': {
      const lo = typeof schema.minimum === 'number' ? schema.minimum : 0;
      const hi = typeof schema.maximum === 'number' ? schema.maximum : lo + 100;
      const x = lo + rng() * (hi - lo);
      return type === 'integer' ? Math.min(hi, Math.ceil(x)) : Math.round(x * 100) / 100;
    }
    case 'boolean':
      return shaping.booleanFalseRate === undefined ? rng() < 0.5 : rng() >= shaping.booleanFalseRate;
    case 'null':
      return null;
    default:
      return Array.from({ length: 1 + Math.floor(rng() * 4) }, () => pick(rng, WORDS)).join(' ');
  }
}

/**
 * The value made to break the schema (the --schema-violation-rate fault): a required property
 * left out, or a property of the wrong type; at the root an array instead of the object when
 * the object has no properties to break.
 */
export function brokenValue(schema: Schema, value: unknown, rng: Rng): unknown {
  const props = Object.keys((schema.properties ?? {}) as Record<string, unknown>);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || props.length === 0) return [value];
  const key = pick(rng, props);
  const out = { ...(value as Record<string, unknown>) };
  const required = Array.isArray(schema.required) && schema.required.includes(key);
  if (required && rng() < 0.5) {
    delete out[key];
    return out;
  }
  // A type no JSON Schema type of the property admits: a string where a number is wanted, a number elsewhere.
  out[key] = typeof out[key] === 'number' ? 'not a number' : 12345;
  return out;
}

/**
 * The JSON text answering a json_schema request (no schema: an empty object), the same for the
 * same request; `broken` (the violation fault) makes it break the schema.
 */
export function structuredContent(req: { model: string; messages: unknown }, format: JsonSchemaFormat, shaping: ContentShaping = {}, broken = false): string {
  const rng = rngFromDigest(sha256(JSON.stringify(['json_schema', req.model, req.messages, format.name, format.schema ?? null])));
  const value = format.schema ? sampleValue(format.schema, rng, 0, shaping) : {};
  return JSON.stringify(broken ? brokenValue(format.schema ?? {}, value, rng) : value);
}
