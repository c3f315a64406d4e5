// Tracing is off (nothing started, nothing exported) without an OTLP endpoint, and with one,
// spans go out by OTLP/HTTP to <endpoint>/v1/traces: here a real HTTP server on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { otlpConfigured, startTracing, workerTracingOptions } from '../../src/observability/tracing.ts';

describe('OTLP export', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT: no tracer, no activity interceptors, the workflow sink drops spans', () => {
    expect(otlpConfigured({})).toBe(false);
    expect(otlpConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBe(false);
    expect(startTracing('llm-batch-worker', undefined, {})).toBeUndefined();
    const options = workerTracingOptions(undefined);
    expect(options.interceptors).toEqual({});
    expect(Object.keys(options.sinks)).toEqual(['exporter']);
  });

  it('sends spans to $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces', async () => {
    const received: { url: string; body: string }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const tracing = startTracing('llm-batch-otlp-test');
      expect(tracing).toBeDefined();
      tracing!.tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.request.model': 'gpt-4o-mini' } }).end();
      await tracing!.shutdown(); // flushes the batch
      expect(received.map((r) => r.url)).toEqual(['/v1/traces']);
      expect(received[0]!.body).toContain('chat gpt-4o-mini');
      expect(received[0]!.body).toContain('llm-batch-otlp-test');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
