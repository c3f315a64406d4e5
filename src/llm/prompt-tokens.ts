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
  const ids: number[] = [];
  const contents: ContentSpan[] = [];
  const push = (xs: readonly number[]): void => {
    for (const x of xs) ids.push(x);
  };
  for (const p of parts) {
    ids.push(START);
    push(enc.encode(p.role));
    if (p.name !== undefined) {
      ids.push(NAME);
      push(enc.encode(p.name));
    }
    ids.push(SEP);
    const start = ids.length;
    push(enc.encode(p.text));
    contents.push({ start, end: ids.length });
    ids.push(END);
  }
  ids.push(PRIME, PRIME, PRIME);
  return { ids: Int32Array.from(ids), contents };
}

/** The bytes of ids[from, to): what the hashes of a prefix read. */
export const idBytes = (ids: Int32Array, from: number, to: number): Uint8Array => new Uint8Array(ids.buffer, ids.byteOffset + from * 4, (to - from) * 4);
