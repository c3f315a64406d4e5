// OpenTelemetry tracing for workers and the CLI, through @temporalio/interceptors-opentelemetry:
// the client interceptor puts the CLI's span context into the workflow's headers, the workflow
// interceptors (built into the workflow bundle, src/workflow-bundle.ts) trace workflows and pass
// the context on to activities, the activity interceptor traces activities, and the provider
// client adds a span per provider request under them (src/observability/call-telemetry.ts).
// Spans go out by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-only variable) is
// set; otherwise nothing is traced, exported or logged.
import { diag, DiagConsoleLogger, DiagLogLevel, type Tracer } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { WorkflowClientInterceptor } from '@temporalio/client';

const VERSION = '0.1.0';

export interface Tracing {
  tracer: Tracer;
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Whether spans are exported: an OTLP endpoint is configured (standard OpenTelemetry variables). */
export const otlpConfigured = (env: NodeJS.ProcessEnv = process.env): boolean =>
  Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);

/**
 * Tracing for one process part (a worker, the CLI). `spanProcessor` overrides the export (tests
 * pass an in-memory exporter's); without one, OTLP when configured, else undefined: tracing off.
 */
export function startTracing(serviceName: string, spanProcessor?: SpanProcessor, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (!spanProcessor && !otlpConfigured(env)) return undefined;
  // OpenTelemetry's own problems (an export failing, spans dropped) on stderr only when asked for.
  const level = env.OTEL_LOG_LEVEL?.toUpperCase() as keyof typeof DiagLogLevel | undefined;
  if (level && typeof DiagLogLevel[level] === 'number') diag.setLogger(new DiagConsoleLogger(), { logLevel: DiagLogLevel[level] });
  // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself.
  const processor = spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const resource = new Resource({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME || serviceName, [ATTR_SERVICE_VERSION]: VERSION });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // The interceptors read the active context and the propagator from the OpenTelemetry API's
  // globals: register once per process (an AsyncLocalStorage context manager, W3C trace context).
  // A second provider in the same process keeps the first's globals; spans use each one's own tracer.
  provider.register();
  return {
    tracer: provider.getTracer('llm-batch', VERSION),
    resource,
    spanProcessor: processor,
    shutdown: () => provider.shutdown(),
  };
}

/**
 * What a worker adds to its options. The workflow interceptors are always in the bundle, so the
 * `exporter` sink they call is always registered: into the span processor, or nowhere.
 */
export function workerTracingOptions(tracing: Tracing | undefined): { interceptors: WorkerInterceptors; sinks: InjectedSinks<never> } {
  const exporter = tracing ? makeWorkflowExporter(tracing.spanProcessor, tracing.resource) : makeWorkflowExporter(new NoopSpanProcessor(), Resource.empty());
  const options = tracing ? { tracer: tracing.tracer } : undefined;
  return {
    interceptors: tracing
      ? {
          activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, options), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
          client: { workflow: [new OpenTelemetryWorkflowClientInterceptor(options)] },
        }
      : {},
    sinks: { exporter } as unknown as InjectedSinks<never>,
  };
}

/** The client's interceptors: a span per start, signal, query, … carried into the workflow's headers. */
export function clientTracingInterceptors(tracing: Tracing | undefined): WorkflowClientInterceptor[] {
  return tracing ? [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] : [];
}

let cliTracing: Tracing | undefined | null = null;

/** The CLI's tracing (started on first use, when OTLP is configured); flushed when the process ends. */
export function cliTracer(): Tracing | undefined {
  if (cliTracing === null) {
    cliTracing = startTracing('llm-batch-cli');
    if (cliTracing) process.once('beforeExit', () => void cliTracing?.shutdown());
  }
  return cliTracing;
}

/** Sends the CLI's buffered spans (before an explicit exit). */
export async function flushCliTracing(): Promise<void> {
  if (cliTracing) await cliTracing.shutdown().catch(() => undefined);
}
