// Quality spot-checks on a real Temporal dev server and the emulator over HTTP, through the
// real openai SDK. The emulator plays a judge that fails about 20% of answers: it draws
// boolean fields of Structured Outputs false at that rate (--boolean-false-rate), knowing
// nothing of our judge. A run checking every 100 items holds in quality_hold after its first
// checkpoint, alerts with the failing items, shows the pass rate, and `approve` lets it
// finish, with the judge's calls priced into its spend. A --check rules module holds a run
// the same way, and `reject` stops it.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startRun } from '../../src/client.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import type { RunConfig, RunStatus } from '../../src/domain/run-types.ts';
import type { AlertPayload } from '../../src/domain/alerts.ts';
import { stateHint, summaryTable } from '../../src/cli/format.ts';
import { chatLine, client, outputLineCostUsd, readJsonl, runConfig, startWorker, tempDir, startAlertReceiver, waitFor } from '../support/harness.ts';

type OutLine = { custom_id: string; response: { status_code: number; body: unknown } | null; error: { code: string; message: string } | null };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const status = (h: WorkflowHandle): Promise<RunStatus> => h.query<RunStatus>('status');

/** Approves the hold the run is in, then every later one, until the run ends: its final status and the approvals sent. */
async function approveEveryHold(handle: WorkflowHandle): Promise<{ final: RunStatus; approved: number }> {
  await handle.signal('approve');
  let approved = 1;
  const result = handle.result() as Promise<RunStatus>;
  let ended = false;
  void result.finally(() => (ended = true)).catch(() => {});
  while (!ended) {
    const s = await status(handle).catch(() => undefined);
    if (s?.state === 'quality_hold' && s.quality!.holding === approved + 1) {
      await handle.signal('approve');
      approved++;
    }
    await sleep(200);
  }
  return { final: await result, approved };
}

/** n chat lines named `name-00001`…; `flagged(i)` lines carry metadata.feature "flagged". */
function writeInput(dir: string, name: string, n: number, flagged: (i: number) => boolean = () => false): { path: string; ids: string[]; flaggedIds: Set<string> } {
  const ids = Array.from({ length: n }, (_, i) => `${name}-${String(i + 1).padStart(5, '0')}`);
  const lines = ids.map((id, i) => chatLine(id, `Ticket ${i + 1}: the report export times out after ${10 + (i % 17)} seconds. What should I check?`, { maxTokens: 120, ...(flagged(i) ? { feature: 'flagged' } : {}) }));
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, ids, flaggedIds: new Set(ids.filter((_, i) => flagged(i))) };
}

describe('quality spot-checks', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let receiver: Awaited<ReturnType<typeof startAlertReceiver>>;
  let webhook: string;
  const alerts: AlertPayload[] = [];
  const home = tempDir('spot-check-');
  const taskQueue = `spot-check-${Date.now()}`;
  const start = (config: RunConfig) => startRun(c, config, taskQueue);

  beforeAll(async () => {
    // A judge failing about 20% of the answers it is shown.
    emu = await startEmulator({ port: 0, booleanFalseRate: 0.2 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    receiver = await startAlertReceiver('/hooks/spot', alerts);
    webhook = receiver.url;
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
    receiver?.close();
  });

  it('a judge failing ~20% holds the run after its first checkpoint; the status shows the pass rate; approve finishes it, the judge priced into spend', async () => {
    emu.resetStats();
    const { path, ids } = writeInput(home, 'judged', 200);
    const runId = `judged-${Date.now()}`;
    const judgePrompt = 'You review answers to customer support tickets. Pass an answer that addresses the ticket; fail one that does not, and say why.';
    const handle = await start(runConfig({
      runId, inputPath: path, chunkSize: 50, maxChunksInFlight: 2, concurrency: 8, alertWebhook: webhook,
      // Few events per run: the spot-check state must survive continue-as-new.
      continueAsNewAfterEvents: 30,
      spotCheck: { size: 20, everyItems: 100, judgeModel: 'gpt-4.1-mini', judgePrompt, minPassRate: 0.95, seed: 42 },
    }));
    await waitFor(async () => (await status(handle)).state === 'quality_hold', 90_000, 'the run to hold in quality_hold');
    const held = await status(handle);
    const cp = held.quality!.checkpoints[0]!;
    // The first checkpoint, after 100+ items (what was in flight settled first), failed the gate.
    expect(held.quality!.checkpoints).toHaveLength(1);
    expect(held.quality!.holding).toBe(1);
    expect(cp).toMatchObject({ index: 1, checked: 20, outcome: 'hold' });
    expect(cp.passRate).toBeLessThan(0.95);
    expect(cp.passRate).toBeGreaterThanOrEqual(0.5);
    expect(cp.passRate).toBe(Math.round((cp.passed / 20) * 1e6) / 1e6);
    expect(cp.failures).toHaveLength(20 - cp.passed);
    for (const f of cp.failures) {
      expect(ids).toContain(f.customId);
      expect(f.reason).toMatch(/^judge: /);
    }
    const done = held.counts.succeeded + held.counts.failed;
    expect(done).toBeGreaterThanOrEqual(100);
    expect(held.counts.pending).toBeGreaterThan(0);
    // One judge call per sampled item, each under its own request id.
    const judgeCalls = emu.requests().filter((r) => r.id?.endsWith('#judge-1'));
    expect(judgeCalls).toHaveLength(20);
    // Held: nothing is dispatched.
    const served = emu.stats().served;
    await sleep(1500);
    expect(emu.stats().served).toBe(served);
    expect((await status(handle)).counts.pending).toBe(held.counts.pending);
    // The alert names the failing items and why.
    await waitFor(() => alerts.some((a) => a.runId === runId && a.event === 'quality_hold'), 15_000, 'the quality_hold alert');
    const alert = alerts.find((a) => a.runId === runId && a.event === 'quality_hold')!;
    for (const f of cp.failures) expect(alert.summary.detail).toContain(`${f.customId}: ${f.reason}`);
    expect(alert.text).toContain('spot-check below the minimum pass rate');
    // What `llm-batch status` prints: the checkpoint's pass rate, the failing items, the commands.
    const pct = `${Math.round(cp.passRate * 1000) / 10}%`;
    const table = summaryTable(held, 1000);
    expect(table).toContain(`#1 ${pct} (${cp.passed}/20) HOLD`);
    expect(table).toContain(cp.failures[0]!.customId);
    expect(stateHint(held)).toContain(`llm-batch approve ${runId}`);

    // Later checkpoints (every 100 items, the last one at the end) may hold too: each is approved.
    const { final, approved } = await approveEveryHold(handle);
    expect(final.state).toBe('completed');
    expect(final.counts).toMatchObject({ succeeded: 200, failed: 0, pending: 0 });
    expect(final.quality!.checkpoints[0]).toMatchObject({ index: 1, outcome: 'approved' });
    // Every 100 items: one more checkpoint at most, over items no earlier one held.
    expect(final.quality!.checkpoints.length).toBeLessThanOrEqual(2);
    for (const k of final.quality!.checkpoints) expect(['pass', 'approved']).toContain(k.outcome);
    expect(approved).toBe(final.quality!.checkpoints.filter((k) => k.outcome === 'approved').length);
    expect(final.quality!.holding).toBeUndefined();
    const first = (await c.workflow.getHandle(runId).describe()).runId;
    expect(first).not.toBe(handle.firstExecutionRunId);
    // The judge's spend, priced from what the emulator billed its model, is part of the run's.
    const judge = emu.stats().byModel['gpt-4.1-mini']!;
    expect(judge.served).toBe(20 * final.quality!.checkpoints.length);
    const judgeUsd = costOfUsage(loadDefaultPricing(), 'gpt-4.1-mini', { promptTokens: judge.promptTokens, cachedTokens: judge.cachedTokens, completionTokens: judge.completionTokens, reasoningTokens: 0 });
    expect(final.quality!.judgeCostUsd).toBeCloseTo(judgeUsd, 9);
    const out = readJsonl<OutLine>(final.outputPath!);
    expect(out.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    const itemsUsd = out.reduce((sum, l) => sum + outputLineCostUsd(l as never, false), 0);
    expect(Math.abs(final.costUsd.spent - (itemsUsd + judgeUsd))).toBeLessThan(1e-6);
    expect(summaryTable(final, 1000)).toMatch(/#1 [\d.]+% \(\d+\/20\) held → approved/);
    // Every run of the chain (holds, approvals, continue-as-new) replays on the workflow code.
    let replayed = 0;
    for await (const w of c.workflow.list({ query: `WorkflowId = "${runId}"` })) {
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, await c.workflow.getHandle(runId, w.runId).fetchHistory(), `${runId}/${w.runId}`);
      replayed++;
    }
    expect(replayed).toBeGreaterThan(1);
  }, 180_000);

  it('a --check rules module holds the run on its reasons; reject stops it with the rest not processed', async () => {
    emu.resetStats();
    // Every third item is flagged; the rules module fails flagged items and checks what it is given.
    const { path, ids, flaggedIds } = writeInput(home, 'ruled', 200, (i) => i % 3 === 0);
    const checkPath = join(home, 'check.mjs');
    writeFileSync(checkPath, `
export default function check(item, answer, response) {
  if (typeof answer !== 'string' || answer !== response.choices[0].message.content) return 'answer is not the response content';
  if (!Array.isArray(item.body.messages) || item.body.model !== 'gpt-4o-mini') return 'item.body is not the request';
  return item.metadata.feature === 'flagged' ? 'flagged item ' + item.custom_id + ' (' + answer.split(' ').length + ' words)' : true;
}
`);
    const runId = `ruled-${Date.now()}`;
    const handle = await start(runConfig({
      runId, inputPath: path, chunkSize: 50, maxChunksInFlight: 2, concurrency: 8,
      spotCheck: { size: 30, everyItems: 100, checkModule: checkPath, minPassRate: 0.9, seed: 7 },
    }));
    await waitFor(async () => (await status(handle)).state === 'quality_hold', 90_000, 'the run to hold in quality_hold');
    const cp = (await status(handle)).quality!.checkpoints[0]!;
    expect(cp).toMatchObject({ index: 1, checked: 30, outcome: 'hold' });
    expect(cp.passed).toBeLessThan(27);
    // Failures are the flagged items, for the module's reason; at most 10 are listed.
    expect(cp.failures).toHaveLength(Math.min(10, 30 - cp.passed));
    for (const f of cp.failures) {
      expect(flaggedIds.has(f.customId)).toBe(true);
      expect(f.reason).toMatch(new RegExp(`^flagged item ${f.customId} \\(\\d+ words\\)$`));
    }
    // Rules only: no judge call was made.
    expect(emu.requests().filter((r) => r.id?.includes('#judge-'))).toHaveLength(0);

    await handle.signal('reject');
    const final = (await handle.result()) as RunStatus;
    expect(final.state).toBe('rejected');
    expect(final.quality!.checkpoints[0]!.outcome).toBe('rejected');
    expect(final.counts.pending).toBeGreaterThan(0);
    const errors = readJsonl<OutLine>(final.errorsPath!);
    expect(errors).toHaveLength(final.counts.pending);
    for (const e of errors) expect(e.error!.code).toBe('rejected');
    expect(readJsonl<OutLine>(final.outputPath!).length + errors.length).toBe(ids.length);
  }, 180_000);

  it('with --window, a checkpoint at each window\'s end: the judge holds the run after the first window, nothing of the next starts, approve continues it', async () => {
    emu.resetStats();
    const { path, ids } = writeInput(home, 'windowed', 120);
    const runId = `windowed-${Date.now()}`;
    const handle = await start(runConfig({
      runId, inputPath: path, chunkSize: 30, maxChunksInFlight: 2, concurrency: 8,
      window: { everyMs: 2000, items: 60 },
      spotCheck: { size: 20, judgeModel: 'gpt-4.1-mini', judgePrompt: 'Pass an answer that addresses the ticket; fail one that does not, and say why.', minPassRate: 0.95, seed: 42 },
    }));
    await waitFor(async () => (await status(handle)).state === 'quality_hold', 90_000, 'the run to hold after its first window');
    const held = await status(handle);
    // The hold comes at the first window's end: exactly its 60 items done, the window not yet closed.
    expect(held.counts.succeeded + held.counts.failed).toBe(60);
    expect(held.quality!.checkpoints[0]).toMatchObject({ index: 1, checked: 20, outcome: 'hold' });
    expect(held.windowsEnded ?? []).toHaveLength(0);
    // Held past the window's length: the next window does not start.
    const served = emu.stats().served;
    await sleep(2500);
    expect(emu.stats().served).toBe(served);
    expect((await status(handle)).state).toBe('quality_hold');

    const { final } = await approveEveryHold(handle);
    expect(final.state).toBe('completed');
    expect(final.counts).toMatchObject({ succeeded: 120, pending: 0 });
    // Two windows of 60, each checked at its end.
    expect(final.windowsEnded!.map((w) => w.items)).toEqual([60, 60]);
    expect(final.quality!.checkpoints.map((k) => k.index)).toEqual([1, 2]);
    expect(final.quality!.checkpoints[0]!.outcome).toBe('approved');
    expect(readJsonl<OutLine>(final.outputPath!).map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  }, 180_000);
});
