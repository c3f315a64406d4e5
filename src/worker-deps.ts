// The real dependencies of the activities in one worker process: one item store, one
// rate limiter per provider account and model (DESIGN invariant 4), one concurrency gate per run.
import pLimit, { type LimitFunction } from 'p-limit';
import type { RunConfig } from './domain/run-types.ts';
import type { ActivityDeps } from './activities/index.ts';
import type { ItemStore } from './store/item-store.ts';
import { ProviderClient } from './llm/provider.ts';
import { BatchClient } from './llm/batch-client.ts';
import { AUTO_CONCURRENCY_MAX, AUTO_CONCURRENCY_MIN, LimiterRegistry } from './llm/limiter-registry.ts';
import type { Caps } from './llm/pacer-store.ts';
import { SharedProviderHealth } from './llm/provider-health.ts';
import { loadPricing } from './llm/pricing-file.ts';
import { runDirOf, type ProviderEnv } from './settings.ts';
import { SingleFlight } from './cache/single-flight.ts';
import { SemanticCache } from './cache/semantic-cache.ts';
import { DEFAULT_EMBEDDING_MODEL } from './llm/embedder.ts';
import type { WorkerMetrics } from './observability/metrics.ts';
import type { CallTelemetry } from './observability/call-telemetry.ts';

/** A run's gate and tripwire are dropped once unused this long: a worker lives through many runs. */
const RUN_STATE_IDLE_MS = 60 * 60_000;

/** The activities' dependencies, and what the worker stops when it stops. */
export interface WorkerDeps extends ActivityDeps {
  /** Stops background work (the semantic caches' index building) so the process can exit. */
  close(): void;
}

/** What the worker observes: its metrics, and the provider calls' metrics and spans (src/observability/). */
export interface WorkerObservability {
  metrics?: WorkerMetrics;
  telemetry?: CallTelemetry;
}

export function createWorkerDeps(store: ItemStore, home: string, provider: ProviderEnv, limiters = new LimiterRegistry(provider), observe: WorkerObservability = {}): WorkerDeps {
  const clients = new Map<string, ProviderClient>();
  const slots = new Map<string, LimitFunction>();
  const health = new Map<string, SharedProviderHealth>();
  const batchClients = new Map<number, BatchClient>();
  // One semantic cache per embedding model: its index follows the store's table for every run.
  const semanticCaches = new Map<string, SemanticCache>();
  // Per-run state, swept at most once a minute: runs that ended (or sleep) leave nothing behind.
  const lastUsed = new Map<string, number>();
  let sweptAt = Date.now();
  const touch = (runId: string): void => {
    const now = Date.now();
    lastUsed.set(runId, now);
    if (now - sweptAt < 60_000) return;
    sweptAt = now;
    for (const [id, at] of lastUsed) {
      const gate = slots.get(id);
      if (now - at < RUN_STATE_IDLE_MS || (gate && gate.activeCount + gate.pendingCount > 0)) continue;
      lastUsed.delete(id);
      slots.delete(id);
      for (const k of health.keys()) if (k.startsWith(`${id}#`)) health.delete(k);
    }
  };

  observe.metrics?.watchCircuits(() => [...health.values()].filter((h) => h.tripped).length);

  return {
    store,
    metrics: observe.metrics,
    cacheFlights: new SingleFlight(),
    semanticCacheFor(embeddingModel = DEFAULT_EMBEDDING_MODEL): SemanticCache {
      let cache = semanticCaches.get(embeddingModel);
      if (!cache) semanticCaches.set(embeddingModel, (cache = new SemanticCache(store, { embeddingModel })));
      return cache;
    },
    close(): void {
      for (const cache of semanticCaches.values()) cache.close();
    },
    runDir: (runId) => runDirOf(home, runId),
    pricingFor: async (config: RunConfig) => loadPricing(config.pricingPath),
    providerFor(config: RunConfig): ProviderClient {
      // The run's --rpm/--tpm are caps on the account; the latest run to say so sets them.
      const caps: Caps | undefined = config.rpm !== undefined || config.tpm !== undefined ? { rpm: config.rpm, tpm: config.tpm } : undefined;
      const key = `${config.maxAttemptsPerItem}|${config.requestTimeoutMs}|${caps?.rpm}|${caps?.tpm}`;
      let client = clients.get(key);
      if (!client) {
        client = new ProviderClient({ ...provider, telemetry: observe.telemetry, limiter: (model) => limiters.limiter(model, caps), maxAttempts: config.maxAttemptsPerItem, requestTimeoutMs: config.requestTimeoutMs });
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
      touch(config.runId);
      const key = `${config.runId}#${epoch}`;
      let h = health.get(key);
      if (!h) {
        for (const k of health.keys()) if (k.startsWith(`${config.runId}#`)) health.delete(k);
        health.set(key, (h = new SharedProviderHealth(config.circuitFailureThreshold)));
        if (observe.metrics) h.signal.addEventListener('abort', () => observe.metrics?.circuitTripped(), { once: true });
      }
      return h;
    },
    runSlots(config: RunConfig) {
      touch(config.runId);
      let limit = slots.get(config.runId);
      const fixed = config.concurrency === 'auto' ? undefined : config.concurrency;
      if (!limit) slots.set(config.runId, (limit = pLimit(fixed ?? AUTO_CONCURRENCY_MIN)));
      if (fixed !== undefined) return limit;
      // --concurrency auto: resized to what the limiters need in flight (Little's law) as calls start and end.
      const gate = limit;
      const resize = (): void => {
        const want = limiters.desiredConcurrency(config.maxConcurrency ?? AUTO_CONCURRENCY_MAX);
        if (gate.concurrency !== want) gate.concurrency = want;
      };
      return <T>(fn: () => Promise<T>): Promise<T> => {
        resize();
        return gate(async () => {
          try {
            return await fn();
          } finally {
            resize();
          }
        });
      };
    },
  };
}
