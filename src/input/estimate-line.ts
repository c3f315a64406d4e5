// What `llm-batch estimate` needs of each input line, computed on the preparing threads
// (estimate-thread.ts) or on the main thread for small files: the line validated by the
// same parser staging uses, its prompt tokens in every encoding the estimate compares, its
// output cap, whether hybrid mode sends it realtime, and digests of its custom_id and of its
// exact-cache key for the duplicate counts; with the levers, its prompt-cache fingerprint
// and the routing rules' choice, both computed as staging computes them. No I/O.
import type { RejectRecord } from '../domain/run-types.ts';
import type { RoutedChoice } from '../domain/estimate-levers.ts';
import { parseInputLine, type ParsedLine, type PromptDefaults } from '../domain/schemas.ts';
import { isUrgent, type UrgentClause } from '../domain/routing.ts';
import { kindOfUrl, type CountedLine } from '../domain/estimate.ts';
import { CACHE_MIN_TOKENS, type PrefixFingerprint } from '../domain/prompt-prefix.ts';
import type { RouteRules } from '../domain/route-rules.ts';
import { exactCacheKey } from '../cache/exact-key.ts';
import { murmur128 } from '../domain/murmur128.ts';
import { promptFingerprint } from '../llm/prompt-fingerprint.ts';
import {
  CHAT_REPLY_PRIMING_TOKENS,
  chatMessageTokens,
  countEmbeddingInputTokensWith,
  encoderNamed,
  encodingOf,
  type Encoder,
  type EncodingName,
  type MessageLike,
} from '../llm/tokens.ts';
import { outputCapOf } from './prepare-line.ts';
import { routeParsedLine } from './route-line.ts';

/** Everything a line's counting depends on besides the line: plain data, sent to the threads once. */
export interface EstimateContext {
  format: 'batch' | 'prompts';
  json: boolean;
  defaults: PromptDefaults;
  /** The --urgent-if rule (metadata.priority "urgent" always counts). */
  rule: UrgentClause[];
  /** Encodings to count besides each line's own model's, by the kind of request. */
  encodings: { chat: EncodingName[]; embeddings: EncodingName[] };
  /** Fingerprint the prompts of ≥ 1,024 tokens for the provider's prompt cache (only when a prefix lever is given). */
  prefix: boolean;
  /** --route: the routing rules, applied to every line as staging applies them. */
  routes?: RouteRules;
}

/** An accepted line, counted. */
export interface EstimatedItem extends CountedLine {
  line: number;
  customId: string;
  feature?: string;
  priority?: string;
  /** With `prefix`: the prompt's fingerprint, for a chat prompt of ≥ 1,024 tokens. */
  prefix?: PrefixFingerprint;
  /** With `routes`. */
  routed?: RoutedChoice;
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

/**
 * Remembers only short texts (roles, names) and the last long one: for the last message, which
 * is usually the one that varies (a classifier rule's rating prompt repeats it right after).
 */
class ShortTextEncoder implements Encoder {
  private readonly memo: Encoder;
  private readonly enc: Encoder;
  private lastText = '';
  private lastCount = 0;
  constructor(memo: Encoder, enc: Encoder) {
    this.memo = memo;
    this.enc = enc;
  }
  countTokens(text: string): number {
    if (text.length <= 32) return this.memo.countTokens(text);
    if (text !== this.lastText) {
      this.lastCount = this.enc.countTokens(text);
      this.lastText = text;
    }
    return this.lastCount;
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

/** Chat prompt tokens in one encoding, as countChatPromptTokens counts them. */
function chatTokens(name: EncodingName, messages: readonly MessageLike[]): number {
  const c = countersFor(name);
  let total = 0;
  for (let i = 0; i < messages.length; i++) total += chatMessageTokens(i === messages.length - 1 ? c.last : c.shared, messages[i]!);
  return CHAT_REPLY_PRIMING_TOKENS + total;
}

/** An accepted line's item, its tokens still to count. */
function itemOf(ctx: EstimateContext, line: ParsedLine, lineNumber: number): EstimatedItem {
  const kind = kindOfUrl(line.url);
  const item: EstimatedItem = { line: lineNumber, customId: line.customId, model: line.body.model, kind, tokens: {}, output: outputCapOf(line), urgent: isUrgent(line, ctx.rule) };
  if (line.feature !== undefined) item.feature = line.feature;
  if (line.priority !== undefined) item.priority = line.priority;
  return item;
}

/** Counts the line's prompt tokens in `enc`. */
function countIn(enc: EncodingName, line: ParsedLine, item: EstimatedItem): void {
  const tokens = item.tokens as Record<string, number>;
  tokens[enc] = item.kind === 'embeddings' ? countEmbeddingInputTokensWith(countersFor(enc).last, line.body.input) : chatTokens(enc, (line.body.messages ?? []) as MessageLike[]);
}

/**
 * The prompt-cache fingerprint staging computes (countAndFingerprint: the same tokens, the
 * same hashes), for a chat prompt whose exact count is ≥ 1,024; nothing to do for a shorter one.
 */
const fingerprintOf = (url: string, body: unknown, promptTokens: number): PrefixFingerprint | undefined =>
  promptTokens < CACHE_MIN_TOKENS ? undefined : promptFingerprint(url, body, promptTokens)?.prefix;

/** A classifier's rating prompt, counted as countChatPromptTokens counts it, its system prompt remembered. */
const countRating = (model: string, messages: { role: string; content: string }[]): number => chatTokens(ownEncoding(model), messages);

/** The routing rules' choice for an accepted line, as staging makes it (prepare-line.ts). */
function routeItem(ctx: EstimateContext, rules: RouteRules, line: ParsedLine, item: EstimatedItem): RoutedChoice {
  const own = item.tokens[ownEncoding(item.model)]!;
  const r = routeParsedLine(rules, line, own, countRating);
  const routed: RoutedChoice = { model: r.model, rule: r.rule };
  if (r.route !== undefined) routed.route = r.route;
  if (r.classifier) routed.classifier = r.classifier;
  if (ctx.prefix && r.model !== item.model) {
    const fp = fingerprintOf(line.url, r.body, r.promptTokens);
    if (fp) routed.prefix = fp;
  }
  return routed;
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

/** The prompt's fingerprint and the rules' choice, once the line's own tokens are counted. */
function leversOf(ctx: EstimateContext, line: ParsedLine, item: EstimatedItem): void {
  if (ctx.prefix && item.kind === 'chat') {
    const fp = fingerprintOf(line.url, line.body, item.tokens[ownEncoding(item.model)]!);
    if (fp) item.prefix = fp;
  }
  if (ctx.routes) item.routed = routeItem(ctx, ctx.routes, line, item);
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
      const own = enc === ownEncoding(item.model);
      if (!own && !wanted[item.kind].has(enc)) continue;
      countIn(enc, parsed[i]!, item);
      // Right after its own count: a classifier's rating prompt repeats the last message just counted.
      if (own && (ctx.prefix || ctx.routes)) leversOf(ctx, parsed[i]!, item);
    }
  }
  // A copy when lines were rejected: a view would carry the whole buffer across threads.
  return { lines: texts.length, rejects, items, digests: rejects.length === 0 ? digests : digests.slice(0, items.length * DIGEST_WORDS) };
}
