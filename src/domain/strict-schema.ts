// The Structured Outputs guide's rules for a strict JSON Schema (response_format json_schema
// with strict: true): a name of a-z, A-Z, 0-9, _ and - (at most 64), an object at the root,
// and every object with `additionalProperties: false` and every property required. Shared by
// the emulator (which refuses such requests with a 400, as OpenAI does) and by `run --schema`
// (which refuses the file before anything starts). Pure.

export type JsonSchemaObject = Record<string, unknown>;

export const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_DEPTH = 6;

/** Where a strict schema breaks the guide's rules (in OpenAI's words), or undefined. */
export function strictProblem(s: JsonSchemaObject, context: string[] = [], depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const at = `In context=(${context.map((c) => `'${c}'`).join(', ')})`;
  if (s.type === 'object' || s.properties !== undefined) {
    if (s.additionalProperties !== false) return `${at}, 'additionalProperties' is required to be supplied and to be false.`;
    const props = (s.properties ?? {}) as Record<string, JsonSchemaObject>;
    const required = Array.isArray(s.required) ? (s.required as unknown[]) : [];
    const missing = Object.keys(props).filter((k) => !required.includes(k));
    if (missing.length > 0) return `${at}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
    for (const [k, v] of Object.entries(props)) {
      const p = v && typeof v === 'object' ? strictProblem(v, [...context, 'properties', k], depth + 1) : undefined;
      if (p) return p;
    }
  }
  if (s.type === 'array' && s.items && typeof s.items === 'object') return strictProblem(s.items as JsonSchemaObject, [...context, 'items'], depth + 1);
  for (const key of ['anyOf'] as const) {
    const list = s[key];
    if (Array.isArray(list)) {
      for (const [i, v] of list.entries()) {
        const p = v && typeof v === 'object' ? strictProblem(v as JsonSchemaObject, [...context, key, String(i)], depth + 1) : undefined;
        if (p) return p;
      }
    }
  }
  for (const key of ['$defs', 'definitions'] as const) {
    const defs = s[key];
    if (defs && typeof defs === 'object' && !Array.isArray(defs)) {
      for (const [k, v] of Object.entries(defs as Record<string, unknown>)) {
        const p = v && typeof v === 'object' ? strictProblem(v as JsonSchemaObject, [...context, key, k], depth + 1) : undefined;
        if (p) return p;
      }
    }
  }
  return undefined;
}

/** Why a strict schema named `name` would be refused (root not an object, or a broken rule), or undefined. */
export function strictSchemaProblem(name: string, schema: JsonSchemaObject): string | undefined {
  if (!SCHEMA_NAME.test(name)) return `the name '${name}' must match ^[a-zA-Z0-9_-]+$ (at most 64 characters)`;
  if (schema.type !== 'object') return `schema must be a JSON Schema of 'type: "object"', got 'type: "${String(schema.type)}"'.`;
  return strictProblem(schema);
}
