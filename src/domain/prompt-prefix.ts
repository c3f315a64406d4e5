// Provider prompt caching seen from the input: how a request's prompt is a prefix, which
// items share a long one (a prefix group), how many prompt tokens the provider's cache could
// serve on a file, and whether a prompt's layout defeats the cache. Pure: tokenizing and
// hashing happen in src/llm/prompt-fingerprint.ts, which turns a request into the
// fingerprints these functions take.
//
// What OpenAI documents ("Prompt caching" guide): prompts of 1,024 tokens or more are cached;
// a hit covers the longest cached prefix, in 128-token steps; cache hits need an exact prefix
// match, so static content (instructions, examples) belongs first and per-request content last.
//
// How a prompt is seen as a prefix: its messages in order, each rendered as framing tokens,
// its role (and name), then its content text (text parts joined): the tokens, in the order,
// that the provider bills (llm/tokens.ts counts exactly these) and caches.
//
// The prefix group of a prompt of ≥ 1,024 tokens is named by its model and its first 1,024
// tokens (hashed: checkpoint 0 below). Items of one group share at least the 1,024 tokens
// that make a cache hit possible, so dispatched together with one prompt_cache_key all but the
// first can be hits. A prompt under 1,024 tokens is in no group: nothing of it can be cached.
// Below the group, a path of deeper checkpoints orders the group so that items sharing more
// (a shared system prompt, then the same document) sit next to each other.
//
// Checkpoints: the hash of the prompt's first 1,024 tokens, of its first 1,152, and so on in
// 128-token steps up to the prompt's length: two prompts share a cacheable prefix of
// 1,024 + 128·k tokens exactly when their checkpoints 0..k are equal.

/** Prompts shorter than this are never cached (OpenAI's threshold). */
export const CACHE_MIN_TOKENS = 1024;
/** Cache hits come in steps of this many tokens. */
export const CACHE_STEP_TOKENS = 128;
/** The provider routes a request to a cache machine by a hash of about this many leading tokens. */
export const ROUTE_PREFIX_TOKENS = 256;
/** Deeper checkpoints kept in an item's ordering path (1,152 … 4,096 tokens). */
export const PATH_CHECKPOINTS = 24;

/** One message of a prompt as the cache sees it. */
export interface PromptPart {
  role: string;
  name?: string;
  text: string;
}

/** A message's content as text: a string, or the text of its parts joined (images and audio are not modelled). */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
  }
  return '';
}

/** The prompt of a chat request as an ordered list of parts; undefined for other endpoints (embeddings are not cached). */
export function promptParts(url: string, body: unknown): PromptPart[] | undefined {
  if (url !== '/v1/chat/completions' || !body || typeof body !== 'object') return undefined;
  const messages = (body as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) return undefined;
  return messages.map((m: { role?: unknown; name?: unknown; content?: unknown }) => {
    const part: PromptPart = { role: typeof m?.role === 'string' ? m.role : '', text: messageText(m?.content) };
    if (typeof m?.name === 'string') part.name = m.name;
    return part;
  });
}

/** Tokens a prompt of `promptTokens` can have served from the cache at most: 0 under 1,024, else in 128-token steps. */
export function cacheableTokens(promptTokens: number): number {
  return promptTokens < CACHE_MIN_TOKENS ? 0 : Math.floor(promptTokens / CACHE_STEP_TOKENS) * CACHE_STEP_TOKENS;
}

/** The prefix lengths that get a checkpoint: 1,024, 1,152, … up to the prompt's length. */
export function checkpointLengths(promptTokens: number): number[] {
  const out: number[] = [];
  for (let k = CACHE_MIN_TOKENS; k <= promptTokens; k += CACHE_STEP_TOKENS) out.push(k);
  return out;
}

/** The prefix length that checkpoint `i` stands for. */
export const checkpointTokens = (i: number): number => CACHE_MIN_TOKENS + i * CACHE_STEP_TOKENS;

/** What a prompt of ≥ 1,024 tokens is, for caching: its checkpoint hashes (index 0 names its group). */
export interface PrefixFingerprint {
  /** checkpoints[i] is the hash of the model and the first checkpointTokens(i) tokens. */
  checkpoints: readonly string[];
}

/** The group of a fingerprinted prompt (its first checkpoint), or undefined for a prompt under 1,024 tokens. */
export const prefixGroupOf = (fp: PrefixFingerprint | undefined): string | undefined => fp?.checkpoints[0];

/**
 * The ordering path below the group: a short piece of each deeper checkpoint (up to
 * PATH_CHECKPOINTS of them), so sorting by it puts items that share more prefix next to each
 * other. `short` cuts a checkpoint hash to the piece kept.
 */
export function prefixPathOf(fp: PrefixFingerprint, short: (hash: string) => string = (h) => h.slice(0, 4)): string {
  return fp.checkpoints.slice(1, 1 + PATH_CHECKPOINTS).map(short).join('');
}

/** Groups tracked at most before groups of one item are forgotten (see PrefixCacheEligibility). */
export const MAX_TRACKED_GROUPS = 100_000;

/** What the eligibility count found. */
export interface PrefixEligibility {
  /** Prompt tokens the provider's prompt cache could serve if each group goes out together: Σ (n − 1) × common prefix. */
  eligibleCachedTokens: number;
  /** Items fed, and those in a group of two or more. */
  items: number;
  groupedItems: number;
  /** Groups of two or more items. */
  groups: number;
  /** True when groups of one item had to be forgotten to bound memory: the count is then a lower bound. */
  approximate: boolean;
}

/**
 * Counts the prompt tokens eligible for the provider's prompt cache, fed items one by one.
 * Per group of n items whose common prefix is C tokens (in 128-token steps, ≥ 1,024): (n − 1) × C
 * (the first item of a group writes the cache, the others can read it). Memory is bounded: per
 * group, its size and the checkpoints its items still all share; past MAX_TRACKED_GROUPS groups,
 * the groups of one item are dropped (a later item of such a group starts it again).
 */
export class PrefixCacheEligibility {
  private readonly groups = new Map<string, { n: number; common: string[] }>();
  private items = 0;
  private approximate = false;
  private readonly maxGroups: number;

  constructor(maxGroups = MAX_TRACKED_GROUPS) {
    this.maxGroups = maxGroups;
  }

  /** One item: its fingerprint, or undefined for a prompt under 1,024 tokens (or an endpoint not cached). */
  add(fp: PrefixFingerprint | undefined): void {
    this.items++;
    const group = prefixGroupOf(fp);
    if (group === undefined) return;
    const g = this.groups.get(group);
    if (g === undefined) {
      if (this.groups.size >= this.maxGroups) this.forgetSingletons();
      this.groups.set(group, { n: 1, common: fp!.checkpoints.slice() });
      return;
    }
    g.n++;
    let k = 0;
    const cps = fp!.checkpoints;
    while (k < g.common.length && k < cps.length && g.common[k] === cps[k]) k++;
    if (k < g.common.length) g.common.length = k;
  }

  private forgetSingletons(): void {
    for (const [k, g] of this.groups) if (g.n === 1) this.groups.delete(k);
    this.approximate = true;
  }

  result(): PrefixEligibility {
    let eligible = 0;
    let groups = 0;
    let groupedItems = 0;
    for (const g of this.groups.values()) {
      if (g.n < 2 || g.common.length === 0) continue;
      groups++;
      groupedItems += g.n;
      eligible += (g.n - 1) * checkpointTokens(g.common.length - 1);
    }
    return { eligibleCachedTokens: eligible, items: this.items, groupedItems, groups, approximate: this.approximate };
  }
}

/** One message of a prompt as the layout check sees it (hashes computed outside the domain). */
export interface MessageLayout {
  role: string;
  /** Content tokens of the message. */
  tokens: number;
  /** Hash of the role and content. */
  hash: string;
  /** Hash of everything before the message in the prompt. */
  before: string;
  /** Hash of the role and the content's last LAYOUT_TAIL_TOKENS tokens, when the content is longer than that. */
  tail?: string;
}

/** A long static part is one of at least this many tokens: the cache's threshold. */
export const LAYOUT_STATIC_TOKENS = CACHE_MIN_TOKENS;
/** The length of the tail compared to find a static end after a per-item start. */
export const LAYOUT_TAIL_TOKENS = CACHE_MIN_TOKENS;
/** Entries tracked at most by the layout check before those seen once are forgotten. */
export const MAX_TRACKED_LAYOUTS = 20_000;
const LINES_KEPT = 5;
const WARNINGS_KEPT = 5;

/** A layout that defeats the cache, found on some lines. */
export interface LayoutFinding {
  kind: 'static_after_variable' | 'variable_head';
  /** 1-based index of the message, and its role. */
  message: number;
  role: string;
  /** Tokens of the static part (the message, or its static tail). */
  tokens: number;
  /** Lines showing it (the first few) and how many in all. */
  lines: number[];
  count: number;
}

interface Tracked {
  kind: LayoutFinding['kind'];
  message: number;
  role: string;
  tokens: number;
  count: number;
  lines: number[];
  /** Distinct "what differs" hashes seen (capped at 2: two are enough to know it varies). */
  variants: string[];
}

/**
 * Finds layouts that defeat the provider's prompt cache, fed items one by one at staging:
 * - static_after_variable: a message of ≥ 1,024 tokens that several lines share, after content
 *   that differs between those lines (e.g. the user's message first and a long shared system or
 *   few-shot block after it);
 * - variable_head: a message whose last 1,024 tokens several lines share while its start differs
 *   (e.g. a per-line value at the start of a long system prompt).
 * Either way the shared part is not a shared prefix, so no line can be served it from the cache.
 * Memory is bounded: past MAX_TRACKED_LAYOUTS entries, those seen on one line only are dropped.
 * (A shared block split over several short messages is not detected.)
 */
export class PromptLayoutCheck {
  private readonly tracked = new Map<string, Tracked>();
  private readonly maxTracked: number;

  constructor(maxTracked = MAX_TRACKED_LAYOUTS) {
    this.maxTracked = maxTracked;
  }

  /** One item, at its 1-based input line, with its messages. */
  add(line: number, messages: readonly MessageLayout[]): void {
    messages.forEach((m, i) => {
      if (i > 0 && m.tokens >= LAYOUT_STATIC_TOKENS) this.note(`s\u0000${m.hash}`, 'static_after_variable', i, m, m.tokens, m.before, line);
      if (m.tail !== undefined) this.note(`t\u0000${m.tail}`, 'variable_head', i, m, LAYOUT_TAIL_TOKENS, m.hash, line);
    });
  }

  private note(key: string, kind: Tracked['kind'], index: number, m: MessageLayout, tokens: number, variant: string, line: number): void {
    let t = this.tracked.get(key);
    if (t === undefined) {
      if (this.tracked.size >= this.maxTracked) for (const [k, v] of this.tracked) if (v.count === 1) this.tracked.delete(k);
      this.tracked.set(key, (t = { kind, message: index + 1, role: m.role, tokens, count: 0, lines: [], variants: [] }));
    }
    t.count++;
    if (t.lines.length < LINES_KEPT) t.lines.push(line);
    if (t.variants.length < 2 && !t.variants.includes(variant)) t.variants.push(variant);
    // A static tail is at least LAYOUT_TAIL_TOKENS; it may be longer, which the tail alone cannot tell.
    if (kind === 'static_after_variable') t.tokens = m.tokens;
  }

  /** The layouts found, the most tokens at stake first. */
  findings(): LayoutFinding[] {
    const out: LayoutFinding[] = [];
    for (const t of this.tracked.values()) {
      if (t.count < 2 || t.variants.length < 2) continue;
      out.push({ kind: t.kind, message: t.message, role: t.role, tokens: t.tokens, lines: [...t.lines], count: t.count });
    }
    return out.sort((a, b) => b.count * b.tokens - a.count * a.tokens || a.lines[0]! - b.lines[0]!);
  }

  /** The findings as warnings naming the file and lines (at most a few). */
  warnings(file: string): string[] {
    return this.findings().slice(0, WARNINGS_KEPT).map((f) => layoutWarning(file, f));
  }
}

const int = (n: number): string => n.toLocaleString('en-US');

/** `input.jsonl lines 3, 8, 11 and 37 more: …` */
export function layoutWarning(file: string, f: LayoutFinding): string {
  const more = f.count - f.lines.length;
  const where = `${file} line${f.count === 1 ? '' : 's'} ${f.lines.join(', ')}${more > 0 ? ` and ${int(more)} more` : ''}`;
  const what = `message ${f.message} (${f.role || 'no role'})`;
  if (f.kind === 'static_after_variable') {
    return `${where}: ${what} is the same ${int(f.tokens)}-token text on ${int(f.count)} lines but comes after content that differs from line to line, so the provider's prompt cache cannot serve it (only a shared prefix is cached). Put the shared part first and the per-line part last.`;
  }
  return `${where}: ${what} ends with the same ${int(f.tokens)}+ tokens on ${int(f.count)} lines but starts differently (a per-line value before a long static text), so the provider's prompt cache cannot serve it. Move the per-line part after the static text.`;
}
