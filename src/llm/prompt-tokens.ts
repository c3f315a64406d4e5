// A chat prompt as the sequence of tokens the provider bills and caches, in order: per
// message its framing, role (and name) and content, then the tokens that prime the reply.
// Its length is exactly countChatPromptTokens (tokens.ts): framing tokens are stand-ins
// (negative ids no text encodes to), real text is encoded with the model's own encoding.
// Shared by the emulator's prompt cache and by the fingerprints of staging and the estimate.
import type { PromptPart } from '../domain/prompt-prefix.ts';
import { encoderFor } from './tokens.ts';

const START = -1;
const NAME = -2;
const SEP = -3;
const END = -4;
const PRIME = -5;

/** Where a message's content lies in the sequence: [start, end). */
export interface ContentSpan {
  start: number;
  end: number;
}

export interface PromptTokenIds {
  ids: Int32Array;
  /** Per message, its content's span (the rest of a message is framing, role and name). */
  contents: ContentSpan[];
}

/** The prompt's tokens in billing order; ids.length === countChatPromptTokens(model, messages). */
export function chatPromptTokenIds(model: string, parts: readonly PromptPart[]): PromptTokenIds {
  const enc = encoderFor(model);
  const encoded = parts.map((p) => ({ role: enc.encode(p.role), name: p.name === undefined ? undefined : enc.encode(p.name), text: enc.encode(p.text) }));
  let n = 3;
  for (const e of encoded) n += 3 + e.role.length + e.text.length + (e.name === undefined ? 0 : 1 + e.name.length);
  const ids = new Int32Array(n);
  const contents: ContentSpan[] = [];
  let at = 0;
  const put = (xs: readonly number[]): void => {
    ids.set(xs, at);
    at += xs.length;
  };
  for (const e of encoded) {
    ids[at++] = START;
    put(e.role);
    if (e.name !== undefined) {
      ids[at++] = NAME;
      put(e.name);
    }
    ids[at++] = SEP;
    const start = at;
    put(e.text);
    contents.push({ start, end: at });
    ids[at++] = END;
  }
  ids.fill(PRIME, at);
  return { ids, contents };
}

/**
 * Whether a prompt is certainly under `tokens` without tokenizing it: a token is at least one
 * UTF-8 byte, and a UTF-16 code unit at most three, so text of c code units has at most 3c
 * tokens (plus 4 of framing per message and 3 to prime the reply).
 */
export function certainlyUnder(parts: readonly PromptPart[], tokens: number): boolean {
  let most = 3;
  for (const p of parts) most += 4 + 3 * (p.role.length + p.text.length + (p.name?.length ?? 0));
  return most < tokens;
}

/** The bytes of ids[from, to): what the hashes of a prefix read. */
export const idBytes = (ids: Int32Array, from: number, to: number): Uint8Array => new Uint8Array(ids.buffer, ids.byteOffset + from * 4, (to - from) * 4);
