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

export class Embedder {
  readonly model: string;
  readonly dimensions: number;
  private readonly provider: ProviderClient;
  private readonly pricing: PricingTable;
  /** Sent only when it differs from the native size (ada-002 refuses the parameter). */
  private readonly sendDimensions: boolean;

  constructor(provider: ProviderClient, pricing: PricingTable, opts: { model?: string; dimensions?: number } = {}) {
    this.provider = provider;
    this.pricing = pricing;
    this.model = opts.model ?? DEFAULT_EMBEDDING_MODEL;
    // Fails now, with the pricing table's own message, if the model has no price.
    priceFor(pricing, this.model);
    const native = nativeEmbeddingDimensions(this.model);
    this.dimensions = opts.dimensions ?? native;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 1 || this.dimensions > native) {
      throw new Error(`embedding dimensions must be an integer from 1 to ${native} for ${this.model}, not ${opts.dimensions}`);
    }
    this.sendDimensions = this.dimensions !== native;
  }

  /** The embedding of `input`. `requestId` goes out as X-Client-Request-Id. */
  async embed(input: string, requestId: string, opts: CallOptions = {}): Promise<EmbedOutcome> {
    const body: Record<string, unknown> = { model: this.model, input, encoding_format: 'base64' };
    if (this.sendDimensions) body.dimensions = this.dimensions;
    const outcome = await this.provider.call(
      { customId: requestId, url: '/v1/embeddings', body, chargeTokens: countEmbeddingInputTokens(this.model, input), priorAttempts: 0 },
      opts,
    );
    const charge: EmbeddingCharge = { model: this.model, usage: NO_USAGE, costUsd: 0, attempts: outcome.attempts };
    if (outcome.kind !== 'succeeded') {
      const message = outcome.kind === 'failed' || outcome.kind === 'unavailable' ? outcome.error.message : outcome.kind === 'quota_exhausted' ? outcome.message : 'stopped before the call';
      const code = outcome.kind === 'failed' ? 'embedding_failed' : outcome.kind;
      if ('requestId' in outcome && outcome.requestId) charge.requestId = outcome.requestId;
      return { ok: false, code, message, charge };
    }
    // Answered: billed, whatever the vector looks like.
    charge.usage = outcome.usage;
    charge.costUsd = costOfUsage(this.pricing, this.model, { promptTokens: outcome.usage.prompt, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0 });
    if (outcome.requestId) charge.requestId = outcome.requestId;
    const vector = decodeEmbedding(outcome.body);
    if (!vector || vector.length !== this.dimensions) {
      return { ok: false, code: 'embedding_failed', message: `the embeddings answer holds ${vector ? `a vector of ${vector.length} dimensions, not ${this.dimensions}` : 'no vector'}`, charge };
    }
    return { ok: true, vector, charge };
  }
}
