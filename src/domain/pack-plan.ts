// Request packing (--pack N): which items can share one chat call, and the packs they make.
// Items pack together when everything but their one user message is identical (model,
// parameters, system prompt, response format). A pack holds at most N items and stays
// within a token cap (the model's context and output limit, and --pack-max-tokens), counted
// as an upper bound: every item's whole prompt and output bound plus packing's own overhead.
import { modelWindow } from './model-context.ts';
import { PACK_INSTRUCTION_TOKENS, PACK_ITEM_OVERHEAD_TOKENS, PACK_RESULT_OVERHEAD_TOKENS, PACK_SCHEMA_NAME, packableText, packResultsSchema, packUserMessage } from './pack-prompt.ts';

/** What planning needs of an item: its request as it will be sent and its staged sizes. */
export interface PackCandidate {
  url: string;
  body: unknown;
  model: string;
  promptTokens: number;
  maxOutputTokens: number;
}

export interface PackLimits {
  /** Most items per call (--pack N). */
  maxItems: number;
  /** Most tokens per call, prompt plus output bound (--pack-max-tokens); the model's context when absent. */
  maxTokens?: number;
  /** The run's schema (--schema), used for items whose body carries no response_format of its own. */
  defaultSchema?: { name: string; schema: Record<string, unknown> };
}

/** What the items of one pack share, and the one text of each. */
interface PackShape {
  key: string;
  text: string;
  answer?: { name: string; schema: Record<string, unknown>; strict: boolean };
}

export interface Pack<T> {
  members: T[];
  /** The packed chat request. */
  body: Record<string, unknown>;
  /** What the rate limiter charges: prompt tokens plus the output bound, upper bounds. */
  chargeTokens: number;
  /** The schema of each answer; undefined for text answers. */
  answerSchema?: Record<string, unknown>;
}

// Parameters that change the shape of an answer beyond one message of text or JSON.
const UNPACKABLE = ['tools', 'tool_choice', 'functions', 'function_call', 'logprobs', 'top_logprobs', 'prediction', 'audio', 'modalities', 'stream'];

/** Keys sorted at every level, so equal requests give equal text. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/** How an item would pack, or undefined when it cannot (it is sent alone). */
export function packShapeOf(c: PackCandidate, defaultSchema?: PackLimits['defaultSchema']): PackShape | undefined {
  if (c.url !== '/v1/chat/completions' || !c.body || typeof c.body !== 'object') return undefined;
  const body = c.body as Record<string, unknown>;
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const last = messages[messages.length - 1] as Record<string, unknown>;
  if (!last || last.role !== 'user' || typeof last.content !== 'string' || Object.keys(last).length !== 2 || !packableText(last.content)) return undefined;
  const prefix = messages.slice(0, -1);
  if (prefix.some((m) => !m || typeof m !== 'object' || !['system', 'developer'].includes((m as { role?: unknown }).role as string))) return undefined;
  if (UNPACKABLE.some((k) => body[k] !== undefined && body[k] !== null && body[k] !== false)) return undefined;
  if (typeof body.n === 'number' && body.n !== 1) return undefined;
  let answer: PackShape['answer'];
  const rf = body.response_format as { type?: unknown; json_schema?: { name?: unknown; schema?: unknown; strict?: unknown } } | undefined | null;
  if (rf && rf.type === 'json_schema') {
    const js = rf.json_schema;
    if (!js || typeof js.name !== 'string' || !js.schema || typeof js.schema !== 'object') return undefined;
    // A reference to the schema's own root ("#") would point at the pack's root instead.
    if (/"\$ref":"#"/.test(JSON.stringify(js.schema))) return undefined;
    answer = { name: js.name, schema: js.schema as Record<string, unknown>, strict: js.strict === true };
  } else if (rf && rf.type !== 'text') return undefined;
  else if (defaultSchema) answer = { ...defaultSchema, strict: true };
  const { messages: _m, response_format: _rf, ...params } = body;
  const key = JSON.stringify(canonical([c.url, params, prefix, answer ?? null]));
  return answer ? { key, text: last.content, answer } : { key, text: last.content };
}

const outputOf = (c: PackCandidate): number => c.maxOutputTokens + PACK_RESULT_OVERHEAD_TOKENS;
const promptOf = (c: PackCandidate): number => c.promptTokens + PACK_ITEM_OVERHEAD_TOKENS;

/** The chat request of a pack: the shared parameters and system prompt once, the items numbered. */
export function packBody(members: readonly PackCandidate[], texts: readonly string[], answer: PackShape['answer']): Record<string, unknown> {
  const first = members[0]!.body as Record<string, unknown>;
  const { messages, response_format: _rf, ...params } = first;
  const prefix = (messages as unknown[]).slice(0, -1);
  // Every item has the same bound (same parameters): each answer keeps it, the call sums them.
  const boundKey = first.max_completion_tokens != null ? 'max_completion_tokens' : first.max_tokens != null ? 'max_tokens' : undefined;
  const perAnswer = boundKey ? (first[boundKey] as number) : undefined;
  const body: Record<string, unknown> = {
    ...params,
    messages: [...prefix, { role: 'user', content: packUserMessage(texts, perAnswer) }],
    response_format: {
      type: 'json_schema',
      json_schema: { name: answer?.name ?? PACK_SCHEMA_NAME, strict: answer ? answer.strict : true, schema: packResultsSchema(answer?.schema) },
    },
  };
  if (boundKey && perAnswer !== undefined) body[boundKey] = members.length * (perAnswer + PACK_RESULT_OVERHEAD_TOKENS) + PACK_RESULT_OVERHEAD_TOKENS;
  return body;
}

/**
 * Packs of two or more items (in input order within each kind of request), and the items
 * sent alone: those that cannot pack, and those left without a partner.
 */
export function planPacks<T>(items: readonly T[], view: (t: T) => PackCandidate, limits: PackLimits): { packs: Pack<T>[]; singles: T[] } {
  const singles: T[] = [];
  if (limits.maxItems < 2) return { packs: [], singles: [...items] };
  type Open = { members: T[]; texts: string[]; prompt: number; output: number; answer: PackShape['answer'] };
  const open = new Map<string, Open>();
  const closed: Open[] = [];
  for (const item of items) {
    const c = view(item);
    const shape = packShapeOf(c, limits.defaultSchema);
    if (!shape) {
      singles.push(item);
      continue;
    }
    const window = modelWindow(c.model);
    const cap = Math.min(window.context, limits.maxTokens ?? Infinity);
    let cur = open.get(shape.key);
    const fits = (o: Open): boolean =>
      o.members.length < limits.maxItems && o.prompt + promptOf(c) + o.output + outputOf(c) <= cap && o.output + outputOf(c) <= window.maxOutput;
    if (cur && !fits(cur)) {
      closed.push(cur);
      cur = undefined;
    }
    if (!cur) {
      cur = { members: [], texts: [], prompt: PACK_INSTRUCTION_TOKENS, output: PACK_RESULT_OVERHEAD_TOKENS, answer: shape.answer };
      open.set(shape.key, cur);
      // An item too large to share a call with anything goes alone.
      if (!fits(cur)) {
        open.delete(shape.key);
        singles.push(item);
        continue;
      }
    }
    cur.members.push(item);
    cur.texts.push(shape.text);
    cur.prompt += promptOf(c);
    cur.output += outputOf(c);
  }
  closed.push(...open.values());
  const packs: Pack<T>[] = [];
  for (const o of closed) {
    if (o.members.length < 2) {
      singles.push(...o.members);
      continue;
    }
    const body = packBody(o.members.map(view), o.texts, o.answer);
    const pack: Pack<T> = { members: o.members, body, chargeTokens: o.prompt + o.output };
    if (o.answer) pack.answerSchema = o.answer.schema;
    packs.push(pack);
  }
  return { packs, singles };
}
