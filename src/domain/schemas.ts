// Validation of input lines, the way OpenAI validates Batch input files, with one
// reason code per kind of problem so the rejects file says exactly what is wrong.
import { z } from 'zod';

export const SUPPORTED_URLS = ['/v1/chat/completions', '/v1/embeddings'] as const;
export type SupportedUrl = (typeof SUPPORTED_URLS)[number];

export type RejectCode =
  | 'empty_line'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_required_parameter'
  | 'invalid_type'
  | 'invalid_method'
  | 'invalid_url'
  | 'streaming_unsupported'
  | 'duplicate_custom_id'
  | 'missing_model';

export interface LineReject {
  code: RejectCode;
  message: string;
  customId?: string;
}

/** llm-batch's own extension of a batch line: kept with the item, never sent to the provider. */
export const metadataSchema = z
  .object({
    feature: z.string().min(1).max(200).optional(),
    priority: z.string().min(1).max(50).optional(),
  })
  .passthrough();

const messageSchema = z.object({ role: z.string() }).passthrough();

export const requestBodySchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(messageSchema).min(1).optional(),
    input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]).optional(),
    stream: z.boolean().optional(),
    max_tokens: z.number().int().positive().optional(),
    max_completion_tokens: z.number().int().positive().optional(),
  })
  .passthrough();

/** A custom_id: 1–512 characters, without NUL (which PostgreSQL text, and many tools, cannot hold). */
const customIdSchema = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => !s.includes('\u0000'), 'must not contain the NUL character (\\u0000)');

export const batchLineSchema = z.object({
  custom_id: customIdSchema,
  method: z.string(),
  url: z.string(),
  body: requestBodySchema,
  metadata: metadataSchema.optional(),
});

export const promptLineSchema = z
  .object({
    custom_id: customIdSchema.optional(),
    prompt: z.string().min(1).optional(),
    messages: z.array(messageSchema).min(1).optional(),
    metadata: metadataSchema.optional(),
  })
  .passthrough();

export type RequestBody = z.infer<typeof requestBodySchema>;

/** An accepted input line, before it is numbered and counted. */
export interface ParsedLine {
  customId: string;
  url: SupportedUrl;
  body: RequestBody;
  feature?: string;
  priority?: string;
}

export type LineResult = { ok: true; line: ParsedLine } | { ok: false; reject: LineReject };

export interface PromptDefaults {
  model?: string;
  system?: string;
  maxTokens?: number;
}

const reject = (code: RejectCode, message: string, customId?: string): LineResult => ({
  ok: false,
  reject: customId === undefined ? { code, message } : { code, message, customId },
});

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.map(String).join('.');
}

/** Maps the first zod issue to OpenAI's vocabulary: missing vs. wrong type. */
function rejectFromZod(error: z.ZodError, customId?: string): LineResult {
  const issue = error.issues[0]!;
  const path = issuePath(issue);
  const missing = issue.code === 'invalid_type' && issue.message.includes('undefined');
  if (missing) return reject('missing_required_parameter', `${path} is required`, customId);
  return reject('invalid_type', `${path}: ${issue.message}`, customId);
}

function parseJsonObject(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; result: LineResult } {
  if (text.trim() === '') return { ok: false, result: reject('empty_line', 'the line is empty') };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, result: reject('invalid_json', `not valid JSON (${(e as Error).message})`) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, result: reject('not_an_object', 'each line must be a JSON object') };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

function checkBody(url: SupportedUrl, body: RequestBody, customId: string): LineResult | undefined {
  if (body.stream === true) return reject('streaming_unsupported', 'body.stream: streaming is not supported in batch requests', customId);
  if (url === '/v1/chat/completions' && body.messages === undefined) {
    return reject('missing_required_parameter', 'body.messages is required for /v1/chat/completions', customId);
  }
  if (url === '/v1/embeddings' && body.input === undefined) {
    return reject('missing_required_parameter', 'body.input is required for /v1/embeddings', customId);
  }
  return undefined;
}

/** One line of an OpenAI Batch input file: `{custom_id, method, url, body, metadata?}`. */
export function parseBatchLine(text: string): LineResult {
  const json = parseJsonObject(text);
  if (!json.ok) return json.result;
  const obj = json.value;
  const customId = typeof obj.custom_id === 'string' && obj.custom_id !== '' ? obj.custom_id : undefined;
  const parsed = batchLineSchema.safeParse(obj);
  if (!parsed.success) {
    // Report the method and url problems in OpenAI's words even when the body also has issues.
    if (typeof obj.method === 'string' && obj.method !== 'POST') return reject('invalid_method', `method must be "POST", got "${obj.method}"`, customId);
    if (typeof obj.url === 'string' && !(SUPPORTED_URLS as readonly string[]).includes(obj.url)) {
      return reject('invalid_url', `url "${obj.url}" is not supported; use one of ${SUPPORTED_URLS.join(', ')}`, customId);
    }
    return rejectFromZod(parsed.error, customId);
  }
  const line = parsed.data;
  if (line.method !== 'POST') return reject('invalid_method', `method must be "POST", got "${line.method}"`, line.custom_id);
  if (!(SUPPORTED_URLS as readonly string[]).includes(line.url)) {
    return reject('invalid_url', `url "${line.url}" is not supported; use one of ${SUPPORTED_URLS.join(', ')}`, line.custom_id);
  }
  const url = line.url as SupportedUrl;
  const bad = checkBody(url, line.body, line.custom_id);
  if (bad) return bad;
  return { ok: true, line: withMetadata({ customId: line.custom_id, url, body: line.body }, line.metadata) };
}

function withMetadata(line: ParsedLine, metadata: z.infer<typeof metadataSchema> | undefined): ParsedLine {
  if (metadata?.feature !== undefined) line.feature = metadata.feature;
  if (metadata?.priority !== undefined) line.priority = metadata.priority;
  return line;
}

/** A derived custom_id for prompts files: stable across re-runs of the same file. */
export const promptCustomId = (lineNumber: number): string => `line-${lineNumber}`;

function promptBody(messages: RequestBody['messages'], defaults: PromptDefaults): RequestBody {
  const body: RequestBody = { model: defaults.model!, messages };
  if (defaults.maxTokens !== undefined) body.max_tokens = defaults.maxTokens;
  return body;
}

/** One line of a prompts file: plain text (`.txt`), or JSON with `prompt` or `messages`. */
export function parsePromptLine(text: string, lineNumber: number, json: boolean, defaults: PromptDefaults): LineResult {
  if (!defaults.model) return reject('missing_model', 'a prompts file needs --model');
  const system = defaults.system ? [{ role: 'system', content: defaults.system }] : [];
  if (!json) {
    if (text.trim() === '') return reject('empty_line', 'the line is empty');
    const customId = promptCustomId(lineNumber);
    return { ok: true, line: { customId, url: '/v1/chat/completions', body: promptBody([...system, { role: 'user', content: text }], defaults) } };
  }
  const parsedJson = parseJsonObject(text);
  if (!parsedJson.ok) return parsedJson.result;
  const parsed = promptLineSchema.safeParse(parsedJson.value);
  const customId = typeof parsedJson.value.custom_id === 'string' ? parsedJson.value.custom_id : promptCustomId(lineNumber);
  if (!parsed.success) return rejectFromZod(parsed.error, customId);
  const { prompt, messages } = parsed.data;
  if (prompt === undefined && messages === undefined) return reject('missing_required_parameter', 'prompt or messages is required', customId);
  const all = messages ? [...system, ...messages] : [...system, { role: 'user', content: prompt! }];
  return { ok: true, line: withMetadata({ customId, url: '/v1/chat/completions', body: promptBody(all, defaults) }, parsed.data.metadata) };
}

/** Is a `.jsonl` file a Batch input file or a prompts file? Decided by its first JSON object line. */
export function detectJsonlFormat(firstLine: string): 'batch' | 'prompts' | undefined {
  try {
    const v = JSON.parse(firstLine) as Record<string, unknown>;
    if (v && typeof v === 'object') {
      if ('body' in v || 'url' in v || 'method' in v) return 'batch';
      if ('prompt' in v || 'messages' in v) return 'prompts';
    }
  } catch {
    /* not JSON: undecided */
  }
  return undefined;
}

/** One line of an input file of the given format (`json`: a prompts file's lines are JSON, not plain text). */
export function parseInputLine(format: 'batch' | 'prompts', json: boolean, text: string, lineNumber: number, defaults: PromptDefaults): LineResult {
  return format === 'batch' ? parseBatchLine(text) : parsePromptLine(text, lineNumber, json, defaults);
}
