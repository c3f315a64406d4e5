// A worker's Prometheus metrics: one registry per worker (never prom-client's global one, so
// several workers in one process, as in tests, each count their own). Names follow Prometheus
// conventions: the llm_batch_ prefix, base units (seconds, USD), _total on counters.
// Labels are bounded: model (capped, see MAX_MODELS), status, mode, kind. No run id and no
// custom_id: a worker lives through many runs, and a series per run (or per item) would grow
// forever; per-run figures come from the item store (status, dashboard).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ItemResult } from '../store/item-store.ts';

/** Distinct model label values kept; any further model is counted as "other". */
const MAX_MODELS = 64;
/** A batch not polled for this long is no longer counted (another worker polls it, or it ended). */
const BATCH_STALE_MS = 15 * 60_000;
const TERMINAL_BATCH = new Set(['completed', 'failed', 'expired', 'cancelled']);

export interface BatchPoll {
  status: string;
  total: number;
  completed: number;
  failed: number;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly models = new Set<string>();
  private readonly batches = new Map<string, BatchPoll & { at: number }>();
  private realtimeInFlight = 0;
  private trippedNow: () => number = () => 0;

  private readonly requests = new Counter({
    name: 'llm_batch_provider_requests_total',
    help: 'HTTP requests to the provider (every attempt), by model and HTTP status code (or timeout, connection_error, malformed_response)',
    labelNames: ['model', 'status'],
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: 'llm_batch_provider_rate_limited_total',
    help: 'Provider answers of 429 (rate limited), by model',
    labelNames: ['model'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'llm_batch_provider_request_duration_seconds',
    help: 'Time from sending a provider request to its answer or failure, by model',
    labelNames: ['model'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
    registers: [this.registry],
  });
  private readonly limiterWait = new Histogram({
    name: 'llm_batch_limiter_wait_seconds',
    help: 'Time a provider request waited for the rate limiter before it was sent, by model',
    labelNames: ['model'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly items = new Counter({
    name: 'llm_batch_items_total',
    help: 'Item results recorded in the item store, by model, mode (realtime, batch, cache) and status (succeeded, failed)',
    labelNames: ['model', 'mode', 'status'],
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'llm_batch_tokens_total',
    help: 'Tokens of recorded results as the provider reported them, by model, mode and kind (prompt, cached: part of prompt, completion, reasoning: part of completion)',
    labelNames: ['model', 'mode', 'kind'],
    registers: [this.registry],
  });
  private readonly spend = new Counter({
    name: 'llm_batch_spend_usd_total',
    help: 'Spend of recorded results in US dollars (priced from reported usage), by model and mode',
    labelNames: ['model', 'mode'],
    registers: [this.registry],
  });
  private readonly batchesFinished = new Counter({
    name: 'llm_batch_batches_finished_total',
    help: 'Provider batches seen ending by this worker, by final status (completed, failed, expired, cancelled)',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly circuitTrips = new Counter({
    name: 'llm_batch_circuit_trips_total',
    help: "Times a run's provider tripwire tripped in this worker (consecutive provider failures reached the threshold; the run opens its circuit)",
    registers: [this.registry],
  });

  constructor() {
    // No prom-client default metrics: three of them (nodejs_active_*_total gauges) break the
    // naming conventions promtool checks.
    const self = this;
    new Gauge({
      name: 'llm_batch_items_in_flight',
      help: 'Items being worked now: realtime items holding a concurrency slot in this worker, batch lines not yet done in batches this worker polls',
      labelNames: ['mode'],
      registers: [this.registry],
      collect() {
        this.set({ mode: 'realtime' }, self.realtimeInFlight);
        let lines = 0;
        for (const b of self.liveBatches()) lines += Math.max(0, b.total - b.completed - b.failed);
        this.set({ mode: 'batch' }, lines);
      },
    });
    new Gauge({
      name: 'llm_batch_batches',
      help: 'Provider batches not yet ended that this worker polls, by their last status (validating, in_progress, finalizing, cancelling)',
      labelNames: ['status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of ['validating', 'in_progress', 'finalizing', 'cancelling']) this.set({ status: s }, 0);
        for (const b of self.liveBatches()) this.inc({ status: b.status });
      },
    });
    new Gauge({
      name: 'llm_batch_circuit_open',
      help: "Runs whose provider tripwire is tripped in this worker now (their circuit is open until a probe succeeds)",
      registers: [this.registry],
      collect() {
        this.set(self.trippedNow());
      },
    });
  }

  /** The model label: the model itself, or "other" past MAX_MODELS distinct ones. */
  private model(model: string): string {
    const m = model || 'unknown';
    if (this.models.has(m)) return m;
    if (this.models.size >= MAX_MODELS) return 'other';
    this.models.add(m);
    return m;
  }

  /** One provider request answered or failed; `status` is its HTTP status code or a failure kind. */
  providerRequest(model: string, status: number | string, seconds: number): void {
    const m = this.model(model);
    this.requests.inc({ model: m, status: String(status) });
    this.latency.observe({ model: m }, seconds);
    if (status === 429) this.rateLimited.inc({ model: m });
  }

  limiterWaited(model: string, seconds: number): void {
    this.limiterWait.observe({ model: this.model(model) }, seconds);
  }

  /** Results as they are written to the store: items, tokens and spend. */
  itemResults(results: readonly ItemResult[]): void {
    for (const r of results) {
      const labels = { model: this.model(r.model), mode: r.mode };
      this.items.inc({ ...labels, status: r.status });
      if (r.usage) {
        this.tokens.inc({ ...labels, kind: 'prompt' }, r.usage.prompt);
        this.tokens.inc({ ...labels, kind: 'cached' }, r.usage.cached);
        this.tokens.inc({ ...labels, kind: 'completion' }, r.usage.completion);
        this.tokens.inc({ ...labels, kind: 'reasoning' }, r.usage.reasoning);
      }
      if (r.costUsd) this.spend.inc(labels, r.costUsd);
    }
  }

  /** A run's concurrency gate whose items are counted in flight while they hold a slot. */
  countInFlight(gate: <T>(fn: () => Promise<T>) => Promise<T>): <T>(fn: () => Promise<T>) => Promise<T> {
    return (fn) =>
      gate(async () => {
        this.realtimeInFlight++;
        try {
          return await fn();
        } finally {
          this.realtimeInFlight--;
        }
      });
  }

  batchPolled(batchId: string, poll: BatchPoll): void {
    if (TERMINAL_BATCH.has(poll.status)) {
      // The workflow stops polling a batch once it ended: one terminal poll per batch (a retried poll may count twice).
      this.batches.delete(batchId);
      this.batchesFinished.inc({ status: poll.status });
      return;
    }
    this.batches.set(batchId, { ...poll, at: Date.now() });
  }

  circuitTripped(): void {
    this.circuitTrips.inc();
  }

  /** How many runs' tripwires are tripped now (read at each scrape). */
  watchCircuits(tripped: () => number): void {
    this.trippedNow = tripped;
  }

  private *liveBatches(): Iterable<BatchPoll> {
    const now = Date.now();
    for (const [id, b] of this.batches) {
      if (now - b.at > BATCH_STALE_MS) this.batches.delete(id);
      else yield b;
    }
  }
}
