// The embeddings endpoint. Each input's vector is lexical (lexical-embedding.ts: hashed word
// and character n-grams), so similar texts are near and unrelated ones far, deterministically;
// a shorter `dimensions` gives the renormalised prefix of the full vector, as OpenAI's
// Matryoshka embeddings do. Values are float32, so 'float' and 'base64' answers agree.
import { z } from 'zod';
import { countEmbeddingInputTokens } from '../llm/tokens.ts';
import { invalidRequest, type ErrorAnswer } from './errors.ts';
import { zodToInvalidRequest } from './chat.ts';
import { lexicalEmbedding } from './lexical-embedding.ts';

export const EmbeddingsRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
  dimensions: z.number().int().positive().nullable().optional(),
  encoding_format: z.enum(['float', 'base64']).nullable().optional(),
  user: z.string().optional(),
});

export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequestSchema>;

/** Native dimensions of a model: 3072 for text-embedding-3-large, 1536 otherwise. */
export function nativeDimensions(model: string): number {
  return model.includes('3-large') ? 3072 : 1536;
}

export function validateEmbeddingsRequest(body: unknown): { ok: true; req: EmbeddingsRequest } | { ok: false; error: ErrorAnswer } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, error: invalidRequest('The request body must be a JSON object.', null, 'invalid_type') };
  }
  const r = EmbeddingsRequestSchema.safeParse(body);
  if (!r.success) return { ok: false, error: zodToInvalidRequest(body as Record<string, unknown>, r.error) };
  const req = r.data;
  if (req.dimensions != null) {
    if (req.model.includes('ada-002')) {
      return { ok: false, error: invalidRequest('This model does not support specifying dimensions.', 'dimensions', 'invalid_value') };
    }
    if (req.dimensions > nativeDimensions(req.model)) {
      return {
        ok: false,
        error: invalidRequest(
          `Invalid 'dimensions': ${req.dimensions} is larger than the model's ${nativeDimensions(req.model)}.`,
          'dimensions',
          'invalid_value',
        ),
      };
    }
  }
  return { ok: true, req };
}

/** Inputs as a list, each item either text or a token array. */
function inputList(input: EmbeddingsRequest['input']): (string | number[])[] {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]];
  return input as (string | number[])[];
}

/** The deterministic float32 unit vector of one input: the renormalised prefix of the model's full vector. */
export function embedVector(model: string, input: string | number[], dimensions: number): Float32Array {
  const full = lexicalEmbedding(model, input, nativeDimensions(model));
  if (dimensions >= full.length) return full;
  let norm = 0;
  for (let i = 0; i < dimensions; i++) norm += full[i]! * full[i]!;
  norm = Math.sqrt(norm) || 1;
  const out = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) out[i] = full[i]! / norm;
  return out;
}

/** Float32 little-endian bytes as base64, the format the SDK decodes. */
export function float32ToBase64(v: Float32Array): string {
  const buf = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i], i * 4);
  return buf.toString('base64');
}

export interface EmbeddingsBody {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** The full embeddings response body for a request. */
export function buildEmbeddings(req: EmbeddingsRequest, promptTokens?: number): EmbeddingsBody {
  const dims = req.dimensions ?? nativeDimensions(req.model);
  const base64 = req.encoding_format === 'base64';
  const data = inputList(req.input).map((item, index) => {
    const v = embedVector(req.model, item, dims);
    return { object: 'embedding' as const, index, embedding: base64 ? float32ToBase64(v) : Array.from(v) };
  });
  const tokens = promptTokens ?? countEmbeddingInputTokens(req.model, req.input);
  return { object: 'list', data, model: req.model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}
