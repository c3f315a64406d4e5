// processChunk: calls the chunk's pending items through the provider with the run's
// concurrency (shared by every chunk of the run in this process) and the process-wide
// rate limiter, and writes results in small transactions. An item holds its concurrency
// slot until its result is in the store, so a crash re-sends at most `concurrency` items.
// After a retry or a crash it starts from what the store says is still pending.
import { Context } from '@temporalio/activity';
import type { ChunkProgress, ChunkSummary, RunConfig } from '../domain/run-types.ts';
import { costOfUsage, type PricingTable } from '../domain/pricing.ts';
import type { ItemResult, ItemStore } from '../store/item-store.ts';
import type { ProviderClient } from '../llm/provider.ts';
import { ResultWriter } from './result-writer.ts';

export interface ChunkInput {
  config: RunConfig;
  chunkIndex: number;
  seqStart: number;
  seqEnd: number;
}

export interface RealtimeDeps {
  store: ItemStore;
  pricingFor(config: RunConfig): Promise<PricingTable>;
  providerFor(config: RunConfig): ProviderClient;
  /** The run's concurrency gate in this process: every chunk of the run shares it. */
  runSlots(config: RunConfig): <T>(fn: () => Promise<T>) => Promise<T>;
}

const HEARTBEAT_MS = 1000;

export function makeProcessChunk(deps: RealtimeDeps) {
  return async function processChunk(input: ChunkInput): Promise<ChunkSummary> {
    const { config, seqStart, seqEnd } = input;
    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    const range = { seqStart, seqEnd };
    const [pricing, before, pending] = await Promise.all([
      deps.pricingFor(config),
      deps.store.totals(config.runId, range),
      deps.store.pendingItems(config.runId, seqStart, seqEnd),
    ]);
    const provider = deps.providerFor(config);
    const slots = deps.runSlots(config);
    const writer = new ResultWriter(deps.store, config.runId);
    const progress: ChunkProgress = { done: before.succeeded + before.failed, succeeded: before.succeeded, failed: before.failed, costUsd: before.costUsd };
    const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_MS);
    ctx.heartbeat(progress);
    let quotaExhausted = false;
    // The first unexpected error (a store write failing, say): stop starting calls, then rethrow.
    let broken: unknown;

    try {
      await Promise.all(
        pending.map((item) =>
          slots(async () => {
            if (quotaExhausted || signal.aborted || broken !== undefined) return;
            const outcome = await provider.call(
              { customId: item.customId, url: item.url, body: item.body, chargeTokens: item.promptTokens + item.maxOutputTokens, priorAttempts: item.attempts },
              signal,
            );
            if (outcome.kind === 'quota_exhausted') {
              quotaExhausted = true;
              return;
            }
            const result: ItemResult = { customId: item.customId, status: outcome.kind, attempts: outcome.attempts, model: item.model, mode: 'realtime' };
            if (outcome.statusCode !== undefined) result.statusCode = outcome.statusCode;
            if (outcome.requestId !== undefined) result.requestId = outcome.requestId;
            if (outcome.kind === 'succeeded') {
              result.response = outcome.body;
              result.usage = outcome.usage;
              result.costUsd = costOfUsage(pricing, item.model, {
                promptTokens: outcome.usage.prompt,
                cachedTokens: outcome.usage.cached,
                completionTokens: outcome.usage.completion,
                reasoningTokens: outcome.usage.reasoning,
              });
              progress.succeeded++;
              progress.costUsd += result.costUsd;
            } else {
              result.error = outcome.error;
              if (outcome.body !== undefined) result.response = outcome.body;
              progress.failed++;
            }
            progress.done++;
            await writer.write(result);
          }).catch((e: unknown) => {
            broken ??= e;
          }),
        ),
      );
    } finally {
      clearInterval(beat);
      await writer.flush();
    }
    if (broken !== undefined) throw broken;

    const after = await deps.store.totals(config.runId, range);
    return { ...after, chunkIndex: input.chunkIndex, stopReason: quotaExhausted ? 'insufficient_quota' : 'done' };
  };
}
