// Exact token counts with the model's own encoding (gpt-tokenizer), shared by the
// rate limiter, the cost estimate and the emulator so that all three agree.
import { createRequire } from 'node:module';
import { messageText } from '../domain/prompt-prefix.ts';

/** What counting needs (the estimate wraps encoders that only count). */
export type Encoder = { countTokens(text: string): number };
/** A loaded encoding: counts, and encodes (the prompt-cache fingerprint reads token ids). */
export type TokenEncoder = Encoder & { encode(text: string): number[] };

// Each encoding's tables are loaded on first use (synchronously, through require): most runs
// need one of the two, and a worker should not hold the other's in its heap.
const require = createRequire(import.meta.url);
let o200k: TokenEncoder | undefined;
let cl100k: TokenEncoder | undefined;

type Encoding = {
  countTokens(text: string, options: { disallowedSpecial: Set<string> }): number;
  encode(text: string, options: { disallowedSpecial: Set<string> }): number[];
};

// Text such as "<|endoftext|>" in a user's prompt is plain text to the API, not a special
// token: counted as such (gpt-tokenizer would otherwise throw and fail the whole staging).
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };
const plain = (enc: Encoding): TokenEncoder => ({ countTokens: (text) => enc.countTokens(text, PLAIN_TEXT), encode: (text) => enc.encode(text, PLAIN_TEXT) });

export type EncodingName = 'o200k_base' | 'cl100k_base';

/** gpt-4 / gpt-3.5 families use cl100k_base; every current model (gpt-4o, 4.1, 5, o-series) uses o200k_base. */
export const encodingOf = (model: string): EncodingName => (/^(gpt-4(?!o|\.)|gpt-3\.5|text-embedding-(ada|3))/.test(model) ? 'cl100k_base' : 'o200k_base');

export function encoderNamed(name: EncodingName): TokenEncoder {
  if (name === 'cl100k_base') return (cl100k ??= plain(require('gpt-tokenizer/encoding/cl100k_base') as Encoding));
  return (o200k ??= plain(require('gpt-tokenizer/encoding/o200k_base') as Encoding));
}

export const encoderFor = (model: string): TokenEncoder => encoderNamed(encodingOf(model));

export function countTextTokens(model: string, text: string): number {
  return encoderFor(model).countTokens(text);
}

export type MessageLike = { role?: unknown; name?: unknown; content?: unknown };

/** The text of a message's content: a string, or the text parts of an array. */
export const contentText = messageText;

/**
 * Prompt tokens of a chat request, counted the way OpenAI bills them:
 * 3 tokens of framing per message, 1 more for a `name`, 3 to prime the reply.
 */
export function countChatPromptTokens(model: string, messages: readonly MessageLike[]): number {
  const enc = encoderFor(model);
  let total = CHAT_REPLY_PRIMING_TOKENS;
  for (const m of messages) total += chatMessageTokens(enc, m);
  return total;
}

/** The tokens that prime the reply, counted once per chat request. */
export const CHAT_REPLY_PRIMING_TOKENS = 3;

/** One message's share of a chat prompt: its framing, role, content and name. */
export function chatMessageTokens(enc: Encoder, m: MessageLike): number {
  let n = 3 + enc.countTokens(typeof m.role === 'string' ? m.role : '') + enc.countTokens(contentText(m.content));
  if (typeof m.name === 'string') n += 1 + enc.countTokens(m.name);
  return n;
}

/** Prompt tokens of an embeddings request (`input` is a string or an array of strings). */
export function countEmbeddingInputTokens(model: string, input: unknown): number {
  return countEmbeddingInputTokensWith(encoderFor(model), input);
}

export function countEmbeddingInputTokensWith(enc: Encoder, input: unknown): number {
  if (typeof input === 'string') return enc.countTokens(input);
  if (Array.isArray(input)) return input.reduce<number>((n, s) => n + (typeof s === 'string' ? enc.countTokens(s) : Array.isArray(s) ? s.length : 0), 0);
  return 0;
}

/** Prompt tokens of any supported request body, by endpoint. */
export function countRequestPromptTokens(url: string, body: { model: string; messages?: unknown; input?: unknown }): number {
  if (url === '/v1/embeddings') return countEmbeddingInputTokens(body.model, body.input);
  return countChatPromptTokens(body.model, Array.isArray(body.messages) ? (body.messages as MessageLike[]) : []);
}

/** The most output tokens a request may produce, as OpenAI counts it against TPM. */
export function maxOutputTokens(body: { max_tokens?: unknown; max_completion_tokens?: unknown }, fallback: number): number {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}

/**
 * What a request without max_tokens is charged for output, by both our limiter and the
 * emulator (OpenAI charges the model's own cap; one shared figure keeps the two in step).
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 1024;
