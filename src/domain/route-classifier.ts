// The classifier rule's call and answer, pure: the request a cheap model gets to rate an item
// (its prompt, and Structured Outputs so the answer is one of the labels), and how its answer
// becomes a model and a reason. src/llm/classifier.ts makes the call.
import type { ClassifierRule } from './route-rules.ts';

/** The rating needs a few tokens: {"label":"complex"}. */
export const CLASSIFIER_MAX_TOKENS = 20;
export const DEFAULT_MAX_INPUT_CHARS = 8000;

/** How an item's reason ends while its rating is still to be made (at dispatch). */
export const CLASSIFIER_PENDING = 'classifier pending';

/** The reason once rated: the rule's match, then what the rating decided. */
export const ratedReason = (stagedReason: string, decided: string): string => `${stagedReason.replace(new RegExp(` → ${CLASSIFIER_PENDING}$`), '')} → ${decided}`;

/** The default system prompt of the rating call, for the rule's labels. */
export function defaultClassifierPrompt(labels: readonly string[]): string {
  return [
    'You decide which model should answer a request, to keep costs down without losing quality.',
    'Rate the request in the user message.',
    'Answer "simple" when a small, fast model answers it well: short factual answers, classification, extraction, rephrasing, a short summary.',
    'Answer "complex" when it needs careful reasoning, several steps, nuanced or long writing, code, or expert knowledge.',
    `Answer with exactly one of: ${labels.join(', ')}.`,
  ].join('\n');
}

export const labelsOf = (c: ClassifierRule): string[] => Object.keys(c.answers);

/** The answer assumed when the classifier fails or says something else: `otherwise`, or the last label. */
export const otherwiseLabel = (c: ClassifierRule): string => c.otherwise ?? labelsOf(c)[labelsOf(c).length - 1]!;

/** The model an item waits with until it is rated (and goes to when the rating fails). */
export const otherwiseModel = (c: ClassifierRule): string => c.answers[otherwiseLabel(c)]!;

/** The rating call: the rule's prompt as system message, the item's last user message (cut) as user message. */
export function classifierRequest(c: ClassifierRule, lastUserMessage: string): { model: string; messages: { role: string; content: string }[]; max_tokens: number; temperature: number; response_format: unknown } {
  const labels = labelsOf(c);
  const input = lastUserMessage.slice(0, c.max_input_chars ?? DEFAULT_MAX_INPUT_CHARS);
  return {
    model: c.model,
    messages: [
      { role: 'system', content: c.prompt ?? defaultClassifierPrompt(labels) },
      { role: 'user', content: input },
    ],
    max_tokens: CLASSIFIER_MAX_TOKENS,
    temperature: 0,
    // Structured Outputs: the provider holds the answer to the schema, so it is one of the labels.
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'route_label',
        strict: true,
        schema: { type: 'object', properties: { label: { type: 'string', enum: labels } }, required: ['label'], additionalProperties: false },
      },
    },
  };
}

/** What a rating decided. */
export interface Classification {
  label: string;
  model: string;
  /** "classifier: simple", or why the label was assumed. */
  reason: string;
}

/** The label in an answer: `{"label": …}` as the schema asks, else a plain word that is a label. */
function labelIn(c: ClassifierRule, content: string): string | undefined {
  const labels = labelsOf(c);
  try {
    const v = JSON.parse(content) as { label?: unknown };
    if (v && typeof v === 'object' && typeof v.label === 'string' && labels.includes(v.label)) return v.label;
  } catch {
    /* not JSON: a model without Structured Outputs may answer the word alone */
  }
  const word = /^[\s"'`*]*([A-Za-z0-9_-]+)/.exec(content)?.[1]?.toLowerCase();
  return labels.find((l) => l.toLowerCase() === word);
}

const shorten = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** The model a classifier's answer (the message content) sends the item to, and why. */
export function classify(c: ClassifierRule, content: string): Classification {
  const label = labelIn(c, content);
  if (label !== undefined) return { label, model: c.answers[label]!, reason: `classifier: ${label}` };
  const fallback = otherwiseLabel(c);
  return { label: fallback, model: c.answers[fallback]!, reason: `classifier answered ${JSON.stringify(shorten(content))}, not a label: ${fallback} assumed` };
}

/** When the rating call failed for good (a 4xx, or retries spent): the otherwise answer. */
export function unclassified(c: ClassifierRule, why: string): Classification {
  const label = otherwiseLabel(c);
  return { label, model: c.answers[label]!, reason: `classifier failed (${why}): ${label} assumed` };
}
