// What the provider client reports about each request: the limiter wait, and per attempt a
// metric sample (model, status, latency) and a span carrying model, tokens, status and attempt.
// Span attributes follow OpenTelemetry's GenAI conventions where they have a name for it.
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { TokenTotals } from '../domain/run-types.ts';
import type { WorkerMetrics } from './metrics.ts';

export interface AttemptTelemetry {
  answered(statusCode: number, usage: TokenTotals): void;
  failed(error: unknown): void;
}

export interface CallTelemetry {
  limiterWaited(model: string, ms: number): void;
  attempt(model: string, url: string, customId: string, attempt: number): AttemptTelemetry;
}

/** The status label of a failed request: its HTTP status, or what kind of failure it was. */
export function failureStatus(e: unknown): number | string {
  if (e instanceof APIError && e.status !== undefined) return e.status;
  if (e instanceof APIUserAbortError) return 'aborted';
  if (e instanceof APIConnectionTimeoutError) return 'timeout';
  if (e instanceof APIConnectionError) return 'connection_error';
  if (e instanceof SyntaxError) return 'malformed_response';
  return 'client_error';
}

const operationOf = (url: string): string => (url.includes('embeddings') ? 'embeddings' : url.includes('chat') ? 'chat' : url.replace(/^\/v1\//, ''));

export function callTelemetry(metrics: WorkerMetrics | undefined, tracer: Tracer | undefined): CallTelemetry | undefined {
  if (!metrics && !tracer) return undefined;
  return {
    limiterWaited(model, ms) {
      metrics?.limiterWaited(model, ms / 1000);
    },
    attempt(model, url, customId, attempt) {
      const started = performance.now();
      const operation = operationOf(url);
      const span = tracer?.startSpan(`${operation} ${model}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.system': 'openai',
          'gen_ai.operation.name': operation,
          'gen_ai.request.model': model,
          'llm_batch.custom_id': customId,
          'llm_batch.attempt': attempt,
        },
      });
      const done = (status: number | string): void => {
        metrics?.providerRequest(model, status, (performance.now() - started) / 1000);
        span?.setAttribute('llm_batch.status', String(status));
        if (typeof status === 'number') span?.setAttribute('http.response.status_code', status);
      };
      return {
        answered(statusCode, usage) {
          done(statusCode);
          span?.setAttributes({
            'gen_ai.usage.input_tokens': usage.prompt,
            'gen_ai.usage.output_tokens': usage.completion,
            'llm_batch.usage.cached_tokens': usage.cached,
            'llm_batch.usage.reasoning_tokens': usage.reasoning,
          });
          span?.end();
        },
        failed(e) {
          const status = failureStatus(e);
          done(status);
          span?.setAttribute('error.type', String(status));
          span?.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.message ?? String(e) });
          span?.end();
        },
      };
    },
  };
}
