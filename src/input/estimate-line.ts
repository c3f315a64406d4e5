// What `llm-batch estimate` needs of each input line, computed on the preparing threads
// (estimate-thread.ts) or on the main thread for small files: the line validated by the
// same parser staging uses, its prompt tokens in every encoding the estimate compares, its
// output cap, whether hybrid mode sends it realtime, and digests of its custom_id and of its
// exact-cache key for the duplicate counts. No I/O.
import { createHash } from 'node:crypto';
import type { RejectRecord } from '../domain/run-types.ts';
import { parseInputLine, type ParsedLine, type PromptDefaults } from '../domain/schemas.ts';
import { isUrgent, type UrgentClause } from '../domain/routing.ts';
import { canonicalJson } from '../domain/cache-key.ts';
import { kindOfUrl, type CountedLine } from '../domain/estimate.ts';
import type { PrefixBoundary } from '../domain/estimate-levers.ts';
import { exactCacheKey } from '../cache/exact-key.ts';
import { murmur128 } from '../domain/murmur128.ts';
import {
  CHAT_REPLY_PRIMING_TOKENS,
  chatMessageTokens,
  contentText,
  countEmbeddingInputTokensWith,
  encoderNamed,
  encodingOf,
  type Encoder,
  type EncodingName,
  type MessageLike,
} from '../llm/tokens.ts';
import { outputCapOf } from './prepare-line.ts';

/** Everything a line's counting depends on besides the line: plain data, sent to the threads once. */
export interface EstimateContext {
  format: 'batch' | 'prompts';
  json: boolean;
  defaults: PromptDefaults;
  /** The --urgent-if rule (metadata.priority "urgent" always counts). */
  rule: UrgentClause[];
  /** Encodings to count besides each line's own model's, by the kind of request. */
  encodings: { chat: EncodingName[]; embeddings: EncodingName[] };
  /** Compute the prompt-prefix boundaries of chat lines (only when a prefix lever is given). */
  prefix: boolean;
  /** Keep what routing rules look at (only when a router is given). */
  routable: boolean;
}

/** An accepted line, counted. */
export interface EstimatedItem extends CountedLine {
  line: number;
  customId: string;
  feature?: string;
  priority?: string;
  /** With `routable`. */
  lastUserMessage?: string;
  /** With `prefix`, for chat lines. */
  boundaries?: PrefixBoundary[];
}

/** Words per item in EstimateBatch.digests: the custom_id's digest (4, MurmurHash3 x86_128), then the exact-cache key (8, its SHA-256). */
export const DIGEST_WORDS = 12;

/** A batch of consecutive lines, counted. */
export interface EstimateBatch {
  lines: number;
  rejects: RejectRecord[];
  items: EstimatedItem[];
  /** DIGEST_WORDS words per item, in the order of `items`. */
  digests: Uint32Array;
}

/**
 * Token counts of repeated texts (system prompts, few-shot blocks, roles) are remembered:
 * counting is most of the estimate's time. Bounded by the characters held.
 */
class RememberingEncoder implements Encoder {
  private readonly known = new Map<string, number>();
  private chars = 0;
  private readonly enc: Encoder;
  private readonly maxChars: number;
  constructor(enc: Encoder, maxChars = 4_000_000) {
    this.enc = enc;
    this.maxChars = maxChars;
  }

  countTokens(text: string): number {
    const n = this.known.get(text);
    if (n !== undefined) return n;
    const counted = this.enc.countTokens(text);
    if (this.chars + text.length > this.maxChars) {
      this.known.clear();
      this.chars = 0;
    }
    this.known.set(text, counted);
    this.chars += text.length;
    return counted;
  }
}

/** Remembers only short texts (roles, names): for the last message, which is usually the one that varies. */
class ShortTextEncoder implements Encoder {
  private readonly memo: Encoder;
  private readonly enc: Encoder;
  constructor(memo: Encoder, enc: Encoder) {
    this.memo = memo;
    this.enc = enc;
  }
  countTokens(text: string): number {
    return text.length <= 32 ? this.memo.countTokens(text) : this.enc.countTokens(text);
  }
}

interface Counters {
  /** Earlier messages: usually the same from line to line. */
  shared: Encoder;
  last: Encoder;
}

const counters = new Map<EncodingName, Counters>();
function countersFor(name: EncodingName): Counters {
  let c = counters.get(name);
  if (!c) {
    const enc = encoderNamed(name);
    const shared = new RememberingEncoder(enc);
    c = { shared, last: new ShortTextEncoder(shared, enc) };
    counters.set(name, c);
  }
  return c;
}

/** Chat prompt tokens in one encoding, as countChatPromptTokens counts them, with the running total at each message's end. */
function chatTokens(name: EncodingName, messages: readonly MessageLike[], boundaries?: number[]): number {
  const c = countersFor(name);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    total += chatMessageTokens(i === messages.length - 1 ? c.last : c.shared, messages[i]!);
    boundaries?.push(total);
  }
  return CHAT_REPLY_PRIMING_TOKENS + total;
}

/** Body fields that shape the prompt's prefix besides the messages (tools and schemas come first in it). */
const PREFIX_FIELDS = ['model', 'tools', 'functions', 'response_format'] as const;

function prefixKeys(body: Record<string, unknown>, messages: readonly unknown[]): string[] {
  const head: Record<string, unknown> = {};
  for (const f of PREFIX_FIELDS) if (body[f] !== undefined) head[f] = body[f];
  const h = createHash('sha256').update(canonicalJson(head));
  return messages.map((m) => h.update('\n').update(canonicalJson(m)).copy().digest('hex').slice(0, 32));
}

const lastUserText = (messages: readonly MessageLike[]): string => {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return contentText(messages[i]!.content);
  return '';
};

/** An accepted line's item, its tokens still to count. */
function itemOf(ctx: EstimateContext, line: ParsedLine, lineNumber: number): EstimatedItem {
  const kind = kindOfUrl(line.url);
  const item: EstimatedItem = { line: lineNumber, customId: line.customId, model: line.body.model, kind, tokens: {}, output: outputCapOf(line), urgent: isUrgent(line, ctx.rule) };
  if (line.feature !== undefined) item.feature = line.feature;
  if (line.priority !== undefined) item.priority = line.priority;
  if (ctx.routable) item.lastUserMessage = kind === 'chat' ? lastUserText((line.body.messages ?? []) as MessageLike[]) : '';
  return item;
}

/** Counts the line's prompt tokens in `enc` (and, in its own encoding, its prefix boundaries when asked). */
function countIn(ctx: EstimateContext, enc: EncodingName, line: ParsedLine, item: EstimatedItem): void {
  const tokens = item.tokens as Record<string, number>;
  if (item.kind === 'embeddings') {
    tokens[enc] = countEmbeddingInputTokensWith(countersFor(enc).last, line.body.input);
    return;
  }
  const messages = (line.body.messages ?? []) as MessageLike[];
  const ends = ctx.prefix && enc === ownEncoding(item.model) ? [] : undefined;
  tokens[enc] = chatTokens(enc, messages, ends);
  if (ends) {
    const keys = prefixKeys(line.body, messages);
    item.boundaries = ends.map((t, i) => ({ key: keys[i]!, tokens: t }));
  }
}

const ENCODINGS: readonly EncodingName[] = ['o200k_base', 'cl100k_base'];

/** encodingOf is a regex test: remembered per model name (a file names few). */
const encodingByModel = new Map<string, EncodingName>();
function ownEncoding(model: string): EncodingName {
  let enc = encodingByModel.get(model);
  if (enc === undefined) {
    if (encodingByModel.size > 1000) encodingByModel.clear();
    enc = encodingOf(model);
    encodingByModel.set(model, enc);
  }
  return enc;
}

/** Consecutive lines, the first numbered `firstLine`, validated and counted. */
export function estimateLines(ctx: EstimateContext, texts: readonly string[], firstLine: number): EstimateBatch {
  const rejects: RejectRecord[] = [];
  const items: EstimatedItem[] = [];
  const parsed: ParsedLine[] = [];
  const digests = new Uint32Array(texts.length * DIGEST_WORDS);
  const bytes = new Uint8Array(digests.buffer);
  for (let i = 0; i < texts.length; i++) {
    const lineNumber = firstLine + i;
    const result = parseInputLine(ctx.format, ctx.json, texts[i]!, lineNumber, ctx.defaults);
    if (!result.ok) {
      rejects.push({ line: lineNumber, custom_id: result.reject.customId ?? null, code: result.reject.code, message: result.reject.message });
      continue;
    }
    const at = items.length * DIGEST_WORDS;
    murmur128(result.line.customId, digests, at);
    bytes.set(Buffer.from(exactCacheKey(result.line.url, result.line.body), 'hex'), (at + 4) * 4);
    items.push(itemOf(ctx, result.line, lineNumber));
    parsed.push(result.line);
  }
  // One encoding at a time over the whole batch: each tokenizer's tables stay in the CPU's
  // caches (counting line by line in both encodings in turn is markedly slower).
  const wanted = { chat: new Set(ctx.encodings.chat), embeddings: new Set(ctx.encodings.embeddings) };
  for (const enc of ENCODINGS) {
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (wanted[item.kind].has(enc) || enc === ownEncoding(item.model)) countIn(ctx, enc, parsed[i]!, item);
    }
  }
  // A copy when lines were rejected: a view would carry the whole buffer across threads.
  return { lines: texts.length, rejects, items, digests: rejects.length === 0 ? digests : digests.slice(0, items.length * DIGEST_WORDS) };
}
