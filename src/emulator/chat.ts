// Deterministic chat completions: request validation and the completion body built purely
// from the request (content seeded by a hash of model + messages + output bound). Cached
// prompt tokens come from the prompt cache model (prompt-cache.ts).
import { z } from 'zod';
import { countChatPromptTokens, countTextTokens, encoderFor } from '../llm/tokens.ts';
import { invalidRequest, type ErrorAnswer } from './errors.ts';
import { rngFromDigest, sha256 } from './random.ts';
import { checkResponseFormat, structuredContent, type ContentShaping } from './structured-output.ts';
import { packedContent, type PackDrop } from './packed-answer.ts';

/** How the content of answers leans, as the emulator's options say now: Structured Outputs shaping and the pack-drop fault. */
export interface AnswerShaping {
  shaping?: ContentShaping;
  packDrop?: PackDrop;
}

const MessageSchema = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
  name: z.string().optional(),
});

const positiveIntOrNull = z.number().int().positive().nullable().optional();

export const ChatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  stream: z.boolean().nullable().optional(),
  max_tokens: positiveIntOrNull,
  max_completion_tokens: positiveIntOrNull,
  n: z.number().int().min(1).max(1).nullable().optional(),
  // Routes the request among the prompt cache's machines (prompt-cache.ts); `user` did before it.
  prompt_cache_key: z.string().nullable().optional(),
  user: z.string().nullable().optional(),
});

export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** Turns a zod failure into the 400 OpenAI would send, naming the parameter. */
export function zodToInvalidRequest(body: Record<string, unknown>, error: z.ZodError): ErrorAnswer {
  const issue = error.issues[0];
  const param = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  const top = issue.path[0];
  if (issue.path.length === 1 && typeof top === 'string' && body[top] === undefined) {
    return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  }
  if (issue.code === 'too_small' && Array.isArray(issue.path.length === 1 ? body[top as string] : undefined)) {
    return invalidRequest(
      `Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
      param,
      'empty_array',
    );
  }
  if (issue.code === 'invalid_type') {
    return invalidRequest(`Invalid type for '${param}': ${issue.message}`, param, 'invalid_type');
  }
  return invalidRequest(`Invalid '${param}': ${issue.message}`, param, 'invalid_value');
}

/** Validates a parsed JSON body: a ChatRequest, or the 400 to answer. */
export function validateChatRequest(body: unknown): { ok: true; req: ChatRequest } | { ok: false; error: ErrorAnswer } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, error: invalidRequest('The request body must be a JSON object.', null, 'invalid_type') };
  }
  const r = ChatRequestSchema.safeParse(body);
  if (!r.success) return { ok: false, error: zodToInvalidRequest(body as Record<string, unknown>, r.error) };
  if (r.data.stream === true) {
    return {
      ok: false,
      error: invalidRequest('Streaming is not supported by the llm-batch emulator; send stream: false.', 'stream', 'unsupported_value'),
    };
  }
  const rf = checkResponseFormat(r.data.response_format);
  if (!rf.ok) return rf;
  return { ok: true, req: r.data };
}

export function isReasoningModel(model: string): boolean {
  return /^(o1|o3|o4|gpt-5)/.test(model);
}

/** The output bound of a request (max_completion_tokens ?? max_tokens), undefined when none. */
export function outputBound(req: { max_tokens?: number | null; max_completion_tokens?: number | null }): number | undefined {
  return req.max_completion_tokens ?? req.max_tokens ?? undefined;
}

// prettier-ignore
const WORDS = [
  'the', 'system', 'data', 'model', 'result', 'value', 'order', 'customer', 'account', 'request', 'service', 'team',
  'report', 'answer', 'question', 'issue', 'process', 'number', 'time', 'day', 'week', 'month', 'year', 'plan',
  'price', 'cost', 'budget', 'item', 'list', 'file', 'record', 'change', 'update', 'review', 'summary', 'detail',
  'product', 'feature', 'support', 'ticket', 'message', 'email', 'user', 'group', 'project', 'task', 'goal', 'step',
  'is', 'was', 'will', 'can', 'should', 'may', 'must', 'has', 'had', 'does', 'shows', 'needs', 'makes', 'takes',
  'gives', 'keeps', 'finds', 'helps', 'moves', 'holds', 'sends', 'reads', 'writes', 'checks', 'builds', 'runs',
  'a', 'an', 'this', 'that', 'each', 'every', 'some', 'many', 'more', 'most', 'other', 'new', 'old', 'good',
  'clear', 'simple', 'small', 'large', 'early', 'late', 'quick', 'careful', 'useful', 'common', 'recent', 'final',
  'and', 'but', 'or', 'so', 'because', 'while', 'when', 'after', 'before', 'if', 'then', 'also',
  'in', 'on', 'for', 'with', 'from', 'to', 'by', 'about', 'over', 'under', 'between', 'through',
  'we', 'you', 'they', 'it', 'our', 'your', 'their', 'its', 'one', 'two', 'three', 'several',
  'not', 'now', 'here', 'there', 'again', 'soon', 'often', 'usually', 'really', 'likely', 'already', 'still',
  'policy', 'refund', 'delivery', 'payment', 'invoice', 'contract', 'meeting', 'schedule', 'network', 'server', 'client', 'error',
  'search', 'query', 'index', 'page', 'document', 'section', 'table', 'chart', 'metric', 'trend', 'risk', 'option',
];

function capitalize(w: string): string {
  return w.charAt(0).toUpperCase() + w.slice(1);
}

/** Words of `count` sentences drawn from the PRNG until about `targetTokens` tokens (≈1 per word). */
function naturalWords(rng: () => number, targetTokens: number): string[] {
  const words: string[] = [];
  let estimate = 0;
  while (estimate < targetTokens) {
    const len = 5 + Math.floor(rng() * 10);
    for (let i = 0; i < len; i++) {
      const w = WORDS[Math.floor(rng() * WORDS.length)];
      words.push(i === 0 ? capitalize(w) : i === len - 1 ? `${w}.` : w);
    }
    estimate += len + 1;
  }
  return words;
}

type Encoder = ReturnType<typeof encoderFor>;
/** Per encoder: tokens of `word` at the start of the text, and of ` word` after a space (final dot included). */
const wordCounts = new Map<Encoder, { first: Map<string, number>; later: Map<string, number> }>();
const PLAIN_WORD = /^[A-Za-z]+\.?$/;

/**
 * Exactly countTextTokens(model, words.slice(0, k).join(' ')), fast: the tokenizers'
 * pre-split cuts such text into `Word`, ` word` and `.` pieces and BPE never crosses a
 * piece, so the count is a sum of per-word counts, memoised (the vocabulary is small).
 * Words that are not plain letters (with an optional final dot) fall back to a full count.
 */
export function countWordsTokens(model: string, words: readonly string[], k = words.length): number {
  const enc = encoderFor(model);
  let counts = wordCounts.get(enc);
  if (counts === undefined) wordCounts.set(enc, (counts = { first: new Map(), later: new Map() }));
  let total = 0;
  for (let i = 0; i < k; i++) {
    const w = words[i];
    const cache = i === 0 ? counts.first : counts.later;
    let n = cache.get(w);
    if (n === undefined) {
      if (!PLAIN_WORD.test(w)) return countTextTokens(model, words.slice(0, k).join(' '));
      const dot = w.endsWith('.');
      n = enc.countTokens((i === 0 ? '' : ' ') + (dot ? w.slice(0, -1) : w)) + (dot ? enc.countTokens('.') : 0);
      cache.set(w, n);
    }
    total += n;
  }
  return total;
}

/** The longest prefix of `words` whose text has at most `limit` tokens (exact count). */
function fitWords(model: string, words: string[], limit: number): { text: string; tokens: number } {
  if (limit <= 0) return { text: '', tokens: 0 };
  let k = Math.min(words.length, limit);
  for (;;) {
    const text = words.slice(0, k).join(' ');
    const tokens = countWordsTokens(model, words, k);
    if (tokens <= limit || k <= 1) {
      if (tokens <= limit) return { text, tokens };
      return { text: '', tokens: 0 };
    }
    k -= Math.max(1, Math.ceil((tokens - limit) / 2));
  }
}

export interface GeneratedCompletion {
  /** The content breaks the request's json_schema (the violation fault). */
  schemaBroken?: boolean;
  content: string;
  contentTokens: number;
  reasoningTokens: number;
  finishReason: 'stop' | 'length';
}

/**
 * The deterministic answer to a request: a target of 16..96 tokens chosen by the hash,
 * reasoning tokens for reasoning models, everything within max_completion_tokens ?? max_tokens.
 */
export function generateCompletion(
  req: Pick<ChatRequest, 'model' | 'messages' | 'max_tokens' | 'max_completion_tokens'> & { response_format?: unknown },
  shaping: ContentShaping = {},
  packDrop?: PackDrop,
  breakSchema = false,
): GeneratedCompletion {
  const bound = outputBound(req);
  const rf = checkResponseFormat(req.response_format);
  if (rf.ok && rf.format) {
    // A packed request (request packing) is answered item by item (packed-answer.ts); the violation fault breaks plain ones.
    const packed = packedContent(req, rf.format, (alone) => generateCompletion(alone as ChatRequest, shaping), packDrop);
    const broken = packed === undefined && breakSchema && rf.format.schema !== undefined;
    const gen = structuredCompletion(req, packed ?? structuredContent(req, rf.format, shaping, broken), bound);
    return broken ? { ...gen, schemaBroken: true } : gen;
  }
  const rng = rngFromDigest(sha256(JSON.stringify([req.model, req.messages, bound ?? null])));
  const target = 16 + Math.floor(rng() * 81);
  let reasoning = isReasoningModel(req.model) ? Math.round(target * (0.5 + rng() * 1.5)) : 0;
  const words = naturalWords(rng, target);
  if (bound !== undefined && reasoning >= bound) {
    return { content: '', contentTokens: 0, reasoningTokens: bound, finishReason: 'length' };
  }
  const full = words.join(' ');
  const fullTokens = countWordsTokens(req.model, words);
  if (bound === undefined || fullTokens + reasoning <= bound) {
    return { content: full, contentTokens: fullTokens, reasoningTokens: reasoning, finishReason: 'stop' };
  }
  const cut = fitWords(req.model, words, bound - reasoning);
  return { content: cut.text, contentTokens: cut.tokens, reasoningTokens: reasoning, finishReason: 'length' };
}

/** A Structured Outputs answer: the JSON text, cut at the output bound like any answer (reasoning models think first). */
function structuredCompletion(req: { model: string; messages: unknown }, text: string, bound: number | undefined): GeneratedCompletion {
  const rng = rngFromDigest(sha256(JSON.stringify([req.model, req.messages, bound ?? null, 'reasoning'])));
  const tokens = countTextTokens(req.model, text);
  const reasoning = isReasoningModel(req.model) ? Math.round(tokens * (0.5 + rng() * 1.5)) + 8 : 0;
  if (bound === undefined || tokens + reasoning <= bound) return { content: text, contentTokens: tokens, reasoningTokens: reasoning, finishReason: 'stop' };
  if (reasoning >= bound) return { content: '', contentTokens: 0, reasoningTokens: bound, finishReason: 'length' };
  let cut = text.slice(0, bound - reasoning);
  while (cut.length > 0 && countTextTokens(req.model, cut) > bound - reasoning) cut = cut.slice(0, -1);
  return { content: cut, contentTokens: countTextTokens(req.model, cut), reasoningTokens: reasoning, finishReason: 'length' };
}

const fingerprints = new Map<string, string>();
function systemFingerprint(model: string): string {
  let fp = fingerprints.get(model);
  if (fp === undefined) {
    fp = `fp_${sha256(model).toString('hex').slice(0, 10)}`;
    fingerprints.set(model, fp);
  }
  return fp;
}

let idCounter = 0;
const idPrefix = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0');
export function nextCompletionId(): string {
  return `chatcmpl-emu${idPrefix}${(idCounter++).toString(36).padStart(8, '0')}`;
}

export interface ChatCompletionBody {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [
    {
      index: 0;
      message: { role: 'assistant'; content: string; refusal: null; annotations: [] };
      logprobs: null;
      finish_reason: 'stop' | 'length';
    },
  ];
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details: { cached_tokens: number; audio_tokens: 0 };
    completion_tokens_details: { reasoning_tokens: number; audio_tokens: 0; accepted_prediction_tokens: 0; rejected_prediction_tokens: 0 };
  };
  service_tier: 'default';
  system_fingerprint: string;
}

/**
 * The full chat.completion body for a request. Pure apart from id/created, which callers may
 * pin; `promptTokens` may be passed when already counted, `cachedTokens` comes from the cache.
 */
export function buildChatCompletion(
  req: Pick<ChatRequest, 'model' | 'messages' | 'max_tokens' | 'max_completion_tokens'> & { response_format?: unknown },
  opts: { promptTokens?: number; cachedTokens?: number; id?: string; created?: number; breakSchema?: boolean; onSchemaBroken?: () => void } & AnswerShaping = {},
): ChatCompletionBody {
  const gen = generateCompletion(req, opts.shaping, opts.packDrop, opts.breakSchema ?? false);
  if (gen.schemaBroken) opts.onSchemaBroken?.();
  const promptTokens = opts.promptTokens ?? countChatPromptTokens(req.model, req.messages);
  const completionTokens = gen.contentTokens + gen.reasoningTokens;
  return {
    id: opts.id ?? nextCompletionId(),
    object: 'chat.completion',
    created: opts.created ?? Math.floor(Date.now() / 1000),
    model: req.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: gen.content, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: gen.finishReason,
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: Math.min(opts.cachedTokens ?? 0, promptTokens), audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: gen.reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    service_tier: 'default',
    system_fingerprint: systemFingerprint(req.model),
  };
}
