// One text's embedding from the provider's embeddings endpoint, through the same
// ProviderClient as every other call (rate limiter, retries, circuit), priced from the
// usage the provider reports. The vector comes back base64-encoded (float32 little-endian),
// the SDK's own default and a quarter of the JSON's size.
import type { TokenTotals } from '../domain/run-types.ts';
import { costOfUsage, priceFor, type PricingTable } from '../domain/pricing.ts';
import { countEmbeddingInputTokens } from './tokens.ts';
import type { CallOptions, ProviderClient } from './provider.ts';

export const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';

/** A model's native size: 3072 for text-embedding-3-large, 1536 for text-embedding-3-small and ada-002. */
export const nativeEmbeddingDimensions = (model: string): number => (model.includes('3-large') ? 3072 : 1536);

/** What one embeddings call cost: its usage as reported and its price. Zero for a call that failed (it is not billed). */
export interface EmbeddingCharge {
  model: string;
  usage: TokenTotals;
  costUsd: number;
  /** HTTP attempts made (retries included). */
  attempts: number;
  requestId?: string;
}

export type EmbedOutcome =
  | { ok: true; vector: Float32Array; charge: EmbeddingCharge }
  | { ok: false; code: 'embedding_failed' | 'quota_exhausted' | 'interrupted' | 'unavailable'; message: string; charge: EmbeddingCharge };

const NO_USAGE: TokenTotals = { prompt: 0, cached: 0, completion: 0, reasoning: 0 };

/** The vector of data[0]: base64 float32 LE, or a plain array of numbers. */
export function decodeEmbedding(body: unknown): Float32Array | undefined {
  const e = (body as { data?: { embedding?: unknown }[] } | undefined)?.data?.[0]?.embedding;
  if (typeof e === 'string') {
    const bytes = Buffer.from(e, 'base64');
    if (bytes.length === 0 || bytes.length % 4 !== 0) return undefined;
    const out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  }
  if (Array.isArray(e) && e.length > 0 && e.every((x) => typeof x === 'number')) return Float32Array.from(e as number[]);
  return undefined;
}

/** An embedding model and size, checked: an integer size up to the model's native one. */
export function embeddingSpace(model = DEFAULT_EMBEDDING_MODEL, dimensions?: number): { embeddingModel: string; dimensions: number } {
  const native = nativeEmbeddingDimensions(model);
  const dims = dimensions ?? native;
  if (!Number.isInteger(dims) || dims < 1 || dims > native) throw new Error(`embedding dimensions must be an integer from 1 to ${native} for ${model}, not ${dimensions}`);
  return { embeddingModel: model, dimensions: dims };
}

export interface EmbedVia {
  provider: ProviderClient;
  /** Prices the call; throws the pricing table's own UnknownModelError if it lacks the embedding model. */
  pricing: PricingTable;
  embeddingModel: string;
  dimensions: number;
}

/** The embedding of `input` (one call, with the client's retries). `requestId` goes out as X-Client-Request-Id. */
export async function embed(via: EmbedVia, input: string, requestId: string, opts: CallOptions = {}): Promise<EmbedOutcome> {
  const { provider, pricing, embeddingModel: model, dimensions } = via;
  priceFor(pricing, model);
  const body: Record<string, unknown> = { model, input, encoding_format: 'base64' };
  // Sent only when it differs from the native size (ada-002 refuses the parameter).
  if (dimensions !== nativeEmbeddingDimensions(model)) body.dimensions = dimensions;
  const outcome = await provider.call({ customId: requestId, url: '/v1/embeddings', body, chargeTokens: countEmbeddingInputTokens(model, input), priorAttempts: 0 }, opts);
  const charge: EmbeddingCharge = { model, usage: NO_USAGE, costUsd: 0, attempts: outcome.attempts };
  if (outcome.kind !== 'succeeded') {
    const message = outcome.kind === 'failed' || outcome.kind === 'unavailable' ? outcome.error.message : outcome.kind === 'quota_exhausted' ? outcome.message : 'stopped before the call';
    const code = outcome.kind === 'failed' ? 'embedding_failed' : outcome.kind;
    if ('requestId' in outcome && outcome.requestId) charge.requestId = outcome.requestId;
    return { ok: false, code, message, charge };
  }
  // Answered: billed, whatever the vector looks like.
  charge.usage = outcome.usage;
  charge.costUsd = costOfUsage(pricing, model, { promptTokens: outcome.usage.prompt, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 });
  if (outcome.requestId) charge.requestId = outcome.requestId;
  const vector = decodeEmbedding(outcome.body);
  if (!vector || vector.length !== dimensions) {
    return { ok: false, code: 'embedding_failed', message: `the embeddings answer holds ${vector ? `a vector of ${vector.length} dimensions, not ${dimensions}` : 'no vector'}`, charge };
  }
  return { ok: true, vector, charge };
}
