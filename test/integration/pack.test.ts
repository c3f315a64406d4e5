// Request packing (--pack N) end to end: a real dev server, the emulator over HTTP through the
// openai SDK. 2,000 short items with one system prompt: packed 10 to a call they make 200
// calls, every custom_id gets the answer the emulator gives it alone, and the split usage and
// cost add up to what the emulator served. The same items unpacked are measured in the same
// test (calls, cost, wall time; printed for the closing note). With the emulator dropping an
// id from 5% of packs, those packs' items come back through single calls, none lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { generateCompletion } from '../../src/emulator/chat.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { startRun } from '../../src/client.ts';
import { client, outputLineCostUsd, readJsonl, runConfig, runToEnd, spawnWorker, startWorker, tempDir, waitFor } from '../support/harness.ts';

type OutLine = { custom_id: string; response: { status_code: number; body: { model: string; choices: { message: { content: string } }[]; usage: { prompt_tokens: number; completion_tokens: number } } } | null; error: unknown };

// A realistic labelling instruction (about 150 tokens), the part packing sends once per call instead of once per item.
const SYSTEM = [
  'You label customer support tickets for the operations team of a software company.',
  'Read the ticket and answer with the product area it concerns (export, import, billing, login, reporting, integrations or other),',
  'how urgent it is (low, normal, high: high only when a customer cannot work at all or data may be lost),',
  'and one concrete next step for the agent who picks it up, in a single short sentence.',
  'Do not repeat the ticket. Do not greet. Do not apologise. If the ticket is not about the product, say "other" and suggest closing it.',
  'Tickets come from the web form and may be terse, misspelled or in another language; answer in English either way.',
  'When a ticket names an error code, mention it in the next step so the agent can search the runbook for it.',
].join(' ');

function writeInput(dir: string, n: number, name: string, extra: Record<string, unknown> = {}): { path: string; ids: string[]; bodies: unknown[] } {
  const ids = Array.from({ length: n }, (_, i) => `t-${String(i + 1).padStart(5, '0')}`);
  const bodies = ids.map((_, i) => ({
    model: 'gpt-4o-mini',
    messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `Ticket ${i + 1}: export fails with error ${1000 + (i % 97)}.` }],
    max_tokens: 40,
    ...extra,
  }));
  const path = join(dir, name);
  writeFileSync(path, `${ids.map((id, i) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: bodies[i] })).join('\n')}\n`);
  return { path, ids, bodies };
}

/** gpt-4o-mini at the bundled prices: $0.15 / $0.60 per million tokens. */
const costOf = (s: { promptTokens: number; completionTokens: number }): number => (s.promptTokens * 0.15 + s.completionTokens * 0.6) / 1e6;

describe('request packing', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `pack-${Date.now()}`;

  beforeAll(async () => {
    // A little latency, as a real provider has: what packing saves in wall time is round trips.
    emu = await startEmulator({ port: 0, latencyMs: 20 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  /** Every item succeeded with its own answer; the items' usage and cost add up to what the emulator served. */
  function expectExact(status: RunStatus, ids: string[], bodies: unknown[], opts: { resent?: boolean } = {}): void {
    expect(status.state).toBe('completed');
    expect(status.counts).toEqual({ total: ids.length, succeeded: ids.length, failed: 0, rejected: 0, pending: 0 });
    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    for (const [i, l] of out.entries()) expect(l.response!.body.choices[0]!.message.content).toBe(generateCompletion(bodies[i] as never).content);
    const stats = emu.stats();
    expect(stats.duplicateCalls).toBe(0);
    expect(status.tokens.prompt).toBe(stats.promptTokens);
    expect(status.tokens.completion).toBe(stats.completionTokens);
    // The store's per-item usage and cost (status sums them) add up to what was served.
    expect(Math.abs(status.costUsd.spent - costOf(stats))).toBeLessThan(1e-6);
    // An item re-sent alone keeps its own call's body; its share of the pack that did not split is in the store only.
    if (opts.resent) return;
    expect(out.reduce((a, l) => a + l.response!.body.usage.prompt_tokens, 0)).toBe(stats.promptTokens);
    expect(out.reduce((a, l) => a + l.response!.body.usage.completion_tokens, 0)).toBe(stats.completionTokens);
    expect(Math.abs(out.reduce((a, l) => a + outputLineCostUsd(l, false), 0) - costOf(stats))).toBeLessThan(1e-6);
  }

  it('packs 2,000 items 10 to a call, each custom_id with its own answer, and measures it against the same items unpacked', async () => {
    const { path, ids, bodies } = writeInput(home, 2000, 'tickets.jsonl');

    emu.resetStats();
    let t0 = performance.now();
    const packed = await runToEnd(c, runConfig({ runId: `pack10-${Date.now()}`, inputPath: path, concurrency: 32, pack: 10 }), taskQueue);
    const packedMs = performance.now() - t0;
    const packedStats = emu.stats();
    expectExact(packed, ids, bodies);
    expect(packedStats.byEndpoint['/v1/chat/completions']).toBe(200);

    emu.resetStats();
    t0 = performance.now();
    const single = await runToEnd(c, runConfig({ runId: `pack1-${Date.now()}`, inputPath: path, concurrency: 32 }), taskQueue);
    const singleMs = performance.now() - t0;
    const singleStats = emu.stats();
    expectExact(single, ids, bodies);
    expect(singleStats.byEndpoint['/v1/chat/completions']).toBe(2000);

    const row = (name: string, s: typeof packedStats, spent: number, ms: number): string =>
      `${name.padEnd(9)} calls ${String(s.byEndpoint['/v1/chat/completions']).padStart(5)}  prompt tokens ${String(s.promptTokens).padStart(7)}  completion tokens ${String(s.completionTokens).padStart(6)}  cost $${spent.toFixed(6)}  wall ${(ms / 1000).toFixed(1)} s`;
    console.log(
      [
        'request packing, 2,000 items (gpt-4o-mini, 20 ms emulator latency, concurrency 32):',
        row('unpacked', singleStats, single.costUsd.spent, singleMs),
        row('--pack 10', packedStats, packed.costUsd.spent, packedMs),
        `packed / unpacked: calls ${(200 / 2000).toFixed(2)}, cost ${(packed.costUsd.spent / single.costUsd.spent).toFixed(2)}, wall time ${(packedMs / singleMs).toFixed(2)}`,
      ].join('\n'),
    );
    // The system prompt goes once per call instead of once per item.
    expect(packed.costUsd.spent).toBeLessThan(single.costUsd.spent);
  }, 240_000);

  it('re-sends alone the items of packs the emulator answered without one of their ids, none lost', async () => {
    const { path, ids, bodies } = writeInput(home, 2000, 'tickets-drop.jsonl');
    emu.resetStats();
    emu.configure({ packDropRate: 0.05 });
    try {
      const status = await runToEnd(c, runConfig({ runId: `packdrop-${Date.now()}`, inputPath: path, concurrency: 32, pack: 10 }), taskQueue);
      expectExact(status, ids, bodies, { resent: true });
      // 200 packs; each pack that came back short was re-sent as its 10 items alone.
      const calls = emu.stats().byEndpoint['/v1/chat/completions']!;
      const resent = calls - 200;
      expect(resent % 10).toBe(0);
      expect(resent / 10).toBeGreaterThanOrEqual(2);
      expect(resent / 10).toBeLessThanOrEqual(25);
      console.log(`--pack-drop-rate 0.05: ${resent / 10} of 200 packs came back short; their ${resent} items were re-sent alone (${calls} calls in all)`);
    } finally {
      emu.configure({ packDropRate: 0 });
    }
  }, 240_000);

  it('puts the user\'s schema inside each packed answer', async () => {
    const schema = { type: 'object', properties: { area: { type: 'string', enum: ['export', 'billing', 'login'] }, urgent: { type: 'boolean' } }, required: ['area', 'urgent'], additionalProperties: false };
    const { path, ids, bodies } = writeInput(home, 40, 'tickets-schema.jsonl', { response_format: { type: 'json_schema', json_schema: { name: 'triage', strict: true, schema } } });
    emu.resetStats();
    const status = await runToEnd(c, runConfig({ runId: `packschema-${Date.now()}`, inputPath: path, concurrency: 8, pack: 10 }), taskQueue);
    expectExact(status, ids, bodies);
    expect(emu.stats().byEndpoint['/v1/chat/completions']).toBe(4);
    for (const l of readJsonl<OutLine>(status.outputPath!)) expect(Object.keys(JSON.parse(l.response!.body.choices[0]!.message.content)).sort()).toEqual(['area', 'urgent']);
  }, 120_000);

  it('leaves to the exact cache the items it can answer', async () => {
    // max_tokens 200: no answer is cut short (a truncated answer is not shared with other runs).
    const { path, ids } = writeInput(home, 30, 'tickets-cached.jsonl', { max_tokens: 200 });
    // An earlier run, unpacked, shared its answers.
    await runToEnd(c, runConfig({ runId: `packcache1-${Date.now()}`, inputPath: path, concurrency: 8, cache: 'read-write' }), taskQueue);
    emu.resetStats();
    const status = await runToEnd(c, runConfig({ runId: `packcache2-${Date.now()}`, inputPath: path, concurrency: 8, cache: 'read-write', pack: 10 }), taskQueue);
    expect(status.counts.succeeded).toBe(ids.length);
    expect(status.cache?.hits).toBe(ids.length);
    expect(emu.stats().byEndpoint['/v1/chat/completions'] ?? 0).toBe(0);
  }, 120_000);

  it('loses nothing and records nothing twice when the worker dies between a packed call and its results', async () => {
    const { path, ids, bodies } = writeInput(home, 100, 'tickets-crash.jsonl');
    const runId = `packcrash-${Date.now()}`;
    const crashQueue = `${taskQueue}-crash`;
    const marker = join(home, `${runId}.crashed`);
    const env = { LLM_BATCH_CRASH_AT: 'pack:after-call', LLM_BATCH_CRASH_MARKER: marker };
    const workers: ChildProcess[] = [];
    emu.resetStats();
    try {
      const first = spawnWorker({ home, baseURL: emu.baseUrl, taskQueue: crashQueue, env });
      workers.push(first);
      const handle = await startRun(c, runConfig({ runId, inputPath: path, concurrency: 4, pack: 10, heartbeatTimeoutMs: 3000 }), crashQueue);
      await waitFor(() => first.exitCode !== null || first.signalCode !== null, 60_000, 'the worker to kill itself after a packed call');
      expect(existsSync(marker)).toBe(true);
      workers.push(spawnWorker({ home, baseURL: emu.baseUrl, taskQueue: crashQueue, env }));
      const status = (await handle.result()) as RunStatus;
      expect(status.state).toBe('completed');
      expect(status.counts).toMatchObject({ total: 100, succeeded: 100, failed: 0, pending: 0 });
      const out = readJsonl<OutLine>(status.outputPath!);
      expect(out.map((l) => l.custom_id)).toEqual(ids);
      for (const [i, l] of out.entries()) expect(l.response!.body.choices[0]!.message.content).toBe(generateCompletion(bodies[i] as never).content);
      // The packs in flight at the kill (at most the concurrency) were sent again, as packs.
      const stats = emu.stats();
      expect(stats.duplicateCalls).toBeGreaterThanOrEqual(1);
      expect(stats.duplicateCalls).toBeLessThanOrEqual(4);
      expect(stats.byEndpoint['/v1/chat/completions']).toBe(10 + stats.duplicateCalls);
    } finally {
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    }
  }, 120_000);
});
