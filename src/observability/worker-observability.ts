// A worker's observability, started with it and closed with it: its metrics registry and
// /metrics server (when a port is given), and its tracing (when OTLP is configured or a test
// passes a span processor).
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { WorkerMetrics } from './metrics.ts';
import { startMetricsServer, type MetricsServer } from './metrics-server.ts';
import { startTracing, workerTracingOptions, type Tracing } from './tracing.ts';
import { callTelemetry } from './call-telemetry.ts';
import type { WorkerObservability } from '../worker-deps.ts';

export interface ObservabilitySettings {
  /** Serve Prometheus metrics at GET /metrics on this port (0: any free port); no metrics when absent. */
  metricsPort?: number;
  /** The interface /metrics listens on (default all, so a Prometheus elsewhere can scrape it). */
  metricsHost?: string;
  /** Where spans go instead of OTLP (tests: an in-memory exporter's processor). */
  spanProcessor?: SpanProcessor;
}

export interface WorkerObservabilityHandle {
  metrics?: WorkerMetrics;
  /** The port /metrics listens on. */
  metricsPort?: number;
  tracing?: Tracing;
  /** What the activities' dependencies get. */
  deps: WorkerObservability;
  /** What Worker.create gets. */
  workerOptions: { interceptors: WorkerInterceptors; sinks: InjectedSinks<never> };
  close(): Promise<void>;
}

export async function startWorkerObservability(settings: ObservabilitySettings): Promise<WorkerObservabilityHandle> {
  const metrics = settings.metricsPort === undefined ? undefined : new WorkerMetrics();
  const server: MetricsServer | undefined = metrics ? await startMetricsServer(metrics.registry, settings.metricsPort!, settings.metricsHost) : undefined;
  const tracing = startTracing('llm-batch-worker', settings.spanProcessor);
  const handle: WorkerObservabilityHandle = {
    deps: { metrics, telemetry: callTelemetry(metrics, tracing?.tracer) },
    workerOptions: workerTracingOptions(tracing),
    async close() {
      await server?.close();
      await tracing?.shutdown().catch(() => undefined);
    },
  };
  if (metrics) handle.metrics = metrics;
  if (server) handle.metricsPort = server.port;
  if (tracing) handle.tracing = tracing;
  return handle;
}
