// A packed request (several numbered requests in one user message, with an answer schema
// {results: [{id, answer}]}) answered the way an instruction-following model answers it: one
// result per numbered request, whose answer is what this emulator gives that request sent
// alone (the same system prompt and parameters, the item's text as the user message, each
// answer's own token bound). This models a model following the instruction; a real model
// may not, which is why the client checks every id and re-sends a pack that does not split.
//
// The pack-drop fault (--pack-drop-rate) leaves one id out of that share of such answers,
// drawn from the emulator's seed and the request, so the same request is answered the same.
import { isTextAnswer, packAnswerSchemaOf, readPackUserMessage } from '../domain/pack-prompt.ts';
import { rngFromDigest, sha256 } from './random.ts';
import { structuredContent, type JsonSchemaFormat } from './structured-output.ts';

/** A request as sent alone, and what the emulator answers it with (chat.ts's generateCompletion). */
type Alone = { model: string; messages: unknown[]; max_tokens?: number };
type AnswerAlone = (req: Alone) => { content: string };

export interface PackDrop {
  rate: number;
  seed: number;
}

/** The JSON answer of a packed request, or undefined when the request is not a pack. */
export function packedContent(req: { model: string; messages: unknown }, format: JsonSchemaFormat, answerAlone: AnswerAlone, drop?: PackDrop): string | undefined {
  const answerSchema = packAnswerSchemaOf(format.schema);
  if (!answerSchema || !Array.isArray(req.messages) || req.messages.length === 0) return undefined;
  const last = req.messages[req.messages.length - 1] as { role?: unknown; content?: unknown };
  if (last?.role !== 'user' || typeof last.content !== 'string') return undefined;
  const read = readPackUserMessage(last.content);
  if (!read) return undefined;
  const prefix = req.messages.slice(0, -1);
  const results = read.items.map(({ id, text }) => {
    const alone: Alone = { model: req.model, messages: [...prefix, { role: 'user', content: text }] };
    if (read.answerTokens !== undefined) alone.max_tokens = read.answerTokens;
    const answer = isTextAnswer(answerSchema)
      ? answerAlone(alone).content
      : JSON.parse(structuredContent(alone, { name: format.name, schema: answerSchema, strict: format.strict ?? false }));
    return { id, answer };
  });
  if (drop && drop.rate > 0) {
    const rng = rngFromDigest(sha256(JSON.stringify(['pack-drop', drop.seed, req.model, req.messages])));
    if (rng() < drop.rate) results.splice(Math.floor(rng() * results.length), 1);
  }
  return JSON.stringify({ results });
}
