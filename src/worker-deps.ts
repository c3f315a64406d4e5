// The real dependencies of the activities in one worker process: one item store, one
// rate limiter per provider endpoint (DESIGN invariant 4), one concurrency gate per run.
import pLimit, { type LimitFunction } from 'p-limit';
import type { RunConfig } from './domain/run-types.ts';
import type { ActivityDeps } from './activities/index.ts';
import type { ItemStore } from './store/item-store.ts';
import { ProviderClient } from './llm/provider.ts';
import { BatchClient } from './llm/batch-client.ts';
import { RateLimiter } from './llm/rate-limiter.ts';
import { SharedProviderHealth } from './llm/provider-health.ts';
import { loadPricing } from './llm/pricing-file.ts';
import { runDirOf, type ProviderEnv } from './settings.ts';

export function createWorkerDeps(store: ItemStore, home: string, provider: ProviderEnv): ActivityDeps {
  const limiters = new Map<string, RateLimiter>();
  const clients = new Map<string, ProviderClient>();
  const slots = new Map<string, LimitFunction>();
  const health = new Map<string, SharedProviderHealth>();
  const batchClients = new Map<number, BatchClient>();
  const endpoint = provider.baseURL ?? 'https://api.openai.com/v1';

  return {
    store,
    runDir: (runId) => runDirOf(home, runId),
    pricingFor: async (config: RunConfig) => loadPricing(config.pricingPath),
    providerFor(config: RunConfig): ProviderClient {
      let limiter = limiters.get(endpoint);
      if (!limiter) limiters.set(endpoint, (limiter = new RateLimiter({})));
      // The run's --rpm/--tpm describe the account; the latest run to say so sets them.
      if (config.rpm !== undefined || config.tpm !== undefined) {
        const limits: { rpm?: number; tpm?: number } = {};
        if (config.rpm !== undefined) limits.rpm = config.rpm;
        if (config.tpm !== undefined) limits.tpm = config.tpm;
        const snap = limiter.snapshot();
        if (snap.rpm !== limits.rpm || snap.tpm !== limits.tpm) limiter.setLimits(limits);
      }
      const key = `${config.maxAttemptsPerItem}|${config.requestTimeoutMs}`;
      let client = clients.get(key);
      if (!client) {
        client = new ProviderClient({ ...provider, limiter, maxAttempts: config.maxAttemptsPerItem, requestTimeoutMs: config.requestTimeoutMs });
        clients.set(key, client);
      }
      return client;
    },
    batchClientFor(config: RunConfig): BatchClient {
      let c = batchClients.get(config.requestTimeoutMs);
      if (!c) batchClients.set(config.requestTimeoutMs, (c = new BatchClient({ ...provider, requestTimeoutMs: config.requestTimeoutMs })));
      return c;
    },
    providerHealth(config: RunConfig, epoch: number): SharedProviderHealth {
      // One tripwire per run and circuit epoch: after the circuit closes, chunks start clean.
      const key = `${config.runId}#${epoch}`;
      let h = health.get(key);
      if (!h) {
        for (const k of health.keys()) if (k.startsWith(`${config.runId}#`)) health.delete(k);
        health.set(key, (h = new SharedProviderHealth(config.circuitFailureThreshold)));
      }
      return h;
    },
    runSlots(config: RunConfig) {
      let limit = slots.get(config.runId);
      if (!limit) slots.set(config.runId, (limit = pLimit(config.concurrency)));
      return limit;
    },
  };
}
