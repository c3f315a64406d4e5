// The durable realtime pipeline against a real Temporal dev server and the emulator over
// HTTP, through the real openai SDK: completion, order, content, continue-as-new, faults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { getRunStatus, startRun } from '../../src/client.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { generateCompletion } from '../../src/emulator/chat.ts';
import { client, readJsonl, runConfig, runToEnd, startWorker, tempDir, writeChatInput, chatLine } from '../support/harness.ts';

type OutLine = { id: string; custom_id: string; response: { status_code: number; body: { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } } } | null; error: { code: string; message: string } | null };

describe('realtime pipeline', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `pipeline-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('runs 2,000 items: one output line per custom_id, in input order, with the emulator\'s content', async () => {
    emu.resetStats();
    const { path, ids, lines } = writeChatInput(home, 2000, 'two-thousand.jsonl');
    const status = await runToEnd(c, runConfig({ runId: `p2000-${Date.now()}`, inputPath: path, concurrency: 32 }), taskQueue);

    expect(status.state).toBe('completed');
    expect(status.counts).toEqual({ total: 2000, succeeded: 2000, failed: 0, rejected: 0, pending: 0 });
    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    expect(readJsonl(status.errorsPath!)).toEqual([]);
    for (const [i, l] of out.entries()) {
      const body = JSON.parse(lines[i]!).body;
      expect(l.response!.status_code).toBe(200);
      expect(l.response!.body.choices[0]!.message.content).toBe(generateCompletion(body).content);
    }
    // Money and tokens are what the provider reported, summed.
    const stats = emu.stats();
    expect(stats.served).toBe(2000);
    expect(stats.duplicateCalls).toBe(0);
    expect(status.tokens.prompt).toBe(stats.promptTokens);
    expect(status.tokens.completion).toBe(stats.completionTokens);
    const expectedCost = (stats.promptTokens * 0.15 + stats.completionTokens * 0.6) / 1e6;
    expect(status.costUsd.spent).toBeCloseTo(expectedCost, 9);
  });

  it('continues as new past the event threshold and still completes every item', async () => {
    const { path, ids } = writeChatInput(home, 600, 'can.jsonl');
    const runId = `pcan-${Date.now()}`;
    const handle = await startRun(c, runConfig({ runId, inputPath: path, chunkSize: 25, maxChunksInFlight: 3, continueAsNewAfterEvents: 40 }), taskQueue);
    const status = (await handle.result()) as { state: string; counts: { succeeded: number }; outputPath: string };
    expect(status.state).toBe('completed');
    expect(status.counts.succeeded).toBe(600);
    expect(readJsonl<OutLine>(status.outputPath).map((l) => l.custom_id)).toEqual(ids);
    // The first execution ended in continue-as-new: the path really ran.
    const first = await c.workflow.getHandle(runId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    const latest = await c.workflow.getHandle(runId).describe();
    expect(latest.runId).not.toBe(handle.firstExecutionRunId);
  });

  it('rides out a 429 storm with no failed item', async () => {
    emu.resetStats();
    // 400 requests against a 1,200-RPM account the client was not told about. The emulator
    // enforces it over its default 1 s window (20 requests), as OpenAI does, so calls sent
    // before the limiter knows that bucket are answered 429; it learns it from the headers and
    // paces the rest at 20/s (about 20 s). (With the whole-minute bucket, limitWindowMs 60 s,
    // the limiter's first-contact probe learns the limit before any 429: no storm at all.)
    emu.configure({ rpm: 1200 });
    try {
      const { path } = writeChatInput(home, 400, 'storm.jsonl');
      const status = await runToEnd(c, runConfig({ runId: `pstorm-${Date.now()}`, inputPath: path, concurrency: 32 }), taskQueue);
      expect(status.state).toBe('completed');
      expect(status.counts.failed).toBe(0);
      expect(status.counts.succeeded).toBe(400);
      expect(emu.stats().rateLimited).toBeGreaterThan(0);
    } finally {
      emu.configure({ rpm: 0 });
    }
  });

  it('completes with 20% of calls answered 5xx', async () => {
    emu.resetStats();
    emu.configure({ errorRate: 0.2 });
    try {
      const { path } = writeChatInput(home, 1000, 'flaky.jsonl');
      const status = await runToEnd(c, runConfig({ runId: `p5xx-${Date.now()}`, inputPath: path, maxAttemptsPerItem: 10 }), taskQueue);
      expect(status.state).toBe('completed');
      expect(status.counts.succeeded).toBe(1000);
      expect(emu.stats().serverErrors).toBeGreaterThan(100);
      expect(emu.stats().duplicateCalls).toBe(0);
    } finally {
      emu.configure({ errorRate: 0 });
    }
  });

  it('writes every bad line to rejects.jsonl and runs the rest', async () => {
    const lines = [
      chatLine('ok-1', 'hello'),
      '{"custom_id": "broken", "method": "POST"',
      '',
      JSON.stringify({ custom_id: 'get-1', method: 'GET', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] } }),
      JSON.stringify({ custom_id: 'url-1', method: 'POST', url: '/v1/completions', body: { model: 'gpt-4o-mini', prompt: 'x' } }),
      JSON.stringify({ custom_id: 'nomodel-1', method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x' }] } }),
      JSON.stringify({ custom_id: 'nomsg-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini' } }),
      JSON.stringify({ custom_id: 'stream-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] } }),
      chatLine('ok-1', 'the same id again'),
      JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] } }),
      '[1, 2, 3]',
      chatLine('ok-2', 'world'),
    ];
    const path = join(home, 'bad.jsonl');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const status = await runToEnd(c, runConfig({ runId: `pbad-${Date.now()}`, inputPath: path }), taskQueue);

    expect(status.state).toBe('completed');
    expect(status.counts).toMatchObject({ total: 2, succeeded: 2, rejected: 10 });
    const rejects = readJsonl<{ line: number; custom_id: string | null; code: string }>(status.rejectsPath!);
    expect(rejects.map(({ line, custom_id, code }) => ({ line, custom_id, code })).sort((a, b) => a.line - b.line)).toEqual([
      { line: 2, custom_id: null, code: 'invalid_json' },
      { line: 3, custom_id: null, code: 'empty_line' },
      { line: 4, custom_id: 'get-1', code: 'invalid_method' },
      { line: 5, custom_id: 'url-1', code: 'invalid_url' },
      { line: 6, custom_id: 'nomodel-1', code: 'missing_required_parameter' },
      { line: 7, custom_id: 'nomsg-1', code: 'missing_required_parameter' },
      { line: 8, custom_id: 'stream-1', code: 'streaming_unsupported' },
      { line: 9, custom_id: 'ok-1', code: 'duplicate_custom_id' },
      { line: 10, custom_id: null, code: 'missing_required_parameter' },
      { line: 11, custom_id: null, code: 'not_an_object' },
    ]);
    // lines = accepted + rejected
    expect(status.counts.total + status.counts.rejected).toBe(lines.length);
    expect(readJsonl<OutLine>(status.outputPath!).map((l) => l.custom_id)).toEqual(['ok-1', 'ok-2']);
  });

  it('stops dispatching on insufficient_quota and lists the undone items', async () => {
    emu.resetStats();
    emu.configure({ quotaExhausted: true });
    try {
      const { path, ids } = writeChatInput(home, 300, 'quota.jsonl');
      const status = await runToEnd(c, runConfig({ runId: `pquota-${Date.now()}`, inputPath: path, chunkSize: 100, maxChunksInFlight: 1, concurrency: 4 }), taskQueue);
      expect(status.state).toBe('quota_exhausted');
      expect(status.counts.succeeded).toBe(0);
      // The first chunk saw the quota error; the other chunks were never dispatched.
      expect(emu.stats().quotaRejected).toBeLessThanOrEqual(4);
      const errors = readJsonl<OutLine>(status.errorsPath!);
      expect(errors.map((l) => l.custom_id)).toEqual(ids);
      expect(new Set(errors.map((l) => l.error!.code))).toEqual(new Set(['insufficient_quota']));
    } finally {
      emu.configure({ quotaExhausted: false });
    }
  });
});

describe('a run that cannot start', () => {
  it('fails with the reason when a model has no price, and its status says so', async () => {
    const emu = await startEmulator({ port: 0 });
    const home = tempDir();
    const taskQueue = `nopricing-${Date.now()}`;
    const worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    try {
      const path = join(home, 'unknown-model.jsonl');
      writeFileSync(path, `${chatLine('a', 'x', { model: 'my-local-llama' })}\n`);
      const c = await client();
      const runId = `pnoprice-${Date.now()}`;
      const handle = await startRun(c, runConfig({ runId, inputPath: path }), taskQueue);
      const err = await handle.result().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String((err as Error & { cause?: Error }).cause?.message)).toMatch(/my-local-llama.*--pricing/s);
      const status = await getRunStatus(c, runId);
      expect(status.state).toBe('failed');
      expect(status.error).toContain('my-local-llama');
      expect(emu.stats().requests).toBe(0);
    } finally {
      await worker.stop();
      await emu.close();
    }
  });
});
