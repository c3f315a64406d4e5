// Request packing in a realtime chunk (--pack N): which pending items share a call
// (domain/pack-plan.ts), one packed call, and its answer split back into the items' results
// (domain/pack-split.ts). A clean split is recorded in one transaction, so a crash leaves the
// whole pack done or the whole pack pending. A pack that does not split cleanly (an id
// missing, unknown or twice, invalid JSON, an answer outside the schema, or a failed call)
// is handed back to be sent item by item, with what its call cost shared out over them.
import { checkAnswer } from '../llm/answer-check.ts';
import { planPacks, type Pack } from '../domain/pack-plan.ts';
import { contentOfAnswer, packedItemBody, readPackAnswer, splitMoney, splitUsage } from '../domain/pack-split.ts';
import { costOfUsage, promptCacheSavingUsd, type PricingTable } from '../domain/pricing.ts';
import type { RunConfig, TokenTotals } from '../domain/run-types.ts';
import type { CallOptions, ProviderClient } from '../llm/provider.ts';
import type { ItemResult, ItemStore, PendingItem } from '../store/item-store.ts';
import { cachePolicy, DEFAULT_CACHE_TTL_MS } from '../domain/exact-cache.ts';
import { exactCacheKey } from '../cache/exact-key.ts';
import { crashPoint } from './crash-points.ts';

/** An item's share of a pack call that did not split: added to the item's own result. */
export interface PackShare {
  usage: TokenTotals;
  costUsd: number;
  promptCacheSavedUsd: number;
}

export type PackOutcome =
  /** Every item answered, recorded together. */
  | { kind: 'split'; results: ItemResult[]; costUsd: number }
  /** Send the items alone; `shares` hold what the pack's call cost (none when it failed). */
  | { kind: 'unsplit'; reason: string; costUsd: number; shares: Map<string, PackShare> }
  | { kind: 'quota_exhausted' }
  /** Stopped, or the provider looks down: the items stay pending. */
  | { kind: 'not_done' };

/**
 * Items the exact cache should handle alone: those it holds an answer for, and requests that
 * repeat within the chunk (its single-flight sends them once). Packing would pay for them again.
 */
async function forTheCache(store: ItemStore, config: RunConfig, items: readonly PendingItem[], request: AsSent): Promise<Set<PendingItem>> {
  const policy = cachePolicy(config.cache);
  if (!policy.dedupe || items.length === 0) return new Set();
  const keys = items.map((p) => exactCacheKey(p.url, request(p).body));
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  const found = await store.cacheLookup([...counts.keys()], { runId: config.runId, includeShared: policy.useShared, minCreatedAt: Date.now() - (config.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS) });
  return new Set(items.filter((_, i) => found.has(keys[i]!) || counts.get(keys[i]!)! > 1));
}

/** An item's request as it will be sent (realtime.ts's requestOf: with the run's fallback model once it switched). */
type AsSent = (item: PendingItem) => { body: unknown; model: string };

/** The packs of a chunk's pending items and the items sent alone; every item is in exactly one. */
export async function planChunkPacks(store: ItemStore, config: RunConfig, pending: readonly PendingItem[], request: AsSent): Promise<{ packs: Pack<PendingItem>[]; singles: PendingItem[] }> {
  if (config.pack === undefined || config.pack < 2) return { packs: [], singles: [...pending] };
  // Items still to be rated (--route classifier), items of a prompt-prefix group (long shared prompts) and the exact cache's go alone.
  const candidates = pending.filter((p) => !p.routing?.classifierPending && p.prefixGroup === undefined);
  const cached = await forTheCache(store, config, candidates, request);
  const packable = candidates.filter((p) => !cached.has(p));
  const packableSet = new Set(packable);
  const alone = pending.filter((p) => !packableSet.has(p));
  const limits = { maxItems: config.pack, ...(config.packMaxTokens !== undefined ? { maxTokens: config.packMaxTokens } : {}), ...(config.responseSchema ? { defaultSchema: config.responseSchema } : {}) };
  const plan = planPacks(packable, (p) => ({ ...request(p), url: p.url, promptTokens: p.promptTokens, maxOutputTokens: p.maxOutputTokens }), limits);
  return { packs: plan.packs, singles: [...alone, ...plan.singles] };
}

/**
 * Why a pack's answer does not fit the schema its request asked for, or undefined when it does
 * (or when ajv cannot compile that schema: the ids are still checked, and the provider enforced it).
 */
function packAnswerProblem(requestBody: unknown, responseBody: unknown): string | undefined {
  try {
    const check = checkAnswer(requestBody, responseBody);
    return check.ok ? undefined : check.message;
  } catch {
    return undefined;
  }
}

/** An item's result with its share of an unsplit pack's call added. */
export function withPackShare(result: ItemResult, share: PackShare | undefined): ItemResult {
  if (!share) return result;
  const u = result.usage;
  return {
    ...result,
    usage: u ? { prompt: u.prompt + share.usage.prompt, cached: u.cached + share.usage.cached, completion: u.completion + share.usage.completion, reasoning: u.reasoning + share.usage.reasoning } : share.usage,
    costUsd: (result.costUsd ?? 0) + share.costUsd,
    promptCacheSavedUsd: (result.promptCacheSavedUsd ?? 0) + share.promptCacheSavedUsd,
  };
}

export interface PackCallDeps {
  provider: ProviderClient;
  pricing: PricingTable;
  store: ItemStore;
  runId: string;
  priority: number;
}

/** One packed call, split back (and recorded) or handed back. */
export async function callPack(deps: PackCallDeps, pack: Pack<PendingItem>, opts: CallOptions): Promise<PackOutcome> {
  const model = String(pack.body.model);
  const first = pack.members[0]!;
  const outcome = await deps.provider.call(
    {
      // The pack's calls are counted under its first item's id with a mark, never as that item's own call.
      customId: `pack:${first.customId}`,
      url: first.url,
      body: pack.body,
      chargeTokens: pack.chargeTokens,
      priorAttempts: 0,
      priority: deps.priority,
    },
    opts,
  );
  if (outcome.kind === 'quota_exhausted') return { kind: 'quota_exhausted' };
  if (outcome.kind === 'interrupted' || outcome.kind === 'unavailable') return { kind: 'not_done' };
  if (outcome.kind === 'failed') return { kind: 'unsplit', reason: `the packed call failed: ${outcome.error.message}`, costUsd: 0, shares: new Map() };

  const usage = outcome.usage;
  const costUsd = costOfUsage(deps.pricing, model, { promptTokens: usage.prompt, cachedTokens: usage.cached, completionTokens: usage.completion, reasoningTokens: usage.reasoning });
  const savedUsd = promptCacheSavingUsd(deps.pricing, model, usage.cached);
  const weights = pack.members.map((m) => m.promptTokens);
  const usages = splitUsage(usage, weights);
  const costs = splitMoney(costUsd, weights);
  const saved = splitMoney(savedUsd, weights);

  const body = outcome.body as { choices?: { message?: { content?: unknown } }[] } & Record<string, unknown>;
  const content = body?.choices?.[0]?.message?.content;
  let read = readPackAnswer(content, pack.members.length);
  if (read.ok) {
    // The pack's answer checked against the schema its request asked for, as any answer is (llm/answer-check.ts).
    const problem = packAnswerProblem(pack.body, outcome.body);
    if (problem !== undefined) read = { ok: false, reason: problem };
  }
  if (!read.ok) {
    const shares = new Map(pack.members.map((m, i) => [m.customId, { usage: usages[i]!, costUsd: costs[i]!, promptCacheSavedUsd: saved[i]! }]));
    return { kind: 'unsplit', reason: read.reason, costUsd, shares };
  }
  const answers = read.answers;
  const results = pack.members.map((m, i): ItemResult => {
    const r: ItemResult = {
      customId: m.customId,
      status: 'succeeded',
      attempts: m.attempts + outcome.attempts,
      model,
      mode: 'realtime',
      statusCode: outcome.statusCode,
      response: packedItemBody(body, contentOfAnswer(answers[i]), usages[i]!),
      usage: usages[i]!,
      costUsd: costs[i]!,
      promptCacheSavedUsd: saved[i]!,
    };
    if (outcome.requestId !== undefined) r.requestId = outcome.requestId;
    return r;
  });
  crashPoint('pack:after-call');
  // One transaction: a crash leaves the pack all done or all pending.
  await deps.store.recordResults(deps.runId, results);
  return { kind: 'split', results, costUsd };
}
