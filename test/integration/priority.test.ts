// A run's --priority as Temporal task priority: on the run's workflow, its chunk child
// workflows and every activity they schedule (across continue-as-new), in the search
// attribute LlmBatchPriority, and in the run's status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { getRunStatus, runSummary, startRun } from '../../src/client.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { LlmBatchPriority } from '../../src/workflows/search-attributes.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { client, runConfig, startWorker, tempDir, waitFor, writeChatInput } from '../support/harness.ts';

/** The priority keys of what a workflow's history scheduled: activities and child workflows. */
async function scheduledPriorities(c: Client, workflowId: string, runId?: string): Promise<{ activities: (number | undefined)[]; children: (number | undefined)[] }> {
  const history = await c.workflow.getHandle(workflowId, runId).fetchHistory();
  const activities: (number | undefined)[] = [];
  const children: (number | undefined)[] = [];
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a) activities.push(a.priority?.priorityKey ?? undefined);
    const ch = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (ch) children.push(ch.priority?.priorityKey ?? undefined);
  }
  return { activities, children };
}

describe('run priority', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `priority-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('priority 1: the run, its chunks and their activities carry it, across continue-as-new; search attribute and status say 1', async () => {
    const { path } = writeChatInput(home, 150, 'urgent.jsonl');
    const runId = `prio1-${Date.now()}`;
    const handle = await startRun(c, runConfig({ runId, inputPath: path, priority: 1, chunkSize: 25, maxChunksInFlight: 2, continueAsNewAfterEvents: 40 }), taskQueue);
    const final = (await handle.result()) as RunStatus;
    expect(final.state).toBe('completed');
    expect(final.counts.succeeded).toBe(150);
    expect(final.priority).toBe(1);

    // The first execution: started at priority 1, with the search attribute.
    const first = await c.workflow.getHandle(runId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect(first.priority?.priorityKey).toBe(1);
    expect(first.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(1);
    expect(first.typedSearchAttributes.get(LlmBatchPriority)).toBe(1);
    // The execution after continue-as-new keeps both.
    const latest = await c.workflow.getHandle(runId).describe();
    expect(latest.runId).not.toBe(handle.firstExecutionRunId);
    expect(latest.priority?.priorityKey).toBe(1);
    expect(latest.typedSearchAttributes.get(LlmBatchPriority)).toBe(1);

    // Every activity and child the run scheduled, in both executions, says 1.
    for (const exec of [handle.firstExecutionRunId, latest.runId]) {
      const s = await scheduledPriorities(c, runId, exec);
      expect(s.children.length, exec).toBeGreaterThan(0);
      expect(new Set([...s.activities, ...s.children]), exec).toEqual(new Set([1]));
    }
    // A chunk: started at 1, and so are its activities.
    const chunk = await c.workflow.getHandle(`${runId}/chunk-0`).describe();
    expect(chunk.priority?.priorityKey).toBe(1);
    const last = await c.workflow.getHandle(`${runId}/chunk-5`).describe();
    expect(last.priority?.priorityKey).toBe(1);
    const chunkActs = await scheduledPriorities(c, `${runId}/chunk-5`);
    expect(chunkActs.activities.length).toBeGreaterThan(0);
    expect(new Set(chunkActs.activities)).toEqual(new Set([1]));

    // Listing by the search attribute, as the README shows (visibility is eventually consistent).
    await waitFor(async () => {
      for await (const w of c.workflow.list({ query: `LlmBatchPriority = 1 AND WorkflowId = '${runId}'` })) if (w.workflowId === runId) return true;
      return false;
    }, 10_000, 'the run listed by LlmBatchPriority = 1');

    const status = await getRunStatus(c, runId);
    expect(status.priority).toBe(1);
  });

  it('without a priority: key 3, the search attribute 3, status 3, and the summary says nothing of it', async () => {
    const { path } = writeChatInput(home, 10, 'default.jsonl');
    const runId = `prio3-${Date.now()}`;
    const config = runConfig({ runId, inputPath: path });
    expect(config.priority).toBeUndefined();
    const handle = await startRun(c, config, taskQueue);
    const final = (await handle.result()) as RunStatus;
    expect(final.state).toBe('completed');
    expect(final.priority).toBe(3);
    const desc = await handle.describe();
    expect(desc.priority?.priorityKey).toBe(3);
    expect(desc.typedSearchAttributes.get(LlmBatchPriority)).toBe(3);
    expect((await c.workflow.getHandle(`${runId}/chunk-0`).describe()).priority?.priorityKey).toBe(3);
    expect(runSummary(config)).not.toContain('priority');
    expect(runSummary({ ...config, priority: 1 })).toContain(' · priority 1');
  });

  it('startRun refuses a priority outside 1..5 before starting anything', async () => {
    const { path } = writeChatInput(home, 1, 'bad.jsonl');
    for (const priority of [0, 6, 2.5]) {
      await expect(startRun(c, runConfig({ runId: `prio-bad-${Date.now()}`, inputPath: path, priority }), taskQueue)).rejects.toThrow(/RunConfig\.priority must be a whole number from 1/);
    }
  });
});
