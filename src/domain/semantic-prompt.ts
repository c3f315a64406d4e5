// What of a chat request the semantic cache compares, and what must match exactly.
//
// - `text`: the conversation without its system prompt, whitespace folded (one space inside
//   a message, one newline between messages), case kept: the guard (semantic-guard.ts) needs
//   the capitals to find names, and the hit marker shows it to the user. A single user
//   message is its own text; a longer conversation is one "role: text" line per message.
// - `embeddingInput`: `text` case-folded, what is sent to the embeddings endpoint, so that a
//   change of case alone never moves the vector.
// - `scope`: canonical JSON of everything else that shapes the answer: the model, every
//   other body parameter the exact cache keys on (temperature, max_tokens, response_format,
//   tools…), and the system and developer messages. A hit only ever reuses an answer of the
//   same scope: a paraphrased question may share an answer, a changed instruction may not.
//
// Requests the cache cannot judge from text are not cacheable: other endpoints, non-text
// content (images, audio, files), tool calls and tool results. Pure.
import { ANSWER_NEUTRAL_FIELDS, canonicalJson } from './cache-key.ts';

export interface SemanticPrompt {
  /** The chat request's model. */
  model: string;
  text: string;
  embeddingInput: string;
  /** Canonical JSON; the store keeps its hash (cache/semantic-cache.ts). */
  scope: string;
}

export type SemanticPromptResult = { ok: true; prompt: SemanticPrompt } | { ok: false; reason: string };

/** Bumped when the meaning of text or scope changes, so old entries stop matching. */
export const SEMANTIC_PROMPT_VERSION = 1;

const INSTRUCTION_ROLES = new Set(['system', 'developer']);
const CONVERSATION_ROLES = new Set(['user', 'assistant']);

/** Runs of whitespace as one space, trimmed. */
export const foldWhitespace = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** The text of a message's content: a string, or text parts only. */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const parts: string[] = [];
  for (const part of content) {
    if (!part || typeof part !== 'object') return undefined;
    const p = part as { type?: unknown; text?: unknown };
    if (p.type !== 'text' || typeof p.text !== 'string') return undefined;
    parts.push(p.text);
  }
  return parts.join('\n');
}

export function semanticPrompt(url: string, body: unknown): SemanticPromptResult {
  if (url !== '/v1/chat/completions') return { ok: false, reason: `${url} is not a chat request` };
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { ok: false, reason: 'the body is not an object' };
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || !Array.isArray(b.messages)) return { ok: false, reason: 'the body has no model or messages' };
  const instructions: { role: string; text: string }[] = [];
  const turns: { role: string; text: string }[] = [];
  for (const m of b.messages as unknown[]) {
    const msg = (m ?? {}) as Record<string, unknown>;
    const role = String(msg.role);
    if (msg.tool_calls !== undefined || msg.function_call !== undefined || !(INSTRUCTION_ROLES.has(role) || CONVERSATION_ROLES.has(role))) {
      return { ok: false, reason: 'the conversation has tool calls or tool results' };
    }
    const text = contentText(msg.content);
    if (text === undefined) return { ok: false, reason: 'a message has content other than text' };
    // A message's name can change the answer ("you are talking to Ann"): it goes with the text.
    const who = typeof msg.name === 'string' ? `${role} (${msg.name})` : role;
    (INSTRUCTION_ROLES.has(role) ? instructions : turns).push({ role: who, text: foldWhitespace(text) });
  }
  if (turns.length === 0) return { ok: false, reason: 'the conversation has no user message' };
  const text = turns.length === 1 && turns[0]!.role === 'user' ? turns[0]!.text : turns.map((t) => `${t.role}: ${t.text}`).join('\n');
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) if (k !== 'messages' && !ANSWER_NEUTRAL_FIELDS.has(k)) params[k] = v;
  const scope = canonicalJson({ v: SEMANTIC_PROMPT_VERSION, url, params, instructions });
  return { ok: true, prompt: { model: b.model, text, embeddingInput: text.toLowerCase(), scope } };
}
