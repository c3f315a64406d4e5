// Run control against a real Temporal dev server and the emulator over HTTP, through the
// real openai SDK: budget with reservations (stop, raise, yellow switch), the circuit
// breaker during an outage, pause/resume, cancel, sample-and-approve, alerts. Operator
// signals are sent as the Temporal UI sends them: by name, with JSON input.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { getRunStatus, startRun } from '../../src/client.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import { loadPricing } from '../../src/llm/pricing-file.ts';
import type { RunConfig, RunStatus } from '../../src/domain/run-types.ts';
import type { AlertPayload } from '../../src/domain/alerts.ts';
import { chatLine, client, readJsonl, runConfig, startWorker, tempDir, startAlertReceiver, waitFor } from '../support/harness.ts';

type OutLine = {
  custom_id: string;
  response: { status_code: number; body: { model: string; usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } } } | null;
  error: { code: string; message: string } | null;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** n chat lines allowing 200 output tokens (the emulator writes 16–96): reservations start far above actual use. */
function writeInput(dir: string, name: string, n: number): { path: string; ids: string[] } {
  const ids = Array.from({ length: n }, (_, i) => `${name}-${String(i + 1).padStart(5, '0')}`);
  const lines = ids.map((id, i) => chatLine(id, `Ticket ${i + 1}: the invoice total is wrong by ${i % 13} cents. Explain the likely cause.`, { maxTokens: 200 }));
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, ids };
}

/** Spend recomputed from the output lines' own usage, priced with the bundled table. */
async function pricedOutput(lines: OutLine[]): Promise<number> {
  const pricing = await loadPricing();
  let usd = 0;
  for (const l of lines) {
    const u = l.response!.body.usage;
    usd += costOfUsage(pricing, l.response!.body.model, { promptTokens: u.prompt_tokens, cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0, completionTokens: u.completion_tokens, reasoningTokens: 0 });
  }
  return usd;
}

const status = (h: WorkflowHandle): Promise<RunStatus> => h.query<RunStatus>('status');

describe('run control', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let receiver: Awaited<ReturnType<typeof startAlertReceiver>>;
  let webhook: string;
  const alerts: AlertPayload[] = [];
  const home = tempDir();
  const taskQueue = `control-${Date.now()}`;
  const start = (config: RunConfig) => startRun(c, config, taskQueue);
  const eventsOf = (runId: string): string[] => alerts.filter((a) => a.runId === runId).map((a) => a.event);

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    // The alert webhook: a local receiver that keeps what it is sent.
    receiver = await startAlertReceiver('/hooks/T000/secret-token', alerts);
    webhook = receiver.url;
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
    receiver?.close();
  });

  it('budget: stops part way within budget + what was in flight, switches to the fallback at yellow, and a raise finishes the run', async () => {
    emu.configure({ latencyMs: 20 });
    emu.resetStats();
    const { path, ids } = writeInput(home, 'budget', 600);
    const runId = `budget-${Date.now()}`;
    const budget = 0.008; // about 40% of what the 600 items cost
    const handle = await start(runConfig({ runId, inputPath: path, chunkSize: 50, maxChunksInFlight: 2, concurrency: 8, budgetUsd: budget, fallbackModel: 'gpt-4.1-nano', alertWebhook: webhook }));

    let maxReserved = 0;
    let s = await status(handle);
    while (s.state !== 'budget_exhausted') {
      expect(['staging', 'running']).toContain(s.state);
      maxReserved = Math.max(maxReserved, s.costUsd.reserved);
      await sleep(50);
      s = await status(handle);
    }
    // Spend went past the budget by at most what was in flight (a chunk stops at its cap).
    expect(s.costUsd.spent).toBeGreaterThan(budget * 0.8);
    expect(s.costUsd.spent).toBeLessThanOrEqual(budget + maxReserved * 1.5 + 1e-12);
    expect(s.costUsd.overshoot).toBeCloseTo(Math.max(0, s.costUsd.spent - budget), 9);
    expect(s.costUsd.reserved).toBe(0);
    expect(s.budgetState).toBe('red');
    expect(s.counts.pending).toBeGreaterThan(100);
    // Yellow switched the model once, and says when.
    expect(s.modelSwitch).toMatchObject({ from: 'gpt-4o-mini', to: 'gpt-4.1-nano' });
    expect(s.modelSwitch!.spentUsd).toBeGreaterThanOrEqual(budget * 0.8);
    // Nothing is dispatched while the budget is exhausted.
    const served = emu.stats().served;
    await sleep(2000);
    expect(emu.stats().served).toBe(served);
    // An operator can list the runs waiting on their budget.
    await waitFor(async () => {
      for await (const w of c.workflow.list({ query: `LlmBatchState = "budget_exhausted" AND WorkflowId = "${runId}"` })) if (w.workflowId === runId) return true;
      return false;
    }, 15_000, 'the run to be listed as budget_exhausted');

    // A malformed signal is refused with a reason and changes nothing.
    await handle.signal('raiseBudget', { amountUsd: 'a lot' });
    await waitFor(async () => (await status(handle)).lastSignalError !== undefined, 5000, 'the refusal');
    expect((await status(handle)).lastSignalError).toMatch(/amountUsd/);
    expect((await status(handle)).costUsd.budget).toBe(budget);

    // The UI's way: the signal by name with JSON input.
    await handle.signal('raiseBudget', { amountUsd: 1 });
    const final = (await handle.result()) as RunStatus;
    expect(final.state).toBe('completed');
    expect(final.costUsd.budget).toBeCloseTo(budget + 1, 12);
    const out = readJsonl<OutLine>(final.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    const models = new Set(out.map((l) => l.response!.body.model));
    expect(models).toEqual(new Set(['gpt-4o-mini', 'gpt-4.1-nano']));
    // Work after the switch went to the fallback: the last lines all used it.
    expect(out.slice(-100).every((l) => l.response!.body.model === 'gpt-4.1-nano')).toBe(true);
    // Spend is what the output lines' usage costs, to 1e-6, and nothing was paid twice.
    expect(Math.abs(final.costUsd.spent - (await pricedOutput(out)))).toBeLessThan(1e-6);
    expect(emu.stats().duplicateCalls).toBe(0);
    await waitFor(() => eventsOf(runId).includes('completed'), 10_000, 'the completed alert');
    expect(eventsOf(runId)).toEqual(['budget_yellow', 'budget_red', 'completed']);
    const yellow = alerts.find((a) => a.runId === runId && a.event === 'budget_yellow')!;
    expect(yellow.text).toContain(runId);
    expect(yellow.summary.budgetUsd).toBe(budget);
  });

  it('circuit breaker: an outage opens it, the provider then sees only probes, and the run completes with no failed item', async () => {
    // A fresh emulator, so the outage window is known: it starts once the run is under way, for 5 s.
    const t0 = Date.now();
    const down = await startEmulator({ port: 0, latencyMs: 20 });
    const downWorker = await startWorker({ home: tempDir(), baseURL: down.baseUrl, taskQueue: `${taskQueue}-cb` });
    try {
      const { path, ids } = writeInput(home, 'circuit', 600);
      const runId = `circuit-${Date.now()}`;
      const handle = await startRun(c, runConfig({ runId, inputPath: path, chunkSize: 50, concurrency: 8, circuitFailureThreshold: 5, circuitInitialDelayMs: 1000, circuitMaxDelayMs: 2000, alertWebhook: webhook }), `${taskQueue}-cb`);
      await waitFor(() => down.stats().served >= 50, 30_000, '50 items served');
      // Outages are relative to the emulator's start, which was at or after t0.
      const outageStart = Date.now() - t0;
      down.configure({ outages: [{ startMs: outageStart, durationMs: 5000 }] });
      const outageEnd = t0 + outageStart + 5000;
      let openedAt: number | undefined;
      let sawOpen = false;
      for (;;) {
        const s = await status(handle);
        if (s.circuit.openedAt) openedAt ??= Date.parse(s.circuit.openedAt);
        if (s.state === 'circuit_open') sawOpen = true;
        if (['completed', 'failed'].includes(s.state)) break;
        await sleep(100);
      }
      const final = (await handle.result()) as RunStatus;
      expect(sawOpen).toBe(true);
      expect(final.state).toBe('completed');
      expect(final.counts, JSON.stringify(final)).toMatchObject({ succeeded: 600, failed: 0 });
      expect(final.circuit).toMatchObject({ state: 'closed', openings: 1 });
      expect(final.circuit.probes).toBeGreaterThanOrEqual(2);
      expect(readJsonl<OutLine>(final.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      // While open (from its opening to the outage's end), the provider received probes only:
      // one call per probe, no item retries, no new chunk.
      const during = down.requests(openedAt!).filter((r) => r.at < outageEnd - 50);
      expect(during.length).toBeLessThanOrEqual(final.circuit.probes - 1);
      expect(during.length).toBeGreaterThanOrEqual(1);
      expect(down.stats().duplicateCalls).toBe(0);
      await waitFor(() => eventsOf(runId).includes('completed'), 10_000, 'the completed alert');
      expect(eventsOf(runId)).toEqual(['circuit_open', 'circuit_closed', 'completed']);
      // The run's whole history replays on the workflow code: a query on an evicted run (which
      // replays it) can never meet a nondeterminism error.
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, await handle.fetchHistory(), runId);
    } finally {
      await downWorker.stop();
      await down.close();
    }
  });

  it('pause stops calls within seconds; resume completes with no duplicate beyond what was in flight', async () => {
    emu.configure({ latencyMs: 40 });
    emu.resetStats();
    const { path, ids } = writeInput(home, 'pause', 800);
    const runId = `pause-${Date.now()}`;
    const concurrency = 8;
    const handle = await start(runConfig({ runId, inputPath: path, chunkSize: 100, concurrency }));
    await waitFor(() => emu.stats().served >= 100, 30_000, '100 items served');
    await handle.signal('pause');
    await waitFor(async () => (await status(handle)).state === 'paused', 5000, 'state paused');
    // Within 5 s the call count goes flat, and stays flat.
    const pausedAt = Date.now();
    let last = emu.stats().requests;
    for (;;) {
      await sleep(1000);
      const now = emu.stats().requests;
      if (now === last) break;
      last = now;
      expect(Date.now() - pausedAt).toBeLessThan(5000);
    }
    await sleep(3000);
    expect(emu.stats().requests).toBe(last);
    const paused = await getRunStatus(c, runId);
    expect(paused.state).toBe('paused');
    expect(paused.counts.pending).toBeGreaterThan(0);
    expect(paused.chunks.inFlight).toEqual([]);

    await handle.signal('resume');
    const final = (await handle.result()) as RunStatus;
    expect(final.state).toBe('completed');
    expect(readJsonl<OutLine>(final.outputPath!).map((l) => l.custom_id)).toEqual(ids);
    expect(emu.stats().duplicateCalls).toBeLessThanOrEqual(concurrency);
    expect(Math.abs(final.costUsd.spent - (await pricedOutput(readJsonl<OutLine>(final.outputPath!))))).toBeLessThan(1e-6);
  });

  it('cancel stops the run, exports what was done and lists the rest as cancelled', async () => {
    emu.configure({ latencyMs: 40 });
    emu.resetStats();
    const { path, ids } = writeInput(home, 'cancel', 800);
    const runId = `cancel-${Date.now()}`;
    const handle = await start(runConfig({ runId, inputPath: path, chunkSize: 100, concurrency: 8, alertWebhook: webhook }));
    await waitFor(() => emu.stats().served >= 100, 30_000, '100 items served');
    await handle.signal('cancel');
    const final = (await handle.result()) as RunStatus;
    expect(final.state).toBe('cancelled');
    const out = readJsonl<OutLine>(final.outputPath!);
    const errors = readJsonl<OutLine>(final.errorsPath!);
    expect(out.length).toBe(final.counts.succeeded);
    expect(out.length).toBeGreaterThanOrEqual(100);
    expect(errors.length).toBe(800 - out.length);
    expect(new Set(errors.map((l) => l.error!.code))).toEqual(new Set(['cancelled']));
    // Every input is in exactly one file.
    expect([...out, ...errors].map((l) => l.custom_id).sort()).toEqual(ids);
    // Calls stop: nothing arrives after the run ended.
    const served = emu.stats().requests;
    await sleep(1500);
    expect(emu.stats().requests).toBe(served);
    await waitFor(() => eventsOf(runId).includes('cancelled'), 10_000, 'the cancelled alert');
  });

  it('sample and approve: measures a random sample, waits for approval, then runs the rest', async () => {
    emu.configure({ latencyMs: 0 });
    emu.resetStats();
    const { path, ids } = writeInput(home, 'approve', 500);
    const runId = `approve-${Date.now()}`;
    const handle = await start(runConfig({ runId, inputPath: path, chunkSize: 100, sampleSize: 50, approve: true, alertWebhook: webhook }));
    await waitFor(async () => (await status(handle)).state === 'awaiting_approval', 30_000, 'awaiting_approval');
    const s = await status(handle);
    // Only the sample was sent, and it is spread over the file, not its first lines.
    expect(emu.stats().served).toBe(50);
    expect(s.counts.succeeded).toBe(50);
    expect(s.sample!.measured).toBe(50);
    expect(s.sample!.meanOutputTokens).toBeGreaterThan(10);
    expect(s.sample!.totalUsd.low).toBeLessThanOrEqual(s.sample!.totalUsd.estimate);
    expect(s.sample!.totalUsd.estimate).toBeLessThanOrEqual(s.sample!.totalUsd.high);
    await waitFor(() => eventsOf(runId).includes('awaiting_approval'), 10_000, 'the approval alert');
    // Still waiting a moment later: nothing more is sent until approval.
    await sleep(1000);
    expect(emu.stats().served).toBe(50);

    await handle.signal('approve');
    const final = (await handle.result()) as RunStatus;
    expect(final.state).toBe('completed');
    const out = readJsonl<OutLine>(final.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    expect(emu.stats().duplicateCalls).toBe(0);
    // The sample's extrapolation was close to what the whole run cost.
    expect(Math.abs(s.sample!.totalUsd.estimate - final.costUsd.spent) / final.costUsd.spent).toBeLessThan(0.2);
  });

  it('sample and reject: the run ends rejected and keeps the sample results', async () => {
    emu.resetStats();
    const { path, ids } = writeInput(home, 'reject', 300);
    const runId = `reject-${Date.now()}`;
    const handle = await start(runConfig({ runId, inputPath: path, chunkSize: 100, sampleSize: 30, approve: true }));
    await waitFor(async () => (await status(handle)).state === 'awaiting_approval', 30_000, 'awaiting_approval');
    await handle.signal('reject');
    const final = (await handle.result()) as RunStatus;
    expect(final.state).toBe('rejected');
    const out = readJsonl<OutLine>(final.outputPath!);
    const errors = readJsonl<OutLine>(final.errorsPath!);
    expect(out).toHaveLength(30);
    expect(errors).toHaveLength(270);
    expect(new Set(errors.map((l) => l.error!.code))).toEqual(new Set(['rejected']));
    expect([...out, ...errors].map((l) => l.custom_id).sort()).toEqual(ids);
    expect(emu.stats().served).toBe(30);
  });

  it('declares its signals and query with descriptions, as the Temporal UI lists them', async () => {
    const { path } = writeInput(home, 'meta', 20);
    const runId = `meta-${Date.now()}`;
    const handle = await start(runConfig({ runId, inputPath: path, sampleSize: 5, approve: true, alertWebhook: 'env:SOME_SECRET_HOOK' }));
    await waitFor(async () => (await status(handle)).state === 'awaiting_approval', 30_000, 'awaiting_approval');
    const meta = await handle.query<{ definition: { signalDefinitions: { name: string; description?: string }[]; queryDefinitions: { name: string; description?: string }[] } }>('__temporal_workflow_metadata');
    const signals = Object.fromEntries(meta.definition.signalDefinitions.map((d) => [d.name, d.description]));
    for (const name of ['pause', 'resume', 'cancel', 'raiseBudget', 'setBudget', 'approve', 'reject', 'probe']) expect(signals[name]).toBeTruthy();
    expect(signals.raiseBudget).toContain('amountUsd');
    expect(meta.definition.queryDefinitions.find((q) => q.name === 'status')?.description).toBeTruthy();
    // The memo holds the configuration; the summary says what the run is.
    const desc = await handle.describe();
    const memo = desc.memo as { config: RunConfig };
    expect(memo.config.runId).toBe(runId);
    expect(memo.config.alertWebhook).toBe('env:SOME_SECRET_HOOK');
    expect(await desc.staticSummary()).toContain('sample 5 + approval');
    await handle.signal('cancel');
    expect(((await handle.result()) as RunStatus).state).toBe('cancelled');
  });
});
