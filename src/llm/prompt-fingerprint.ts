// The prompt-cache fingerprint of one request, for staging and the estimate: its prefix
// checkpoints (domain/prompt-prefix.ts explains them; the first names the prefix group) and
// its messages' layout, hashed. Only prompts of ≥ 1,024 tokens get one: shorter prompts are
// never cached, and skipping them keeps staging as fast as before for short prompts.
import { createHash, type Hash } from 'node:crypto';
import {
  CACHE_MIN_TOKENS,
  CACHE_STEP_TOKENS,
  LAYOUT_TAIL_TOKENS,
  prefixPathOf,
  promptParts,
  type MessageLayout,
  type PrefixFingerprint,
  type PromptPart,
} from '../domain/prompt-prefix.ts';
import { certainlyUnder, chatPromptTokenIds, idBytes, type PromptTokenIds } from './prompt-tokens.ts';
import { countRequestPromptTokens } from './tokens.ts';

export interface PromptFingerprint {
  prefix: PrefixFingerprint;
  /** The prefix group: the hash of the model and the first 1,024 tokens. */
  group: string;
  /** The ordering path below the group (deeper checkpoints, cut short). */
  path: string;
  /** The messages, for the layout check. */
  layout: MessageLayout[];
}

/** A hash as stored: 16 bytes of SHA-256, base64url (22 characters). */
const short = (h: Hash): string => h.digest('base64url').slice(0, 22);

/**
 * The fingerprint of a request, or undefined when its prompt cannot be cached (not a chat
 * request, or under 1,024 tokens). `promptTokens` is the prompt's exact count when known.
 */
export function promptFingerprint(url: string, body: unknown, promptTokens?: number): PromptFingerprint | undefined {
  if (promptTokens !== undefined && promptTokens < CACHE_MIN_TOKENS) return undefined;
  const parts = promptParts(url, body);
  const model = (body as { model?: unknown } | undefined)?.model;
  if (parts === undefined || typeof model !== 'string') return undefined;
  const tokens = chatPromptTokenIds(model, parts);
  return tokens.ids.length < CACHE_MIN_TOKENS ? undefined : fingerprintOf(model, parts, tokens);
}

/**
 * A request's exact prompt tokens (as countRequestPromptTokens counts them) and its
 * fingerprint, tokenizing the prompt once: prompts that are certainly short are only counted.
 */
export function countAndFingerprint(url: string, body: { model: string; messages?: unknown; input?: unknown }): { promptTokens: number; fingerprint?: PromptFingerprint } {
  const parts = promptParts(url, body);
  if (parts === undefined || certainlyUnder(parts, CACHE_MIN_TOKENS)) return { promptTokens: countRequestPromptTokens(url, body) };
  const tokens = chatPromptTokenIds(body.model, parts);
  const promptTokens = tokens.ids.length;
  return promptTokens < CACHE_MIN_TOKENS ? { promptTokens } : { promptTokens, fingerprint: fingerprintOf(body.model, parts, tokens) };
}

function fingerprintOf(model: string, parts: readonly PromptPart[], { ids, contents }: PromptTokenIds): PromptFingerprint {
  // One running hash over model + tokens: a copy of it at a length is that prefix's hash.
  const running = createHash('sha256').update(model).update('\u0000');
  const at = (from: number, to: number): void => void running.update(idBytes(ids, from, to));
  const checkpoints: string[] = [];
  const layout: MessageLayout[] = [];
  let done = 0;
  let next = CACHE_MIN_TOKENS;
  const advanceTo = (pos: number): void => {
    while (next <= pos) {
      at(done, next);
      done = next;
      checkpoints.push(short(running.copy()));
      next += CACHE_STEP_TOKENS;
    }
    at(done, pos);
    done = pos;
  };
  parts.forEach((p, i) => {
    // The message starts right after the previous content's end marker.
    const start = i === 0 ? 0 : contents[i - 1]!.end + 1;
    advanceTo(start);
    const span = contents[i]!;
    const tokens = span.end - span.start;
    const m: MessageLayout = {
      role: p.role,
      tokens,
      hash: short(createHash('sha256').update(p.role).update('\u0000').update(p.text)),
      before: short(running.copy()),
    };
    if (tokens > LAYOUT_TAIL_TOKENS) m.tail = short(createHash('sha256').update(p.role).update('\u0000').update(idBytes(ids, span.end - LAYOUT_TAIL_TOKENS, span.end)));
    layout.push(m);
  });
  advanceTo(ids.length);
  const prefix: PrefixFingerprint = { checkpoints };
  return { prefix, group: checkpoints[0]!, path: prefixPathOf(prefix), layout };
}
