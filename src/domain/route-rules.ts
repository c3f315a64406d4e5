// Model routing (--route FILE): the rules file's schema and the first-match evaluator.
// A rule matches an item on metadata.feature, its prompt-token count, a regex on its last
// user message, a custom_id prefix and/or a percentage (a canary), all of which must hold;
// the first rule that matches sends the item to its model and/or path (realtime or batch,
// in hybrid mode), or to a classifier (a cheap model rates the item, route-classifier.ts).
// Pure: the canary's bucket is a hash computed here, so reruns route every item the same.
import { hash32 } from './hash32.ts';
import { z } from 'zod';
import type { Route, RunMode } from './run-types.ts';
import { priceFor, type PricingTable } from './pricing.ts';

/** At most this many rules: the parsed rules travel in RunConfig, which stays small. */
export const MAX_RULES = 200;

// A label names a classifier answer: a plain word, so a model can say it back.
const LABEL = /^[A-Za-z0-9_-]{1,40}$/;

const text = z.string().min(1);

/** Flags that keep a regex a pure test: no g or y (they make RegExp.test stateful). */
const REGEX_FLAGS = /^(?!.*(.).*\1)[imsu]*$/;

const matchSchema = z
  .strictObject({
    /** metadata.feature equals this (or one of these). */
    feature: z.union([text, z.array(text).min(1)]).optional(),
    /** Prompt tokens (of the line as written, its own model's tokenizer) at least / at most this. */
    min_prompt_tokens: z.number().int().nonnegative().optional(),
    max_prompt_tokens: z.number().int().nonnegative().optional(),
    /** A JavaScript regular expression tested against the text of the last user message. */
    regex: text.max(2000).optional(),
    regex_flags: z.string().regex(REGEX_FLAGS, 'flags may be i, m, s and u, each at most once').optional(),
    custom_id_prefix: text.optional(),
    /** Only this share of the items that meet the other conditions (a canary): 0 < percent ≤ 100. */
    percent: z.number().gt(0).max(100).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.min_prompt_tokens !== undefined && m.max_prompt_tokens !== undefined && m.min_prompt_tokens > m.max_prompt_tokens) {
      ctx.addIssue({ code: 'custom', path: ['max_prompt_tokens'], message: `must be at least min_prompt_tokens (${m.min_prompt_tokens})` });
    }
    if (m.regex !== undefined) {
      try {
        new RegExp(m.regex, m.regex_flags ?? '');
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['regex'], message: `invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}` });
      }
    }
  });

const classifierSchema = z
  .strictObject({
    /** The cheap model that rates each item. */
    model: text,
    /** The system prompt of the rating call; the default asks for one of the labels (route-classifier.ts). */
    prompt: text.max(20_000).optional(),
    /** Each answer the classifier may give, and the model it sends the item to. */
    answers: z.record(z.string().regex(LABEL, 'an answer is a word of letters, digits, - or _ (at most 40)'), text),
    /** The answer assumed when the classifier fails or says something else; the last answer listed by default. */
    otherwise: text.optional(),
    /** The item's last user message is cut to this many characters for the rating call. */
    max_input_chars: z.number().int().min(100).max(200_000).optional(),
  })
  .superRefine((c, ctx) => {
    const labels = Object.keys(c.answers);
    if (labels.length < 2) ctx.addIssue({ code: 'custom', path: ['answers'], message: 'needs at least two answers, e.g. {simple: gpt-4.1-mini, complex: gpt-4.1}' });
    if (c.otherwise !== undefined && !labels.includes(c.otherwise)) {
      ctx.addIssue({ code: 'custom', path: ['otherwise'], message: `"${c.otherwise}" is not one of the answers (${labels.join(', ')})` });
    }
  });

const ruleSchema = z
  .strictObject({
    /** Recorded with every item it routes; `rules[i]` when absent. */
    name: text.max(100).optional(),
    /** Every condition given must hold; no `match` matches every item (a catch-all). */
    match: matchSchema.optional(),
    model: text.optional(),
    route: z.enum(['realtime', 'batch']).optional(),
    classifier: classifierSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.model === undefined && r.route === undefined && r.classifier === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a rule needs a target: model, route or classifier' });
    }
    if (r.model !== undefined && r.classifier !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['classifier'], message: 'a rule has either a model or a classifier that picks one, not both' });
    }
    if (r.classifier !== undefined && r.route === 'batch') {
      ctx.addIssue({ code: 'custom', path: ['route'], message: "a classifier rule's items are rated when they are dispatched on the realtime path: route must be realtime (or left out)" });
    }
  });

export const routeRulesSchema = z
  .strictObject({
    version: z.literal(1).optional(),
    rules: z.array(ruleSchema).min(1).max(MAX_RULES),
  })
  .superRefine(
    (f, ctx) => {
      const seen = new Map<string, number>();
      (Array.isArray(f.rules) ? f.rules : []).forEach((r, i) => {
        const name = r && typeof r === 'object' && (typeof r.name === 'string' || r.name === undefined) ? ruleName(r, i) : undefined;
        if (name === undefined) return;
        const first = seen.get(name);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `"${name}" is already the name of rules[${first}]` });
        else seen.set(name, i);
      });
    },
    // Also when other rules have problems: every problem is shown at once.
    { when: (payload) => payload.value !== null && typeof payload.value === 'object' },
  );

export type RouteRules = z.infer<typeof routeRulesSchema>;
export type RouteRule = RouteRules['rules'][number];
export type RouteMatch = NonNullable<RouteRule['match']>;
export type ClassifierRule = NonNullable<RouteRule['classifier']>;

/** A rule's name as items record it. */
export const ruleName = (r: Pick<RouteRule, 'name'>, index: number): string => r.name ?? `rules[${index}]`;

/** What routing looks at on an item (chat requests; embeddings are not routed). */
export interface RouteSubject {
  customId: string;
  feature?: string;
  /** Prompt tokens of the line as written, with its own model's tokenizer. */
  promptTokens: number;
  /** Text of the last user message ('' when none). */
  lastUserMessage: string;
}

/** What the rules decided for one item. */
export interface RouteDecision {
  /** The matching rule's name and index; null when no rule matched. */
  rule: string | null;
  ruleIndex: number | null;
  /** Why, in words: "feature=summary · canary 5% (bucket 3.10)". */
  reason: string;
  /** The model to call; absent: the line's own. */
  model?: string;
  /** The path the rule asks for (applies in hybrid mode). */
  route?: Route;
  /** A classifier picks the model at dispatch. */
  classifier?: ClassifierRule;
}


/** An item's canary bucket for a rule, in [0, 100): the same for the same custom_id and rule on every run. */
export const canaryBucket = (customId: string, rule: string): number => (hash32(`${customId}\u0000${rule}`) / 2 ** 32) * 100;

// Compiled regexes, per rules object (a staging thread gets its own copy of the rules).
const compiled = new WeakMap<RouteRule, RegExp>();
function regexOf(r: RouteRule): RegExp | undefined {
  const m = r.match;
  if (m?.regex === undefined) return undefined;
  let re = compiled.get(r);
  if (!re) compiled.set(r, (re = new RegExp(m.regex, m.regex_flags ?? '')));
  return re;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** The conditions of rule `r` that `s` meets, in words; undefined when one fails. */
function matches(r: RouteRule, name: string, s: RouteSubject): string[] | undefined {
  const m = r.match;
  if (!m) return ['every item'];
  const why: string[] = [];
  if (m.feature !== undefined) {
    const features = Array.isArray(m.feature) ? m.feature : [m.feature];
    if (s.feature === undefined || !features.includes(s.feature)) return undefined;
    why.push(`feature=${s.feature}`);
  }
  if (m.custom_id_prefix !== undefined) {
    if (!s.customId.startsWith(m.custom_id_prefix)) return undefined;
    why.push(`custom_id^=${m.custom_id_prefix}`);
  }
  if (m.min_prompt_tokens !== undefined || m.max_prompt_tokens !== undefined) {
    if (m.min_prompt_tokens !== undefined && s.promptTokens < m.min_prompt_tokens) return undefined;
    if (m.max_prompt_tokens !== undefined && s.promptTokens > m.max_prompt_tokens) return undefined;
    const lo = m.min_prompt_tokens !== undefined ? `≥ ${fmt(m.min_prompt_tokens)}` : '';
    const hi = m.max_prompt_tokens !== undefined ? `≤ ${fmt(m.max_prompt_tokens)}` : '';
    why.push(`prompt ${fmt(s.promptTokens)} tokens ${[lo, hi].filter(Boolean).join(' and ')}`);
  }
  const re = regexOf(r);
  if (re) {
    if (!re.test(s.lastUserMessage)) return undefined;
    why.push(`last user message ~ /${m.regex}/${m.regex_flags ?? ''}`);
  }
  if (m.percent !== undefined) {
    const bucket = canaryBucket(s.customId, name);
    if (bucket >= m.percent) return undefined;
    why.push(`canary ${m.percent}% (bucket ${bucket.toFixed(2)})`);
  }
  return why.length > 0 ? why : ['every item'];
}

/** The first rule that matches the item, or none: the line keeps its own model. */
export function evaluateRoute(rules: RouteRules, s: RouteSubject): RouteDecision {
  for (let i = 0; i < rules.rules.length; i++) {
    const r = rules.rules[i]!;
    const name = ruleName(r, i);
    const why = matches(r, name, s);
    if (!why) continue;
    const d: RouteDecision = { rule: name, ruleIndex: i, reason: why.join(' · ') };
    if (r.model !== undefined) d.model = r.model;
    if (r.route !== undefined) d.route = r.route;
    if (r.classifier !== undefined) d.classifier = r.classifier;
    return d;
  }
  return { rule: null, ruleIndex: null, reason: "no rule matched: the line's own model" };
}

/**
 * The path of an item: in hybrid mode a matched rule's `route` decides (a classifier rule's
 * items go realtime, where they are rated), else `otherwise` (metadata.priority "urgent" and
 * --urgent-if, routing.ts); in realtime and batch mode the mode decides.
 */
export function pathOf(mode: RunMode, d: { route?: Route; classifier?: unknown }, otherwise: () => Route): Route {
  if (mode !== 'hybrid') return mode;
  if (d.classifier) return 'realtime';
  return d.route ?? otherwise();
}

/** Every model the rules may send an item to, classifiers' included (each must have a price). */
export function modelsOf(rules: RouteRules): string[] {
  const out = new Set<string>();
  for (const r of rules.rules) {
    if (r.model !== undefined) out.add(r.model);
    if (r.classifier) {
      out.add(r.classifier.model);
      for (const m of Object.values(r.classifier.answers)) out.add(m);
    }
  }
  return [...out].sort();
}

/**
 * What makes rules unusable for a run, or undefined: a classifier rule in batch mode (its
 * items are rated on the realtime path), or a model the pricing table has no price for.
 */
export function routeRulesProblem(rules: RouteRules, mode: RunMode, pricing: PricingTable): string | undefined {
  const classifier = rules.rules.findIndex((r) => r.classifier !== undefined);
  if (mode === 'batch' && classifier >= 0) {
    return `${ruleName(rules.rules[classifier]!, classifier)} is a classifier rule: its items are rated when they are dispatched on the realtime path, which --mode batch has none of. Use --mode hybrid (its items go realtime) or realtime`;
  }
  const unpriced = modelsOf(rules).filter((m) => {
    try {
      priceFor(pricing, m);
      return false;
    } catch {
      return true;
    }
  });
  if (unpriced.length > 0) {
    return `no price for ${unpriced.map((m) => `"${m}"`).join(', ')} in pricing table ${pricing.version}; the budget could not be kept. Add ${unpriced.length === 1 ? 'it' : 'them'} with --pricing FILE`;
  }
  return undefined;
}

/** The rule named `name`, or undefined. */
export function ruleNamed(rules: RouteRules, name: string): RouteRule | undefined {
  return rules.rules.find((r, i) => ruleName(r, i) === name);
}

/** Text of the last user message of a chat request ('' when none): what `match.regex` tests. */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      return m.content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
    }
    return '';
  }
  return '';
}
