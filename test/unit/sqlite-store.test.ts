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
    expect((await store.pendingItems('r', 0, 3)).map((p) => p.customId)).toEqual(['c2']);
    const all = [];
    for await (const it of store.items('r', 2)) all.push(it);
    expect(all.map((i) => [i.customId, i.status])).toEqual([['c0', 'succeeded'], ['c1', 'failed'], ['c2', 'pending']]);
    expect(all[0]!.response).toEqual({ ok: 1 });
    expect(all[1]!.error).toEqual({ code: 'x', message: 'y' });
  });

  it('ranges select by seq', async () => {
    await store.stageItems('r', Array.from({ length: 10 }, (_, i) => item(i)));
    expect((await store.pendingItems('r', 3, 6)).map((p) => p.seq)).toEqual([3, 4, 5]);
    expect((await store.totals('r', { seqStart: 8, seqEnd: 20 })).items).toBe(2);
  });
});
