// Metrics and traces of a real run (Temporal dev server, the emulator over HTTP through the
// openai SDK, SQLite): the worker's /metrics passes promtool and its counters match the
// emulator's and the store's counts exactly; the spans of the run (client, workflows,
// activities, one per provider request) reach an in-memory exporter with their attributes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startRun } from '../../src/client.ts';
import { startEmulator, type EmulatorStats, type RunningEmulator } from '../../src/emulator/server.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { clientTracingInterceptors, startTracing } from '../../src/observability/tracing.ts';
import { freePort } from '../../src/dev/ports.ts';
import { client, runConfig, spawnWorker, startWorker, tempDir, waitFor, writeChatInput } from '../support/harness.ts';
import { parseSamples, promtoolCheck, total, type Sample } from '../support/prometheus-text.ts';

const ITEMS = 120;
const MODEL = 'gpt-4o-mini';

describe('metrics and traces of a run', () => {
  let emu: RunningEmulator;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const spans = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(spans);
  const home = tempDir();
  const taskQueue = `observability-${Date.now()}`;
  let status: RunStatus;
  let stats: EmulatorStats;
  let scrape: string;
  let samples: Sample[];

  beforeAll(async () => {
    // Faults so that every status shows: 500/503 and truncated bodies from the start, 429s
    // once a limit appears mid-run (the worker learnt there was none); the client retries them
    // all, so every item succeeds.
    emu = await startEmulator({ port: 0, latencyMs: 40, errorRate: 0.08, malformedRate: 0.03, seed: 7 });
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue, observability: { metricsPort: 0, metricsHost: '127.0.0.1', spanProcessor: processor } });
    // The CLI's side: a client whose start is traced, its context carried into the workflow.
    const tracing = startTracing('llm-batch-cli-test', processor)!;
    const base = await client();
    const c = new Client({ connection: base.connection, namespace: 'default', interceptors: { workflow: clientTracingInterceptors(tracing) } });
    const { path } = writeChatInput(home, ITEMS, 'observed.jsonl');
    const handle = await startRun(c, runConfig({ runId: `obs-${Date.now()}`, inputPath: path, concurrency: 24, chunkSize: 60, maxChunksInFlight: 2 }), taskQueue);
    await waitFor(() => emu.stats().served >= 10, 60_000, 'the first answers');
    emu.configure({ rpm: 900 });
    status = (await handle.result()) as RunStatus;
    stats = emu.stats();
    const res = await fetch(`http://127.0.0.1:${worker.worker.observability.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    scrape = await res.text();
    samples = parseSamples(scrape);
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('serves /metrics that promtool accepts, with counters equal to the run\'s own counts', () => {
    expect(status.state).toBe('completed');
    expect(status.counts.succeeded).toBe(ITEMS);
    const check = promtoolCheck(scrape);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);

    // Every HTTP request the emulator received, by what it answered.
    const requests = (where: Record<string, string>): number => total(samples, 'llm_batch_provider_requests_total', { model: MODEL, ...where });
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(stats.serverErrors).toBeGreaterThan(0);
    expect(stats.malformed).toBeGreaterThan(0);
    expect(requests({})).toBe(stats.byEndpoint['/v1/chat/completions']);
    expect(requests({ status: '200' })).toBe(stats.served);
    expect(requests({ status: '429' })).toBe(stats.rateLimited);
    expect(total(samples, 'llm_batch_provider_rate_limited_total', { model: MODEL })).toBe(stats.rateLimited);
    expect(requests({ status: '500' }) + requests({ status: '503' })).toBe(stats.serverErrors);
    expect(requests({ status: 'malformed_response' })).toBe(stats.malformed);
    expect(total(samples, 'llm_batch_provider_request_duration_seconds_count', { model: MODEL })).toBe(requests({}));
    // Each request waited for the limiter first (a wait of ~0 included).
    expect(total(samples, 'llm_batch_limiter_wait_seconds_count', { model: MODEL })).toBeGreaterThanOrEqual(requests({}));

    // Items, tokens and money as the store has them (the run's status is read from it) and as the emulator billed them.
    const labels = { model: MODEL, mode: 'realtime' };
    expect(total(samples, 'llm_batch_items_total', { ...labels, status: 'succeeded' })).toBe(status.counts.succeeded);
    expect(total(samples, 'llm_batch_items_total', { status: 'failed' })).toBe(status.counts.failed);
    expect(total(samples, 'llm_batch_tokens_total', { ...labels, kind: 'prompt' })).toBe(status.tokens.prompt);
    expect(total(samples, 'llm_batch_tokens_total', { ...labels, kind: 'prompt' })).toBe(stats.promptTokens);
    expect(total(samples, 'llm_batch_tokens_total', { ...labels, kind: 'cached' })).toBe(status.tokens.cached);
    expect(total(samples, 'llm_batch_tokens_total', { ...labels, kind: 'completion' })).toBe(stats.completionTokens);
    expect(total(samples, 'llm_batch_spend_usd_total', labels)).toBeCloseTo(status.costUsd.spent, 12);
    expect(status.costUsd.spent).toBeGreaterThan(0);

    // Nothing is in flight once the run is over, and no circuit opened.
    expect(total(samples, 'llm_batch_items_in_flight', { mode: 'realtime' })).toBe(0);
    expect(total(samples, 'llm_batch_circuit_open')).toBe(0);
    // No label names an item or a run.
    for (const s of samples) expect(Object.keys(s.labels).filter((k) => /custom|run|id/.test(k))).toEqual([]);
  });

  it('counts a Batch API run too: its items, tokens and spend at the Batch price, its batches by final state', async () => {
    emu.configure({ rpm: 0, errorRate: 0, malformedRate: 0, batchValidatingMs: 100, batchInProgressMs: 600, batchFinalizingMs: 100, batchLineErrorRate: 0.1 });
    const { path } = writeChatInput(home, 40, 'observed-batch.jsonl');
    const runId = `obs-batch-${Date.now()}`;
    const base = await client();
    const handle = await startRun(base, runConfig({ runId, inputPath: path, mode: 'batch', batchPollInitialMs: 200, batchPollMaxMs: 1000 }), taskQueue);
    const batchStatus = (await handle.result()) as RunStatus;
    expect(batchStatus.state).toBe('completed');
    const text = await (await fetch(`http://127.0.0.1:${worker.worker.observability.metricsPort}/metrics`)).text();
    const s = parseSamples(text);
    const labels = { model: MODEL, mode: 'batch' };
    expect(total(s, 'llm_batch_items_total', { ...labels, status: 'succeeded' })).toBe(batchStatus.counts.succeeded);
    expect(total(s, 'llm_batch_items_total', { ...labels, status: 'failed' })).toBe(batchStatus.counts.failed);
    expect(batchStatus.counts.succeeded + batchStatus.counts.failed).toBe(40);
    // The realtime run's figures are apart (mode label): the batch run's tokens and spend alone.
    expect(total(s, 'llm_batch_tokens_total', { ...labels, kind: 'prompt' })).toBe(batchStatus.tokens.prompt);
    expect(total(s, 'llm_batch_tokens_total', { ...labels, kind: 'completion' })).toBe(batchStatus.tokens.completion);
    expect(total(s, 'llm_batch_spend_usd_total', labels)).toBeCloseTo(batchStatus.costUsd.spent, 12);
    // Failed lines went again in a second batch: every batch of the run was seen ending.
    const batches = emu.batches().filter((b) => (b.metadata as Record<string, string> | null)?.llm_batch_run === runId);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(total(s, 'llm_batch_batches_finished_total', { status: 'completed' })).toBe(batches.filter((b) => b.status === 'completed').length);
    expect(total(s, 'llm_batch_batches')).toBe(0);
    expect(total(s, 'llm_batch_items_in_flight', { mode: 'batch' })).toBe(0);
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  }, 120_000);

  it('traces the run: client, workflows and activities from the interceptors, a span per provider request', async () => {
    const named = (prefix: string): ReadableSpan[] => spans.getFinishedSpans().filter((s) => s.name.startsWith(prefix));
    // Workflow spans come through the worker's sink after their activation completes.
    await waitFor(() => named('RunWorkflow:runWorkflow').length > 0, 10_000, 'the run workflow\'s span');
    const start = named('StartWorkflow:runWorkflow');
    expect(start).toHaveLength(1);
    const traceId = start[0]!.spanContext().traceId;
    // The batch run (started untraced) has traces of its own: only this run's trace counts here.
    const inTrace = (prefix: string): ReadableSpan[] => named(prefix).filter((s) => s.spanContext().traceId === traceId);
    const run = named('RunWorkflow:runWorkflow')[0]!;
    expect(run.spanContext().traceId).toBe(traceId);
    expect(run.parentSpanId).toBe(start[0]!.spanContext().spanId);
    // Chunks are child workflows, and their activity runs in the worker: all in the CLI's trace.
    expect(inTrace('StartChildWorkflow:chunkWorkflow').length).toBe(2);
    const activities = inTrace('RunActivity:processChunk');
    expect(activities.length).toBeGreaterThanOrEqual(2);

    const calls = inTrace(`chat ${MODEL}`);
    expect(calls.length).toBe(named(`chat ${MODEL}`).length);
    expect(calls.length).toBe(stats.byEndpoint['/v1/chat/completions']);
    const activityIds = new Set(activities.map((a) => a.spanContext().spanId));
    for (const call of calls) {
      expect(activityIds.has(call.parentSpanId!)).toBe(true);
      expect(call.attributes['gen_ai.request.model']).toBe(MODEL);
      expect(call.attributes['llm_batch.attempt']).toBeGreaterThanOrEqual(1);
      expect(call.attributes['llm_batch.custom_id']).toMatch(/^item-\d{5}$/);
    }
    const ok = calls.filter((s) => s.attributes['http.response.status_code'] === 200);
    expect(ok.length).toBe(stats.served);
    expect(ok.reduce((a, s) => a + (s.attributes['gen_ai.usage.input_tokens'] as number), 0)).toBe(stats.promptTokens);
    expect(ok.reduce((a, s) => a + (s.attributes['gen_ai.usage.output_tokens'] as number), 0)).toBe(stats.completionTokens);
    const limited = calls.filter((s) => s.attributes['llm_batch.status'] === '429');
    expect(limited.length).toBe(stats.rateLimited);
    for (const s of limited) expect(s.status.code).toBe(2); // ERROR
    // A retried item's later attempt says so.
    if (stats.serverErrors + stats.malformed > 0) expect(calls.some((s) => (s.attributes['llm_batch.attempt'] as number) > 1)).toBe(true);
  });

  it('`llm-batch worker` as a user runs it serves /metrics on LLM_BATCH_METRICS_PORT', async () => {
    const port = await freePort();
    const child = spawnWorker({ home: tempDir(), baseURL: emu.baseUrl, taskQueue: `${taskQueue}-spawned`, env: { LLM_BATCH_METRICS_PORT: String(port) } });
    try {
      let text = '';
      await waitFor(async () => {
        text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
        return text !== '';
      }, 60_000, 'the spawned worker\'s /metrics');
      expect(text).toContain('# TYPE llm_batch_provider_requests_total counter');
      expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    }
  }, 90_000);
});
