// `run --schema FILE`: the answer schema read and checked on the user's machine before anything
// starts (a bad file is a usage error, exit 2); the JSON Schema goes into the RunConfig, so
// workers never read the user's file. FILE is a JSON Schema (.json; an OpenAI json_schema
// object {name, schema} is taken too) or a module (.ts, .mts, .js, .mjs) whose default export,
// or export `schema`, is a zod schema (converted with zod 4's z.toJSONSchema) or a JSON Schema.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { schemaNameOf, type ResponseSchema } from '../domain/response-schema.ts';
import { strictSchemaProblem } from '../domain/strict-schema.ts';
import { schemaCompileProblem } from '../llm/answer-check.ts';
import { CliError } from './options.ts';

export const SCHEMA_HELP =
  'JSON Schema every answer must follow: a .json file, or a .ts/.js/.mjs module exporting a zod schema (default export or `schema`). Sent as response_format json_schema (strict) on every chat request without its own (in both modes); every answer is parsed and validated, a mismatch asked again (--schema-retries), a refusal failed with code refusal. The schema must meet OpenAI\'s strict rules: an object at the root, additionalProperties false and every property required (in zod: .nullable() instead of .optional())';
export const SCHEMA_RETRIES_HELP =
  'with --schema: new calls for an answer that does not match the schema before the item fails with code schema_mismatch (every call is paid and counted). Batch mode: a mismatched line goes into the next submission while its submissions are within this (and --max-batch-attempts)';

const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isZod = (v: unknown): boolean => isObject(v) && '_zod' in v;

/** A JSON value as a schema: a bare JSON Schema, or an OpenAI json_schema object ({name, schema}). */
function fromJsonValue(file: string, value: unknown, fallbackName: string): ResponseSchema {
  if (!isObject(value)) throw new CliError(`--schema ${file}: expected a JSON Schema object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  if (value.type === undefined && isObject(value.schema)) {
    return { name: typeof value.name === 'string' ? value.name : fallbackName, schema: value.schema };
  }
  return { name: fallbackName, schema: value };
}

async function loadModule(file: string, path: string, name: string): Promise<ResponseSchema> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    throw new CliError(`--schema ${file}: the module could not be loaded: ${(e as Error).message}`);
  }
  const exported = mod.default ?? mod.schema;
  if (exported === undefined) throw new CliError(`--schema ${file}: exports no schema; export default (or export const schema =) a zod schema or a JSON Schema object`);
  if (!isZod(exported)) return fromJsonValue(file, exported, name);
  try {
    return { name, schema: z.toJSONSchema(exported as z.ZodType) as Record<string, unknown> };
  } catch (e) {
    throw new CliError(`--schema ${file}: the zod schema cannot be written as JSON Schema: ${(e as Error).message}`);
  }
}

/** Reads and checks FILE; CliError (exit 2) naming the file and what is wrong. */
export async function loadSchemaOption(file: string): Promise<ResponseSchema> {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`--schema ${file}: no such file`);
  if (!statSync(path).isFile()) throw new CliError(`--schema ${file}: not a file`);
  const ext = extname(path).toLowerCase();
  const name = schemaNameOf(path);
  let loaded: ResponseSchema;
  if (ext === '.json') {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new CliError(`--schema ${file}: not valid JSON: ${(e as Error).message}`);
    }
    loaded = fromJsonValue(file, value, name);
  } else if (MODULE_EXTENSIONS.includes(ext)) loaded = await loadModule(file, path, name);
  else throw new CliError(`--schema ${file}: expected a .json JSON Schema or a .ts/.mts/.js/.mjs module exporting a zod schema`);
  // A meta-schema URI (zod writes one) is no part of what OpenAI takes.
  const { $schema: _meta, ...schema } = loaded.schema;
  const problem = strictSchemaProblem(loaded.name, schema);
  if (problem) throw new CliError(`--schema ${file}: not a strict Structured Outputs schema: ${problem}`);
  const broken = schemaCompileProblem(schema);
  if (broken) throw new CliError(`--schema ${file}: not a valid JSON Schema: ${broken}`);
  return { name: loaded.name, schema };
}
