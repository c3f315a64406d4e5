// The inference endpoints (chat completions, embeddings) as objects that validate a body,
// say what to charge and serve it. The realtime routes and the Batch API's lines share
// them, so a batch line is answered exactly as the same request sent alone would be.
import { countChatPromptTokens, countEmbeddingInputTokens, DEFAULT_MAX_OUTPUT_TOKENS, maxOutputTokens } from '../llm/tokens.ts';
import { CACHE_MIN_TOKENS, promptParts } from '../domain/prompt-prefix.ts';
import { chatPromptTokenIds } from '../llm/prompt-tokens.ts';
import { buildChatCompletion, validateChatRequest, type AnswerShaping } from './chat.ts';
import { buildEmbeddings, validateEmbeddingsRequest } from './embeddings.ts';
import type { ErrorAnswer } from './errors.ts';
import type { PromptCacheModel } from './prompt-cache.ts';

/** What a served inference call produced: the JSON body and its usage. */
export interface Served {
  body: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** Its content was made to break the request's json_schema (the violation fault). */
  schemaBroken?: boolean;
}

/** A validated request, ready to serve. */
export interface Prepared {
  ok: true;
  model: string;
  promptTokens: number;
  /** What the TPM limit charges: prompt + the output bound. */
  chargeTokens: number;
  /**
   * Serves it. `processedInMs`: how long until its answer leaves (its latency): the prompt
   * cache holds its prefix only from then on. `breakSchema` (the --schema-violation-rate
   * fault): a json_schema request's content breaks its schema.
   */
  serve: (timing?: { processedInMs?: number; breakSchema?: boolean }) => Served;
}

/** An inference endpoint: validates, says what to charge, and serves. */
export interface InferenceEndpoint {
  /** Validates a parsed JSON body; returns the work to do or a 400. */
  prepare(body: unknown): Prepared | { ok: false; error: ErrorAnswer };
}

/** The endpoints the emulator serves, by URL path (as a batch line's `url` names them). */
export type Endpoints = Record<'/v1/chat/completions' | '/v1/embeddings', InferenceEndpoint>;

export const INFERENCE_PATHS = ['/v1/chat/completions', '/v1/embeddings'] as const;

export function isInferencePath(path: string): path is keyof Endpoints {
  return (INFERENCE_PATHS as readonly string[]).includes(path);
}

/** Both endpoints, sharing one prompt cache; `now` is the cache's clock (ms); `shaping`: how answers' content leans (the options in force). */
export function createEndpoints(promptCache: PromptCacheModel, now: () => number = () => performance.now(), shaping: () => AnswerShaping = () => ({})): Endpoints {
  const chat: InferenceEndpoint = {
    prepare(body) {
      const v = validateChatRequest(body);
      if (!v.ok) return v;
      const req = v.req;
      const promptTokens = countChatPromptTokens(req.model, req.messages);
      return {
        ok: true,
        model: req.model,
        promptTokens,
        chargeTokens: promptTokens + maxOutputTokens(req, DEFAULT_MAX_OUTPUT_TOKENS),
        serve: (timing) => {
          // Only prompts of 1,024 tokens and more can be cached: shorter ones are not even tokenized again.
          let cachedTokens = 0;
          if (promptTokens >= CACHE_MIN_TOKENS) {
            const at = now();
            const key = req.prompt_cache_key ?? req.user ?? undefined;
            const { ids } = chatPromptTokenIds(req.model, promptParts('/v1/chat/completions', req)!);
            cachedTokens = promptCache.serve({ model: req.model, ids, ...(key ? { key } : {}) }, at, at + (timing?.processedInMs ?? 0));
          }
          let broken = false;
          const completion = buildChatCompletion(req, { promptTokens, cachedTokens, ...shaping(), breakSchema: timing?.breakSchema === true, onSchemaBroken: () => (broken = true) });
          const u = completion.usage;
          return {
            ...(broken ? { schemaBroken: true } : {}),
            body: JSON.stringify(completion),
            promptTokens,
            completionTokens: u.completion_tokens,
            cachedTokens: u.prompt_tokens_details.cached_tokens,
            reasoningTokens: u.completion_tokens_details.reasoning_tokens,
          };
        },
      };
    },
  };

  const embeddings: InferenceEndpoint = {
    prepare(body) {
      const v = validateEmbeddingsRequest(body);
      if (!v.ok) return v;
      const req = v.req;
      const promptTokens = countEmbeddingInputTokens(req.model, req.input);
      return {
        ok: true,
        model: req.model,
        promptTokens,
        chargeTokens: promptTokens,
        serve: () => ({
          body: JSON.stringify(buildEmbeddings(req, promptTokens)),
          promptTokens,
          completionTokens: 0,
          cachedTokens: 0,
          reasoningTokens: 0,
        }),
      };
    },
  };

  return { '/v1/chat/completions': chat, '/v1/embeddings': embeddings };
}
