// The static routing rules applied to one parsed line: the model it goes to, its body with
// that model, its prompt tokens counted with that model's tokenizer, and why. Used by staging
// (prepare-line.ts) and by `estimate` for the rules' model mix. No I/O.
import type { Route } from '../domain/run-types.ts';
import type { ParsedLine, RequestBody } from '../domain/schemas.ts';
import { evaluateRoute, lastUserText, type RouteRules } from '../domain/route-rules.ts';
import { CLASSIFIER_MAX_TOKENS, CLASSIFIER_PENDING, classifierRequest, otherwiseModel } from '../domain/route-classifier.ts';
import { countChatPromptTokens, countRequestPromptTokens, encoderFor } from '../llm/tokens.ts';

/** A line as the rules send it. */
export interface RoutedLine {
  /** The model the request goes to (for a classifier rule: the one it waits with, its `otherwise` answer's). */
  model: string;
  /** The body with that model (the line's own object when unchanged). */
  body: RequestBody;
  /** Prompt tokens with that model's tokenizer. */
  promptTokens: number;
  /** The path the matched rule asks for (hybrid mode), when it names one. */
  route?: Route;
  /** The matched rule's name; null when none matched. */
  rule: string | null;
  reason: string;
  /** A classifier rule: the rating call to make at dispatch, and its upper-bound size. */
  classifier?: { model: string; promptTokens: number; outputTokens: number };
}

/** Counts a chat prompt's tokens as countChatPromptTokens does (a caller may remember repeated texts). */
export type ChatCounter = (model: string, messages: { role: string; content: string }[]) => number;

/**
 * Applies the rules to a parsed line. `ownPromptTokens` is the line's prompt tokens with its
 * own model (counted when not given): what `min/max_prompt_tokens` compare. Embeddings lines
 * are not routed (a chat model cannot answer them). `countChat` counts a classifier rule's
 * rating prompt (the estimate passes one that remembers the rule's system prompt).
 */
export function routeParsedLine(rules: RouteRules, line: ParsedLine, ownPromptTokens?: number, countChat: ChatCounter = countChatPromptTokens): RoutedLine {
  const own = ownPromptTokens ?? countRequestPromptTokens(line.url, line.body);
  if (line.url !== '/v1/chat/completions') return { model: line.body.model, body: line.body, promptTokens: own, rule: null, reason: 'embeddings are not routed' };
  const lastUserMessage = lastUserText(line.body.messages);
  const subject = { customId: line.customId, promptTokens: own, lastUserMessage, ...(line.feature !== undefined ? { feature: line.feature } : {}) };
  const d = evaluateRoute(rules, subject);
  const model = d.classifier ? otherwiseModel(d.classifier) : (d.model ?? line.body.model);
  const routed: RoutedLine = { model, body: line.body, promptTokens: own, rule: d.rule, reason: d.reason };
  if (model !== line.body.model) {
    routed.body = { ...line.body, model };
    // Another tokenizer counts the same prompt differently: the price is the routed model's.
    if (encoderFor(model) !== encoderFor(line.body.model)) routed.promptTokens = countRequestPromptTokens(line.url, routed.body);
  }
  if (d.route !== undefined) routed.route = d.route;
  if (d.classifier) {
    const req = classifierRequest(d.classifier, lastUserMessage);
    routed.classifier = { model: req.model, promptTokens: countChat(req.model, req.messages), outputTokens: CLASSIFIER_MAX_TOKENS };
    routed.reason = `${d.reason} → ${CLASSIFIER_PENDING}`;
  }
  return routed;
}
