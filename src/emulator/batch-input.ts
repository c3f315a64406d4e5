// Batch input files: the check at upload (a `purpose=batch` file must look like JSONL) and
// the per-line validation a batch runs while `validating`, which reports each bad line
// with OpenAI's `{code, message, param, line}`. Pure apart from the endpoint's `prepare`.
import { isUtf8 } from 'node:buffer';
import { invalidRequest, type ErrorAnswer } from './errors.ts';
import type { InferenceEndpoint, Prepared } from './inference.ts';

/** OpenAI's cap on a batch input file. */
export const MAX_BATCH_FILE_BYTES = 200 * 1024 * 1024;
/** OpenAI's cap on the requests of one batch. */
export const MAX_BATCH_REQUESTS = 50_000;
/** A failed batch lists at most this many line errors. */
export const MAX_REPORTED_ERRORS = 1000;

/** Why an upload with purpose `batch` is refused, or undefined when it looks like JSONL. */
export function checkBatchUpload(filename: string, data: Buffer): ErrorAnswer | undefined {
  const refuse = (message: string, code = 'invalid_file_format') => invalidRequest(message, 'file', code);
  if (data.length === 0) return refuse('The file is empty. A batch input file must be a .jsonl file with one request per line.');
  if (data.length > MAX_BATCH_FILE_BYTES) {
    return refuse(`File is too large: ${data.length} bytes. The maximum size of a batch input file is 200 MB.`, 'file_too_large');
  }
  if (!filename.toLowerCase().endsWith('.jsonl')) return refuse(`Invalid file format for Batch API: '${filename}'. Must be .jsonl.`);
  if (!isUtf8(data)) return refuse('Invalid file format for Batch API: the file is not UTF-8 text.');
  const nl = data.indexOf(0x0a);
  const first = data.subarray(0, nl === -1 ? data.length : nl).toString('utf8').replace(/^\uFEFF/, '').trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(first);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return refuse('Invalid file format for Batch API: the first line is not a JSON object. A batch input file is JSONL, one request object per line.');
  }
  return undefined;
}

/** One entry of a failed batch's `errors.data`. */
export interface BatchLineError {
  code: string;
  message: string;
  param: string | null;
  /** 1-based line of the input file; null for errors about the whole batch. */
  line: number | null;
}

export interface ValidLine {
  line: number;
  customId: string;
  prepared: Prepared;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validates the lines of one input file in order (duplicate ids and the model depend on earlier lines). */
export class BatchLineValidator {
  private readonly endpoint: string;
  private readonly inference: InferenceEndpoint;
  private readonly seen = new Set<string>();
  /** The model of the first line that names one: every line must use it. */
  model: string | undefined;

  constructor(endpoint: string, inference: InferenceEndpoint) {
    this.endpoint = endpoint;
    this.inference = inference;
  }

  check(text: string, line: number): ValidLine | BatchLineError {
    const fail = (code: string, message: string, param: string | null = null): BatchLineError => ({ code, message, param, line });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return fail('invalid_json_line', 'This line is not parseable as valid JSON.');
    }
    if (!isObject(parsed)) return fail('invalid_json_line', 'This line is not a JSON object.');
    for (const field of ['custom_id', 'method', 'url', 'body'] as const) {
      if (parsed[field] === undefined || parsed[field] === null) {
        return fail('missing_required_parameter', `Missing required parameter: '${field}'.`, field);
      }
    }
    const { custom_id: customId, method, url, body } = parsed;
    if (typeof customId !== 'string') return fail('invalid_type', "Invalid type for 'custom_id': expected a string.", 'custom_id');
    const duplicate = this.seen.has(customId);
    this.seen.add(customId);
    if (method !== 'POST') return fail('invalid_value', `Invalid 'method': ${JSON.stringify(method)}. Only POST is supported.`, 'method');
    if (url !== this.endpoint) {
      return fail('invalid_url', `The URL provided for this request (${JSON.stringify(url)}) does not match the batch endpoint '${this.endpoint}'.`, 'url');
    }
    if (!isObject(body)) return fail('invalid_type', "Invalid type for 'body': expected a JSON object.", 'body');
    if (duplicate) {
      return fail(
        'duplicate_custom_id',
        `The custom_id '${customId}' for this request is a duplicate of another request. The custom_id parameter must be unique for each individual request in a batch.`,
        'custom_id',
      );
    }
    if (body.stream === true) return fail('streaming_unsupported', 'Streaming is not supported in batch requests.', 'body.stream');
    if (typeof body.model === 'string') {
      if (this.model === undefined) this.model = body.model;
      else if (body.model !== this.model) {
        return fail(
          'mismatched_model',
          `The provided model '${body.model}' does not match the model of the batch ('${this.model}'). Every line of a batch input file must use the same model.`,
          'body.model',
        );
      }
    }
    const prepared = this.inference.prepare(body);
    if (!prepared.ok) {
      const e = prepared.error.body.error;
      return fail(e.code ?? 'invalid_request', e.message, e.param ? `body.${e.param}` : 'body');
    }
    return { line, customId, prepared };
  }
}

/** The first line's `body.model`, if it has one (the batch object shows it from creation). */
export function firstLineModel(data: Buffer): string | undefined {
  const nl = data.indexOf(0x0a);
  try {
    const first = JSON.parse(data.subarray(0, nl === -1 ? data.length : nl).toString('utf8').replace(/^\uFEFF/, '')) as unknown;
    const model = isObject(first) && isObject(first.body) ? first.body.model : undefined;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}
