// The classifier rule at dispatch (realtime path): an item that waits for its rating gets
// one call to the rule's cheap model, through the same provider client and rate limiter as
// every call, priced from its usage. The decision (model, body, reason) and the rating's
// cost are written to the item before its own call goes out, so a retry never rates (or
// pays) twice and the rating's spend counts even if the item is never done.
import type { PricingTable } from '../domain/pricing.ts';
import { costOfUsage } from '../domain/pricing.ts';
import { lastUserText, ruleNamed, type RouteRules } from '../domain/route-rules.ts';
import { CLASSIFIER_MAX_TOKENS, classifierRequest, classify, ratedReason, unclassified, type Classification } from '../domain/route-classifier.ts';
import type { ItemStore, PendingItem } from '../store/item-store.ts';
import type { CallOptions, ProviderClient } from './provider.ts';
import { countChatPromptTokens, countRequestPromptTokens, encoderFor } from './tokens.ts';

export interface ClassifierContext {
  runId: string;
  rules: RouteRules | undefined;
  store: ItemStore;
  provider: ProviderClient;
  pricing: PricingTable;
  /** The run's priority in the rate limiter. */
  priority: number;
}

export type RoutedItem =
  /** The item as it is to be sent; `costUsd`: what rating it cost just now (0 when it was rated before, or needs none). */
  | { kind: 'ready'; item: PendingItem; costUsd: number }
  | { kind: 'quota_exhausted'; message: string }
  /** Told to stop, or the provider looks down: the item stays pending, still to be rated. */
  | { kind: 'stopped' };

/** The X-Client-Request-Id of an item's rating call: its own, so the provider's counts tell the two apart. */
export const classifierRequestId = (customId: string): string => `${customId}#classify`;

/**
 * The item as it will be sent. Unchanged unless it waits for its classifier rule's rating;
 * with `fallbackModel` (the budget's yellow switch) the rating is skipped: the fallback
 * replaces whatever model it would pick.
 */
export async function routeAtDispatch(ctx: ClassifierContext, item: PendingItem, opts: CallOptions & { fallbackModel?: string }): Promise<RoutedItem> {
  const routing = item.routing;
  if (!routing?.classifierPending) return { kind: 'ready', item, costUsd: 0 };
  const c = routing.rule !== null && ctx.rules ? ruleNamed(ctx.rules, routing.rule)?.classifier : undefined;
  if (opts.fallbackModel !== undefined || c === undefined) {
    const why = opts.fallbackModel !== undefined ? `classifier skipped: the budget's fallback model ${opts.fallbackModel} is in force` : `classifier skipped: rule ${routing.rule} is not in the run's rules`;
    return { kind: 'ready', item: await settle(ctx, item, { model: item.model, reason: ratedReason(routing.reason, why) }, 0), costUsd: 0 };
  }
  const req = classifierRequest(c, lastUserText((item.body as { messages?: unknown }).messages));
  const outcome = await ctx.provider.call(
    { customId: classifierRequestId(item.customId), url: '/v1/chat/completions', body: req, chargeTokens: countChatPromptTokens(c.model, req.messages) + CLASSIFIER_MAX_TOKENS, priorAttempts: 0, priority: ctx.priority },
    opts,
  );
  if (outcome.kind === 'quota_exhausted') return { kind: 'quota_exhausted', message: outcome.message };
  if (outcome.kind === 'interrupted' || outcome.kind === 'unavailable') return { kind: 'stopped' };
  let decision: Classification;
  let costUsd = 0;
  if (outcome.kind === 'succeeded') {
    const u = outcome.usage;
    costUsd = costOfUsage(ctx.pricing, c.model, { promptTokens: u.prompt, cachedTokens: u.cached, completionTokens: u.completion, reasoningTokens: u.reasoning });
    const content = (outcome.body as { choices?: { message?: { content?: unknown } }[] } | undefined)?.choices?.[0]?.message?.content;
    decision = classify(c, typeof content === 'string' ? content : '');
  } else {
    decision = unclassified(c, outcome.error.code);
  }
  return { kind: 'ready', item: await settle(ctx, item, { model: decision.model, reason: ratedReason(routing.reason, decision.reason) }, costUsd), costUsd };
}

/** Records the decision on the item (model, body, tokens, reason, the rating's cost) and returns it as it is now. */
async function settle(ctx: ClassifierContext, item: PendingItem, d: { model: string; reason: string }, costUsd: number): Promise<PendingItem> {
  const body = d.model === item.model ? item.body : { ...(item.body as Record<string, unknown>), model: d.model };
  // Tokens counted again only when the new model's tokenizer differs.
  const promptTokens = encoderFor(d.model) === encoderFor(item.model) ? item.promptTokens : countRequestPromptTokens(item.url, body as { model: string });
  await ctx.store.recordClassifications(ctx.runId, [{ customId: item.customId, model: d.model, bodyJson: JSON.stringify(body), promptTokens, reason: d.reason, costUsd }]);
  const routing = { ...item.routing!, reason: d.reason, classifierPending: false, classifierCostUsd: item.routing!.classifierCostUsd + costUsd };
  return { ...item, model: d.model, body, promptTokens, routing };
}

/** What an item's rating calls cost so far: part of what its result records. */
export const classifierCostOf = (item: PendingItem): number => item.routing?.classifierCostUsd ?? 0;
