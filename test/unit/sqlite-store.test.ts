// The SQLite item store: idempotent staging, duplicate detection, first success wins,
// totals, ordered paging.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import type { NewItem } from '../../src/store/item-store.ts';

const item = (seq: number, customId = `c${seq}`, line = seq + 1): NewItem => ({
  customId, seq, line, url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] }, model: 'gpt-4o-mini', promptTokens: 10, maxOutputTokens: 20,
});

describe('SqliteItemStore', () => {
  let store: SqliteItemStore;
  beforeEach(() => {
    store = new SqliteItemStore(join(mkdtempSync(join(tmpdir(), 'store-')), 'items.sqlite'));
  });
  afterEach(() => store.close());

  it('re-staging the same lines is a no-op; another line with a taken id is a duplicate', async () => {
    const batch = [item(0), item(1), item(2)];
    expect((await store.stageItems('r', batch)).duplicates).toEqual([]);
    expect((await store.stageItems('r', batch)).duplicates).toEqual([]);
    expect((await store.stageItems('r', [item(3, 'c1', 9)])).duplicates).toEqual([{ customId: 'c1', line: 9, firstLine: 2 }]);
    expect((await store.totals('r')).items).toBe(3);
    // Runs are separate key spaces.
    expect((await store.stageItems('other', [item(0)])).duplicates).toEqual([]);
  });

  it('records results; a success is never overwritten; totals add up', async () => {
    await store.stageItems('r', [item(0), item(1), item(2)]);
    const usage = { prompt: 10, cached: 2, completion: 5, reasoning: 0 };
    await store.recordResults('r', [
      { customId: 'c0', status: 'succeeded', attempts: 1, model: 'gpt-4o-mini', mode: 'realtime', statusCode: 200, response: { ok: 1 }, usage, costUsd: 0.5 },
      { customId: 'c1', status: 'failed', attempts: 3, model: 'gpt-4o-mini', mode: 'realtime', error: { code: 'x', message: 'y' } },
    ]);
    // A late duplicate success for c0 must not double its cost or replace its response.
    await store.recordResults('r', [{ customId: 'c0', status: 'succeeded', attempts: 2, model: 'gpt-4o-mini', mode: 'realtime', statusCode: 200, response: { ok: 2 }, usage, costUsd: 0.5 }]);
    const t = await store.totals('r');
    expect(t).toMatchObject({ items: 3, succeeded: 1, failed: 1, pending: 1, costUsd: 0.5, tokens: { prompt: 10, cached: 2, completion: 5, reasoning: 0 } });
    expect((await store.pendingItems('r', { seqStart: 0, seqEnd: 3 })).map((p) => p.customId)).toEqual(['c2']);
    const all = [];
    for await (const it of store.items('r', 2)) all.push(it);
    expect(all.map((i) => [i.customId, i.status])).toEqual([['c0', 'succeeded'], ['c1', 'failed'], ['c2', 'pending']]);
    expect(JSON.parse(all[0]!.responseJson!)).toEqual({ ok: 1 });
    expect(all[1]!.error).toEqual({ code: 'x', message: 'y' });
  });

  it('ranges select by seq', async () => {
    await store.stageItems('r', Array.from({ length: 10 }, (_, i) => item(i)));
    expect((await store.pendingItems('r', { seqStart: 3, seqEnd: 6 })).map((p) => p.seq)).toEqual([3, 4, 5]);
    expect((await store.totals('r', { seqStart: 8, seqEnd: 20 })).items).toBe(2);
  });

  it('limits pending items, and estimates pending work per model with output capped at a measured figure', async () => {
    const other = (seq: number): NewItem => ({ ...item(seq), model: 'gpt-4o', maxOutputTokens: 100 });
    await store.stageItems('r', [item(0), item(1), other(2), other(3), item(4)]);
    expect((await store.pendingItems('r', { seqStart: 0, seqEnd: 5 }, 2)).map((p) => p.seq)).toEqual([0, 1]);
    await store.recordResults('r', [{ customId: 'c1', status: 'succeeded', attempts: 1, model: 'gpt-4o-mini', mode: 'realtime' }]);
    const all = { seqStart: 0, seqEnd: 5 };
    expect(await store.pendingEstimate('r', all)).toEqual([
      { model: 'gpt-4o', items: 2, promptTokens: 20, outputTokens: 200 },
      { model: 'gpt-4o-mini', items: 2, promptTokens: 20, outputTokens: 40 },
    ]);
    // A measured 30 tokens per item caps gpt-4o's 100 but not gpt-4o-mini's 20.
    expect(await store.pendingEstimate('r', all, 30)).toEqual([
      { model: 'gpt-4o', items: 2, promptTokens: 20, outputTokens: 60 },
      { model: 'gpt-4o-mini', items: 2, promptTokens: 20, outputTokens: 40 },
    ]);
  });

  it('a seeded sample picks the same spread-out items every time, whatever their status', async () => {
    await store.stageItems('r', Array.from({ length: 1000 }, (_, i) => item(i)));
    const sample = { sampleSeed: 12345, sampleSize: 50 };
    const first = (await store.pendingItems('r', sample)).map((p) => p.seq);
    expect(first).toHaveLength(50);
    expect(new Set(first).size).toBe(50);
    // Spread over the run, not the first 50 lines.
    expect(Math.max(...first)).toBeGreaterThan(500);
    expect(first.filter((s) => s < 100).length).toBeLessThan(20);
    expect((await store.pendingItems('r', { sampleSeed: 999, sampleSize: 50 })).map((p) => p.seq)).not.toEqual(first);
    // Succeeding some of them leaves the rest of the same sample pending.
    const usage = { prompt: 10, cached: 0, completion: 7, reasoning: 0 };
    await store.recordResults('r', first.slice(0, 20).map((seq) => ({ customId: `c${seq}`, status: 'succeeded' as const, attempts: 1, model: 'gpt-4o-mini', mode: 'realtime', usage, costUsd: 0.25 })));
    expect((await store.pendingItems('r', sample)).map((p) => p.seq)).toEqual(first.slice(20));
    expect(await store.totals('r', sample)).toMatchObject({ items: 50, succeeded: 20, pending: 30, costUsd: 5 });
    expect(await store.measuredItems('r', sample)).toEqual(Array.from({ length: 20 }, () => ({ promptTokens: 10, completionTokens: 7, costUsd: 0.25 })));
    expect((await store.pendingEstimate('r', sample))[0]).toMatchObject({ items: 30, promptTokens: 300 });
  });

  it('plans parts: realtime chunks first, then one model per batch file; parts select, batch spend is kept apart', async () => {
    const mk = (seq: number, model: string, route: 'realtime' | 'batch'): NewItem => ({ ...item(seq), model, body: { model, messages: [] }, route });
    await store.stageItems('r', [mk(0, 'b', 'batch'), mk(1, 'a', 'realtime'), mk(2, 'a', 'batch'), mk(3, 'b', 'batch'), mk(4, 'a', 'batch'), mk(5, 'b', 'realtime')]);
    const plan = await store.planParts('r', { chunkSize: 10, maxLines: 1000, maxBytes: 1_000_000 });
    expect(plan).toEqual({ realtimeParts: 1, batchParts: 2, realtimeItems: 2, batchItems: 4 });
    // Re-planning gives the same parts.
    expect(await store.planParts('r', { chunkSize: 10, maxLines: 1000, maxBytes: 1_000_000 })).toEqual(plan);
    const ids = async (part: number) => (await store.pendingItems('r', { part })).map((i) => i.customId);
    expect(await ids(0)).toEqual(['c1', 'c5']);
    expect(await ids(1)).toEqual(['c2', 'c4']); // model a
    expect(await ids(2)).toEqual(['c0', 'c3']); // model b
    const reqs = await store.pendingRequests('r', { part: 2 }, 0, 10);
    expect(reqs.map((r) => [r.customId, r.model])).toEqual([['c3', 'b']]);
    expect(JSON.parse(reqs[0]!.bodyJson)).toEqual({ model: 'b', messages: [] });

    await store.recordResults('r', [{ customId: 'c2', status: 'succeeded', attempts: 1, model: 'a', mode: 'batch', costUsd: 0.5, usage: { prompt: 1, cached: 0, completion: 1, reasoning: 0 } }]);
    await store.recordResults('r', [{ customId: 'c1', status: 'succeeded', attempts: 1, model: 'a', mode: 'realtime', costUsd: 1 }]);
    const t = await store.totals('r');
    expect(t.costUsd).toBe(1.5);
    expect(t.batch).toEqual({ succeeded: 1, failed: 0, costUsd: 0.5 });
    expect((await store.totals('r', { part: 1 })).pending).toBe(1);
  });

  it('keeps retryable failures pending, idempotently; remembers batch submissions', async () => {
    await store.stageItems('r', [item(0), item(1)]);
    const retry = { customId: 'c0', attempts: 2, error: { code: 'batch_expired', message: 'late' }, mode: 'batch' };
    await store.recordRetries('r', [retry]);
    await store.recordRetries('r', [retry]);
    const [c0] = await store.pendingItems('r', { seqStart: 0, seqEnd: 1 });
    expect(c0!.attempts).toBe(2);
    expect((await store.totals('r')).pending).toBe(2);

    expect(await store.batchRecord('r', '0.0.0')).toBeUndefined();
    await store.saveBatchRecord('r', { key: '0.0.0', model: 'm', lines: 2, inputFileId: 'file-1', uploadedAt: 5 });
    await store.saveBatchRecord('r', { key: '0.0.0', model: 'm', lines: 2, inputFileId: 'file-1', uploadedAt: 5, batchId: 'batch_1' });
    expect(await store.batchRecord('r', '0.0.0')).toEqual({ key: '0.0.0', model: 'm', lines: 2, inputFileId: 'file-1', uploadedAt: 5, batchId: 'batch_1' });
    await store.deleteRun('r');
    expect(await store.batchRecord('r', '0.0.0')).toBeUndefined();
  });
});
