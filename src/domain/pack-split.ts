// Splitting a packed call's answer back into its items (request packing, --pack N): which
// answer is whose, and each item's share of the call's usage and cost. Shares follow the
// items' prompt tokens and add up exactly to the call: integer tokens by largest remainder,
// money by proportion with the last share taking the rounding.
import type { TokenTotals } from './run-types.ts';

/** `total` split in proportion to `weights` into integers that sum to it (largest remainder; ties to the earlier item). */
export function splitInteger(total: number, weights: readonly number[]): number[] {
  const n = weights.length;
  if (n === 0) return [];
  const sum = weights.reduce((a, w) => a + w, 0);
  // Without weights, equal shares.
  const w = sum > 0 ? weights : weights.map(() => 1);
  const wsum = sum > 0 ? sum : n;
  const exact = w.map((x) => (total * x) / wsum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, p) => a + p, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % n, left--) parts[order[k]!.i]!++;
  return parts;
}

/** An amount of money split in proportion to `weights`; the last share is what the others leave, so they sum to `total`. */
export function splitMoney(total: number, weights: readonly number[]): number[] {
  const n = weights.length;
  if (n === 0) return [];
  const sum = weights.reduce((a, w) => a + w, 0);
  const parts = weights.map((w) => (sum > 0 ? (total * w) / sum : total / n));
  parts[n - 1] = total - parts.slice(0, -1).reduce((a, p) => a + p, 0);
  return parts;
}

/** Each field of a call's usage split by `weights`. */
export function splitUsage(usage: TokenTotals, weights: readonly number[]): TokenTotals[] {
  const prompt = splitInteger(usage.prompt, weights);
  const cached = splitInteger(usage.cached, weights);
  const completion = splitInteger(usage.completion, weights);
  const reasoning = splitInteger(usage.reasoning, weights);
  return weights.map((_, i) => ({ prompt: prompt[i]!, cached: cached[i]!, completion: completion[i]!, reasoning: reasoning[i]! }));
}

export type PackAnswer = { ok: true; answers: unknown[] } | { ok: false; reason: string };

/**
 * The answers of a pack of `size` items by position (id k is item k−1), or why the answer
 * does not split cleanly: not JSON, not {results: [...]}, or an id missing, unknown or twice.
 */
export function readPackAnswer(content: unknown, size: number): PackAnswer {
  if (typeof content !== 'string') return { ok: false, reason: 'the answer has no text content (a refusal?)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return { ok: false, reason: 'the answer is not valid JSON (cut short?)' };
  }
  const results = (parsed as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) return { ok: false, reason: 'the answer has no results array' };
  const answers: unknown[] = new Array(size);
  const seen = new Set<number>();
  for (const r of results) {
    const id = (r as { id?: unknown } | null)?.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > size) return { ok: false, reason: `the answer has an unknown id ${JSON.stringify(id)}` };
    if (seen.has(id)) return { ok: false, reason: `the answer has id ${id} twice` };
    if (!Object.hasOwn(r as object, 'answer')) return { ok: false, reason: `the answer of id ${id} is missing` };
    seen.add(id);
    answers[id - 1] = (r as { answer: unknown }).answer;
  }
  if (seen.size !== size) {
    const missing = Array.from({ length: size }, (_, i) => i + 1).filter((id) => !seen.has(id));
    return { ok: false, reason: `the answer has no result for id${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` };
  }
  return { ok: true, answers };
}

/** The content an item's own answer would have had: the text itself, or the JSON of a structured answer. */
export const contentOfAnswer = (answer: unknown): string => (typeof answer === 'string' ? answer : JSON.stringify(answer));

/**
 * A chat.completion body for one item of a pack: the call's id, model and fingerprint, the
 * item's answer as the message, and its share of the usage.
 */
export function packedItemBody(call: Record<string, unknown>, content: string, usage: TokenTotals): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: call.id,
    object: 'chat.completion',
    created: call.created,
    model: call.model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: usage.prompt,
      completion_tokens: usage.completion,
      total_tokens: usage.prompt + usage.completion,
      prompt_tokens_details: { cached_tokens: usage.cached },
      completion_tokens_details: { reasoning_tokens: usage.reasoning },
    },
  };
  if (call.service_tier !== undefined) body.service_tier = call.service_tier;
  if (call.system_fingerprint !== undefined) body.system_fingerprint = call.system_fingerprint;
  return body;
}
