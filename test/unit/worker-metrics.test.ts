// The worker's metrics registry on its own: what each hook counts, bounded labels, a scrape
// promtool accepts, and the repo's Grafana dashboard and Prometheus config naming only what exists.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { WorkerMetrics } from '../../src/observability/metrics.ts';
import { parseSamples, promtoolCheck, total } from '../support/prometheus-text.ts';

const REPO = resolve(import.meta.dirname, '../..');
const scrape = async (m: WorkerMetrics) => parseSamples(await m.registry.metrics());

describe('WorkerMetrics', () => {
  it('counts results by model, mode and status, with their tokens and spend', async () => {
    const m = new WorkerMetrics();
    m.itemResults([
      { customId: 'a', status: 'succeeded', attempts: 1, model: 'gpt-4o-mini', mode: 'realtime', usage: { prompt: 100, cached: 64, completion: 20, reasoning: 0 }, costUsd: 0.001 },
      { customId: 'b', status: 'succeeded', attempts: 1, model: 'gpt-4o-mini', mode: 'batch', usage: { prompt: 50, cached: 0, completion: 10, reasoning: 4 }, costUsd: 0.0002 },
      { customId: 'c', status: 'failed', attempts: 3, model: 'gpt-4o-mini', mode: 'realtime', error: { code: 'http_400', message: 'bad' } },
    ]);
    const s = await scrape(m);
    expect(total(s, 'llm_batch_items_total', { mode: 'realtime', status: 'succeeded' })).toBe(1);
    expect(total(s, 'llm_batch_items_total', { mode: 'realtime', status: 'failed' })).toBe(1);
    expect(total(s, 'llm_batch_tokens_total', { kind: 'prompt' })).toBe(150);
    expect(total(s, 'llm_batch_tokens_total', { mode: 'realtime', kind: 'cached' })).toBe(64);
    expect(total(s, 'llm_batch_tokens_total', { mode: 'batch', kind: 'reasoning' })).toBe(4);
    expect(total(s, 'llm_batch_spend_usd_total', { mode: 'realtime' })).toBeCloseTo(0.001, 12);
    expect(total(s, 'llm_batch_spend_usd_total', { mode: 'batch' })).toBeCloseTo(0.0002, 12);
  });

  it('counts requests by status, 429s apart, and their latency', async () => {
    const m = new WorkerMetrics();
    m.providerRequest('gpt-4o', 200, 0.4);
    m.providerRequest('gpt-4o', 429, 0.02);
    m.providerRequest('gpt-4o', 'timeout', 120);
    m.limiterWaited('gpt-4o', 1.5);
    const s = await scrape(m);
    expect(total(s, 'llm_batch_provider_requests_total', { status: '429' })).toBe(1);
    expect(total(s, 'llm_batch_provider_requests_total', { status: 'timeout' })).toBe(1);
    expect(total(s, 'llm_batch_provider_rate_limited_total')).toBe(1);
    expect(total(s, 'llm_batch_provider_request_duration_seconds_count')).toBe(3);
    expect(total(s, 'llm_batch_provider_request_duration_seconds_bucket', { le: '0.05' })).toBe(1);
    expect(total(s, 'llm_batch_limiter_wait_seconds_sum')).toBe(1.5);
  });

  it('bounds the model label: past 64 distinct models the rest count as "other"', async () => {
    const m = new WorkerMetrics();
    for (let i = 0; i < 70; i++) m.providerRequest(`model-${i}`, 200, 0.1);
    const s = await scrape(m);
    const models = new Set(s.filter((x) => x.name === 'llm_batch_provider_requests_total').map((x) => x.labels.model));
    expect(models.size).toBe(65);
    expect(total(s, 'llm_batch_provider_requests_total', { model: 'other' })).toBe(6);
  });

  it('shows items in flight while they hold a slot, batches by state, and tripped circuits', async () => {
    const m = new WorkerMetrics();
    let release!: () => void;
    const gate = m.countInFlight((fn) => fn());
    const running = gate(() => new Promise<void>((r) => (release = r)));
    expect(total(await scrape(m), 'llm_batch_items_in_flight', { mode: 'realtime' })).toBe(1);
    release();
    await running;
    expect(total(await scrape(m), 'llm_batch_items_in_flight', { mode: 'realtime' })).toBe(0);

    m.batchPolled('b1', { status: 'in_progress', total: 100, completed: 30, failed: 5 });
    m.batchPolled('b2', { status: 'validating', total: 10, completed: 0, failed: 0 });
    let s = await scrape(m);
    expect(total(s, 'llm_batch_batches', { status: 'in_progress' })).toBe(1);
    expect(total(s, 'llm_batch_batches', { status: 'validating' })).toBe(1);
    expect(total(s, 'llm_batch_items_in_flight', { mode: 'batch' })).toBe(75);
    m.batchPolled('b1', { status: 'completed', total: 100, completed: 95, failed: 5 });
    s = await scrape(m);
    expect(total(s, 'llm_batch_batches', { status: 'in_progress' })).toBe(0);
    expect(total(s, 'llm_batch_batches_finished_total', { status: 'completed' })).toBe(1);
    expect(total(s, 'llm_batch_items_in_flight', { mode: 'batch' })).toBe(10);

    let tripped = 0;
    m.watchCircuits(() => tripped);
    tripped = 2;
    m.circuitTripped();
    s = await scrape(m);
    expect(total(s, 'llm_batch_circuit_open')).toBe(2);
    expect(total(s, 'llm_batch_circuit_trips_total')).toBe(1);
  });

  it('keeps one registry per worker: two workers in one process count apart', async () => {
    const a = new WorkerMetrics();
    const b = new WorkerMetrics();
    a.providerRequest('gpt-4o', 200, 0.1);
    expect(total(await scrape(a), 'llm_batch_provider_requests_total')).toBe(1);
    expect(total(await scrape(b), 'llm_batch_provider_requests_total')).toBe(0);
  });

  it('gives a scrape that promtool accepts (format and naming conventions)', async () => {
    const m = new WorkerMetrics();
    m.providerRequest('gpt-4o', 200, 0.1);
    m.itemResults([{ customId: 'a', status: 'succeeded', attempts: 1, model: 'gpt-4o', mode: 'realtime', usage: { prompt: 1, cached: 0, completion: 1, reasoning: 0 }, costUsd: 1e-6 }]);
    const check = promtoolCheck(await m.registry.metrics());
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
    // and the check does fail on a convention broken
    expect(promtoolCheck('# HELP foo x\n# TYPE foo counter\nfoo 1\n').status).not.toBe(0);
  });
});

describe('deploy/ (Prometheus and Grafana for docker-compose.yml)', () => {
  it('the Grafana dashboard queries only metrics the workers expose', async () => {
    const dash = JSON.parse(readFileSync(join(REPO, 'deploy/grafana/dashboards/llm-batch.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const text = await new WorkerMetrics().registry.metrics();
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
    const used = dash.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\bllm_batch_[a-z_]+/g)].map((x) => x[0])));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((n) => !exposed.has(n))).toEqual([]);
  });

  it('the Prometheus config passes promtool check config', () => {
    const r = spawnSync('promtool', ['check', 'config', join(REPO, 'deploy/prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
