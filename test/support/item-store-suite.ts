// The behaviour every ItemStore must have, run against each store (SQLite in
// test/unit/sqlite-store.test.ts, PostgreSQL in test/integration/postgres-store.test.ts):
// idempotent staging, duplicates as SQLite reports them, first success wins, selections,
// totals, ordered paging, deterministic plans, batch records, deleting a run.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheEntry, ItemResult, ItemStore, NewItem, RejectRecord, StoredItem } from '../../src/store/item-store.ts';
import { semanticStoreSuite } from './semantic-store-suite.ts';
import { dashboardStoreSuite } from './dashboard-store-suite.ts';

export const item = (seq: number, customId = `c${seq}`, line = seq + 1): NewItem => ({
  customId, seq, line, url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] }, model: 'gpt-4o-mini', promptTokens: 10, maxOutputTokens: 20,
});

const usage = { prompt: 10, cached: 2, completion: 5, reasoning: 0 };
export const success = (customId: string, extra: Partial<ItemResult> = {}): ItemResult => ({
  customId, status: 'succeeded', attempts: 1, model: 'gpt-4o-mini', mode: 'realtime', statusCode: 200, response: { id: customId }, usage, costUsd: 0.5, ...extra,
});
export const failure = (customId: string, extra: Partial<ItemResult> = {}): ItemResult => ({
  customId, status: 'failed', attempts: 3, model: 'gpt-4o-mini', mode: 'realtime', statusCode: 500, error: { code: 'server_error', message: 'boom', status: 500 }, ...extra,
});

/** A cache entry of run `runId` for key `key`, created at `createdAt`. */
export const cacheEntry = (key: string, runId: string, createdAt: number, extra: Partial<CacheEntry> = {}): CacheEntry => ({
  key, url: '/v1/chat/completions', model: 'gpt-4o-mini', responseJson: `{"id":"${key}-${runId}","usage":{"prompt_tokens":10}}`,
  usage: { prompt: 10, cached: 2, completion: 5, reasoning: 1 }, costUsd: 0.25, runId, customId: `c-${key}`, createdAt, shared: true, ...extra,
});

export async function allItems(store: ItemStore, runId: string, pageSize?: number): Promise<StoredItem[]> {
  const out: StoredItem[] = [];
  for await (const it of store.items(runId, pageSize)) out.push(it);
  return out;
}

/**
 * The seeded sample computed in exact integer arithmetic, independently of either store:
 * seqs 0..n-1 ordered by (((seq+1)·m mod p)² mod p, seq), the first `size` of them.
 */
export function referenceSample(seed: number, n: number, size: number): number[] {
  const p = 2147483647n;
  const m = BigInt(1 + (Math.abs(Math.trunc(seed)) % 2147483646));
  const keyed = Array.from({ length: n }, (_, seq) => {
    const h = ((BigInt(seq) + 1n) * m) % p;
    return { seq, k: (h * h) % p };
  });
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.seq - b.seq));
  return keyed.slice(0, size).map((x) => x.seq).sort((a, b) => a - b);
}

/** The seeded sample of `size` among the given seqs, in exact integer arithmetic (the same order as referenceSample). */
export function referenceSampleOf(seed: number, seqs: readonly number[], size: number): number[] {
  const p = 2147483647n;
  const m = BigInt(1 + (Math.abs(Math.trunc(seed)) % 2147483646));
  const keyed = seqs.map((seq) => {
    const h = ((BigInt(seq) + 1n) * m) % p;
    return { seq, k: (h * h) % p };
  });
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.seq - b.seq));
  return keyed.slice(0, size).map((x) => x.seq).sort((a, b) => a - b);
}

export function itemStoreSuite(name: string, open: () => Promise<ItemStore>): void {
  describe(name, () => {
    let store: ItemStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(() => store.close());

    describe('staging', () => {
      it('re-staging the same lines is a no-op; another line with a taken id is a duplicate; runs are separate', async () => {
        const batch = [item(0), item(1), item(2)];
        expect((await store.stageItems('r', batch)).duplicates).toEqual([]);
        expect((await store.stageItems('r', batch)).duplicates).toEqual([]);
        expect((await store.stageItems('r', [item(3, 'c1', 9)])).duplicates).toEqual([{ customId: 'c1', line: 9, firstLine: 2 }]);
        expect((await store.totals('r')).items).toBe(3);
        expect((await store.stageItems('other', [item(0)])).duplicates).toEqual([]);
        expect(await store.stageItems('r', [])).toEqual({ duplicates: [] });
      });

      it('reports duplicates across calls and within one call, in the batch order, and inserts the rest', async () => {
        await store.stageItems('r', [item(0), item(1)]);
        // c1 again (line 9) between new ids; c4 twice in one call: the first line keeps it.
        const out = await store.stageItems('r', [item(2), item(3, 'c1', 9), item(4, 'c4', 10), item(5, 'c4', 11), item(6, 'c0', 12)]);
        expect(out.duplicates).toEqual([
          { customId: 'c1', line: 9, firstLine: 2 },
          { customId: 'c4', line: 11, firstLine: 10 },
          { customId: 'c0', line: 12, firstLine: 1 },
        ]);
        expect((await allItems(store, 'r')).map((i) => [i.customId, i.seq])).toEqual([['c0', 0], ['c1', 1], ['c2', 2], ['c4', 4]]);
        // The same call retried reports the same duplicates and changes nothing.
        const again = await store.stageItems('r', [item(2), item(3, 'c1', 9), item(4, 'c4', 10), item(5, 'c4', 11), item(6, 'c0', 12)]);
        expect(again).toEqual(out);
        expect((await store.totals('r')).items).toBe(4);
      });

      it('re-staging a line keeps what was first stored (body, tokens, route)', async () => {
        await store.stageItems('r', [item(0)]);
        await store.stageItems('r', [{ ...item(0), body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'changed' }] }, promptTokens: 99, route: 'batch' }]);
        const [p] = await store.pendingItems('r', { seqStart: 0, seqEnd: 1 });
        expect(p).toEqual({ customId: 'c0', seq: 0, url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] }, model: 'gpt-4o-mini', promptTokens: 10, maxOutputTokens: 20, attempts: 0 });
        expect(await store.planParts('r', { chunkSize: 10, maxLines: 10, maxBytes: 1e6 })).toMatchObject({ realtimeItems: 1, batchItems: 0 });
      });

      it('keeps bodies and ids with tabs, newlines, backslashes, quotes and non-ASCII text exactly', async () => {
        const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a\tb\nc\r\\d "e" \\N é 漢字 🙂 \u0001' }], n: 1.5e-7 };
        const odd = 'id\twith\\tab\nand "quotes" é';
        await store.stageItems('r', [{ ...item(0, odd), body, feature: 'f\\1\t', priority: 'p\n' }]);
        const [p] = await store.pendingItems('r', { seqStart: 0, seqEnd: 1 });
        expect(p!.customId).toBe(odd);
        expect(p!.body).toEqual(body);
        const [req] = await store.pendingRequests('r', { seqStart: 0, seqEnd: 1 }, -1, 10);
        expect(req!.bodyJson).toBe(JSON.stringify(body));
        expect((await allItems(store, 'r'))[0]!.feature).toBe('f\\1\t');
        await store.recordResults('r', [success(odd, { response: body, requestId: 'req\t1' })]);
        const [stored] = await allItems(store, 'r');
        expect(stored!.responseJson).toBe(JSON.stringify(body));
        expect(stored!.requestId).toBe('req\t1');
      });
    });

    describe('results', () => {
      it('records results; a success is never overwritten; totals add up; errors and responses read back', async () => {
        await store.stageItems('r', [item(0), item(1), item(2)]);
        await store.recordResults('r', [
          success('c0', { response: { ok: 1 }, usage: { prompt: 10, cached: 2, completion: 5, reasoning: 0 } }),
          { customId: 'c1', status: 'failed', attempts: 3, model: 'gpt-4o-mini', mode: 'realtime', error: { code: 'x', message: 'y' } },
        ]);
        // A late duplicate success for c0 must not double its cost or replace its response.
        await store.recordResults('r', [success('c0', { attempts: 2, response: { ok: 2 } })]);
        const t = await store.totals('r');
        expect(t).toMatchObject({ items: 3, succeeded: 1, failed: 1, pending: 1, costUsd: 0.5, tokens: { prompt: 10, cached: 2, completion: 5, reasoning: 0 } });
        expect((await store.pendingItems('r', { seqStart: 0, seqEnd: 3 })).map((p) => p.customId)).toEqual(['c2']);
        const all = await allItems(store, 'r', 2);
        expect(all.map((i) => [i.customId, i.status])).toEqual([['c0', 'succeeded'], ['c1', 'failed'], ['c2', 'pending']]);
        expect(all[0]!.responseJson).toBe('{"ok":1}');
        expect(all[0]).toMatchObject({ attempts: 1, mode: 'realtime', statusCode: 200, costUsd: 0.5 });
        expect(all[1]!.error).toEqual({ code: 'x', message: 'y' });
        expect(all[1]!.responseJson).toBeUndefined();
        expect(all[2]).toEqual({ customId: 'c2', seq: 2, status: 'pending', attempts: 0, model: 'gpt-4o-mini', usage: { prompt: 0, cached: 0, completion: 0, reasoning: 0 }, costUsd: 0 });
      });

      it('a success is never overwritten by a later failure or retry; a failure is by a later result', async () => {
        await store.stageItems('r', [item(0), item(1), item(2)]);
        await store.recordResults('r', [success('c0'), failure('c1')]);
        await store.recordResults('r', [failure('c0', { attempts: 9 })]);
        await store.recordRetries('r', [{ customId: 'c0', attempts: 9, error: { code: 'batch_expired', message: 'late' }, mode: 'batch' }]);
        // A failed item is not pending: a retry does not touch it; a later result replaces it.
        await store.recordRetries('r', [{ customId: 'c1', attempts: 9, error: { code: 'batch_expired', message: 'late' }, mode: 'batch' }]);
        const [c0, c1] = await allItems(store, 'r');
        expect(c0).toMatchObject({ status: 'succeeded', attempts: 1, mode: 'realtime', responseJson: '{"id":"c0"}', costUsd: 0.5 });
        expect(c0!.error).toBeUndefined();
        expect(c1).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'server_error', message: 'boom', status: 500 } });
        await store.recordResults('r', [success('c1', { attempts: 4 })]);
        expect((await allItems(store, 'r'))[1]).toMatchObject({ status: 'succeeded', attempts: 4 });
        expect((await store.totals('r')).costUsd).toBe(1);
      });

      it('within one call results apply in order: the first success wins, else the last result', async () => {
        await store.stageItems('r', [item(0), item(1), item(2)]);
        await store.recordResults('r', [
          failure('c0', { attempts: 1 }), success('c0', { attempts: 2, costUsd: 0.25 }), failure('c0', { attempts: 3 }), success('c0', { attempts: 4, costUsd: 9 }),
          failure('c1', { attempts: 1 }), failure('c1', { attempts: 2, error: { code: 'last', message: 'wins' } }),
          { customId: 'unknown', status: 'succeeded', attempts: 1, model: 'm', mode: 'realtime' },
        ]);
        const [c0, c1, c2] = await allItems(store, 'r');
        expect(c0).toMatchObject({ status: 'succeeded', attempts: 2, costUsd: 0.25 });
        expect(c1).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'last', message: 'wins' } });
        expect(c2!.status).toBe('pending');
        expect(await store.totals('r')).toMatchObject({ items: 3, succeeded: 1, failed: 1, pending: 1 });
      });

      it('a large batch of results (COPY in PostgreSQL) keeps the same rules', async () => {
        const n = 900;
        await store.stageItems('r', Array.from({ length: n }, (_, i) => item(i)));
        await store.recordResults('r', [success('c5', { costUsd: 1 })]);
        const batch: ItemResult[] = [];
        for (let i = 0; i < n; i++) batch.push(i % 3 === 0 ? failure(`c${i}`) : success(`c${i}`, { response: { i, text: 'line\tbreak\n\\' }, costUsd: 0.125 }));
        batch.push(failure('c1'), success('c3', { costUsd: 0.5 }), success('c3', { costUsd: 7 }));
        await store.recordResults('r', batch);
        const items = await allItems(store, 'r', 128);
        expect(items).toHaveLength(n);
        expect(items[1]).toMatchObject({ status: 'succeeded', costUsd: 0.125 });
        expect(items[3]).toMatchObject({ status: 'succeeded', costUsd: 0.5 });
        expect(items[5]).toMatchObject({ status: 'succeeded', costUsd: 1 });
        expect(JSON.parse(items[2]!.responseJson!)).toEqual({ i: 2, text: 'line\tbreak\n\\' });
        const t = await store.totals('r');
        // c0, c6, …: 300 multiples of 3, less c3 which succeeded later in the batch.
        expect(t).toMatchObject({ items: n, failed: 299, succeeded: 601, pending: 0 });
        expect(t.costUsd).toBeCloseTo(1 + 0.5 + 599 * 0.125, 9);
      });

      it('stores a response given as JSON text as it is, in small and large batches, and never over a success', async () => {
        const n = 700;
        await store.stageItems('r', Array.from({ length: n }, (_, i) => item(i)));
        // Text the way a provider may write it (spaces, escapes JSON.stringify would not use): kept byte for byte.
        const text = (i: number): string => `{ "i": ${i}, "s": "\\u00e9\\t\\"" }`;
        await store.recordResults('r', [success('c0', { response: { ignored: true }, responseJson: text(0) })]);
        const batch = Array.from({ length: n }, (_, i) => success(`c${i}`, { responseJson: text(i + 1000) }));
        batch.push(failure('c1', { responseJson: '{"late":true}' }));
        await store.recordResults('r', batch);
        const items = await allItems(store, 'r', 200);
        expect(items[0]!.responseJson).toBe(text(0));
        expect(items[1]!.responseJson).toBe(text(1001));
        expect(items[n - 1]!.responseJson).toBe(text(n - 1 + 1000));
        expect(JSON.parse(items[2]!.responseJson!)).toEqual({ i: 1002, s: 'é\t"' });
        expect((await store.totals('r')).succeeded).toBe(n);
      });

      it('keeps retryable failures pending, idempotently; the most attempts and the last error stay', async () => {
        await store.stageItems('r', [item(0), item(1)]);
        const retry = { customId: 'c0', attempts: 2, error: { code: 'batch_expired', message: 'late' }, mode: 'batch' };
        await store.recordRetries('r', [retry]);
        await store.recordRetries('r', [retry]);
        const [c0] = await store.pendingItems('r', { seqStart: 0, seqEnd: 1 });
        expect(c0!.attempts).toBe(2);
        expect((await store.totals('r')).pending).toBe(2);
        await store.recordRetries('r', [{ ...retry, attempts: 5 }, { ...retry, attempts: 1, error: { code: 'second', message: 'last' } }]);
        expect((await allItems(store, 'r'))[0]).toMatchObject({ status: 'pending', attempts: 5, mode: 'batch', error: { code: 'second', message: 'last' } });
        await store.recordRetries('r', [{ ...retry, attempts: 3 }]);
        expect((await allItems(store, 'r'))[0]!.attempts).toBe(5);
      });

      it('counts a retry\'s discarded answer once per attempt, in spend now and in the final result\'s cost', async () => {
        await store.stageItems('r', [item(0), item(1)]);
        const used = { prompt: 100, cached: 20, completion: 10, reasoning: 1 };
        const mismatch = (attempts: number, costUsd: number) => ({ customId: 'c0', attempts, costUsd, usage: used, error: { code: 'schema_mismatch', message: 'no' }, mode: 'batch' });
        await store.recordRetries('r', [mismatch(1, 0.125)]);
        await store.recordRetries('r', [mismatch(1, 0.125)]); // re-collected: nothing more
        expect((await store.totals('r')).costUsd).toBeCloseTo(0.125, 12);
        expect((await store.totals('r')).tokens).toEqual(used);
        expect((await allItems(store, 'r'))[0]).toMatchObject({ status: 'pending', attempts: 1 });
        // Two retries of one item in one call (folded): both counted.
        await store.recordRetries('r', [mismatch(2, 0.25), mismatch(3, 0.5)]);
        expect((await store.totals('r')).costUsd).toBeCloseTo(0.875, 12);
        await store.recordResults('r', [success('c0', { attempts: 4, costUsd: 1 }), success('c1', { costUsd: 0.5 })]);
        const [c0, c1] = await allItems(store, 'r');
        expect(c0!.costUsd).toBeCloseTo(1.875, 12);
        // The final result's usage (10, 2, 5, 0) plus three discarded answers'.
        expect(c0!.usage).toEqual({ prompt: 310, cached: 62, completion: 35, reasoning: 3 });
        expect(c1!.costUsd).toBe(0.5);
        expect(c1!.usage).toEqual({ prompt: 10, cached: 2, completion: 5, reasoning: 0 });
        // A success is never overwritten, so its cost is never added to again.
        await store.recordResults('r', [success('c0', { attempts: 5, costUsd: 7 })]);
        await store.recordRetries('r', [mismatch(9, 3)]);
        expect((await store.totals('r')).costUsd).toBeCloseTo(2.375, 12);
      });
    });

    describe('selections', () => {
      it('ranges select by seq; pending items come in seq order, at most limit', async () => {
        // Staged out of order, across calls.
        await store.stageItems('r', [item(7), item(2), item(9), item(0)]);
        await store.stageItems('r', [item(5), item(1), item(8), item(3), item(6), item(4)]);
        expect((await store.pendingItems('r', { seqStart: 3, seqEnd: 6 })).map((p) => p.seq)).toEqual([3, 4, 5]);
        expect((await store.pendingItems('r', { seqStart: 0, seqEnd: 10 }, 4)).map((p) => p.seq)).toEqual([0, 1, 2, 3]);
        expect(await store.pendingItems('r', { seqStart: 0, seqEnd: 10 }, 0)).toEqual([]);
        expect((await store.pendingItems('r', { seqStart: 0, seqEnd: 10 }, 100)).map((p) => p.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        await store.recordResults('r', [success('c1'), failure('c2')]);
        expect((await store.pendingItems('r', { seqStart: 0, seqEnd: 10 }, 3)).map((p) => p.seq)).toEqual([0, 3, 4]);
        expect((await store.totals('r', { seqStart: 8, seqEnd: 20 })).items).toBe(2);
        expect((await store.pendingRequests('r', { seqStart: 0, seqEnd: 10 }, 3, 2)).map((p) => p.seq)).toEqual([4, 5]);
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
        expect(await store.pendingEstimate('r', { seqStart: 100, seqEnd: 200 })).toEqual([]);
      });

      it('a seeded sample picks the same spread-out items every time, whatever their status', async () => {
        await store.stageItems('r', Array.from({ length: 1000 }, (_, i) => item(i)));
        const sample = { sampleSeed: 12345, sampleSize: 50 };
        const first = (await store.pendingItems('r', sample)).map((p) => p.seq);
        expect(first).toHaveLength(50);
        expect(new Set(first).size).toBe(50);
        // Spread over the run, not the first 50 lines.
        expect(Math.max(...first)).toBeGreaterThan(700);
        expect(first.filter((s) => s < 100).length).toBeLessThan(20);
        expect((await store.pendingItems('r', { sampleSeed: 999, sampleSize: 50 })).map((p) => p.seq)).not.toEqual(first);
        // Succeeding some of them leaves the rest of the same sample pending.
        const used = { prompt: 10, cached: 0, completion: 7, reasoning: 0 };
        await store.recordResults('r', first.slice(0, 20).map((seq) => ({ customId: `c${seq}`, status: 'succeeded' as const, attempts: 1, model: 'gpt-4o-mini', mode: 'realtime', usage: used, costUsd: 0.25 })));
        expect((await store.pendingItems('r', sample)).map((p) => p.seq)).toEqual(first.slice(20));
        expect((await store.pendingItems('r', sample, 5)).map((p) => p.seq)).toEqual(first.slice(20, 25));
        expect(await store.totals('r', sample)).toMatchObject({ items: 50, succeeded: 20, pending: 30, costUsd: 5 });
        expect(await store.measuredItems('r', sample)).toEqual(Array.from({ length: 20 }, () => ({ promptTokens: 10, completionTokens: 7, costUsd: 0.25 })));
        expect((await store.pendingEstimate('r', sample))[0]).toMatchObject({ items: 30, promptTokens: 300 });
        expect((await store.pendingRequests('r', sample, first[25]!, 3)).map((p) => p.seq)).toEqual(first.slice(26, 29));
      });

      it('the sample is the one exact integer arithmetic gives, for any seed (so both stores pick the same items)', async () => {
        const n = 3000;
        await store.stageItems('r', Array.from({ length: n }, (_, i) => item(i)));
        for (const seed of [1, 7, 12345, 999_999_937, 2_147_483_646, -42, 1.9e12]) {
          const got = (await store.pendingItems('r', { sampleSeed: seed, sampleSize: 40 })).map((p) => p.seq);
          expect(got, `seed ${seed}`).toEqual(referenceSample(seed, n, 40));
        }
        expect((await store.pendingItems('r', { sampleSeed: 3, sampleSize: n + 10 })).length).toBe(n);
      });

      it('totals per selection: range, part, sample and the whole run, with batch spend apart', async () => {
        await store.stageItems('r', Array.from({ length: 12 }, (_, i) => ({ ...item(i), route: i < 6 ? 'realtime' as const : 'batch' as const })));
        await store.planParts('r', { chunkSize: 3, maxLines: 100, maxBytes: 1e6 });
        await store.recordResults('r', [
          success('c0', { usage: { prompt: 1, cached: 0, completion: 2, reasoning: 1 }, costUsd: 0.1 }),
          failure('c4'),
          success('c6', { mode: 'batch', usage: { prompt: 3, cached: 1, completion: 4, reasoning: 0 }, costUsd: 0.05 }),
          failure('c7', { mode: 'batch' }),
        ]);
        const zero = { prompt: 0, cached: 0, completion: 0, reasoning: 0 };
        expect(await store.totals('r')).toEqual({
          items: 12, succeeded: 2, failed: 2, pending: 8, tokens: { prompt: 4, cached: 1, completion: 6, reasoning: 1 }, costUsd: 0.15000000000000002,
          batch: { succeeded: 1, failed: 1, costUsd: 0.05 }, cache: { hits: 0, savedUsd: 0 },
        });
        expect(await store.totals('r', { seqStart: 3, seqEnd: 6 })).toEqual({ items: 3, succeeded: 0, failed: 1, pending: 2, tokens: zero, costUsd: 0, batch: { succeeded: 0, failed: 0, costUsd: 0 }, cache: { hits: 0, savedUsd: 0 } });
        expect(await store.totals('r', { part: 0 })).toMatchObject({ items: 3, succeeded: 1, pending: 2, costUsd: 0.1 });
        expect(await store.totals('r', { part: 2 })).toMatchObject({ items: 6, succeeded: 1, failed: 1, pending: 4, batch: { succeeded: 1, failed: 1, costUsd: 0.05 } });
        expect(await store.totals('r', { part: 9 })).toEqual({ items: 0, succeeded: 0, failed: 0, pending: 0, tokens: zero, costUsd: 0, batch: { succeeded: 0, failed: 0, costUsd: 0 }, cache: { hits: 0, savedUsd: 0 } });
        expect((await store.totals('r', { sampleSeed: 5, sampleSize: 12 })).items).toBe(12);
        expect(await store.totals('nothing')).toEqual({ items: 0, succeeded: 0, failed: 0, pending: 0, tokens: zero, costUsd: 0, batch: { succeeded: 0, failed: 0, costUsd: 0 }, cache: { hits: 0, savedUsd: 0 } });
      });
    });

    describe('items too large for a batch file', () => {
      // c2 and c5 carry a long prompt: their batch input lines are over the 600-byte limit.
      const sized = (seq: number, route: 'realtime' | 'batch', long = false): NewItem => ({
        ...item(seq), route, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: long ? 'x'.repeat(700) : 'short' }] },
      });
      const stage = () => store.stageItems('r', [sized(0, 'realtime'), sized(1, 'batch'), sized(2, 'batch', true), sized(3, 'batch'), sized(4, 'realtime', true), sized(5, 'batch', true), sized(6, 'batch')]);
      const limits = { chunkSize: 10, maxLines: 10, maxBytes: 600 };
      /** Each item's part (null: none), read through part selections. */
      const partsOf = async () => Object.fromEntries(await Promise.all(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map(async (id, seq) => {
        for (const p of [0, 1, 2]) if ((await store.pendingRequests('r', { part: p }, seq - 1, 1))[0]?.customId === id) return [id, p];
        return [id, null];
      })));

      it('are listed by tooLargeForBatch (batch-routed ones only, in seq order, paged), with their bytes', async () => {
        await stage();
        const all = await store.tooLargeForBatch('r', 600, -1, 10);
        expect(all.map((t) => t.customId)).toEqual(['c2', 'c5']);
        expect(all[0]).toMatchObject({ seq: 2, model: 'gpt-4o-mini' });
        expect(all[0]!.bytes).toBeGreaterThan(700);
        expect((await store.tooLargeForBatch('r', 600, 2, 1)).map((t) => t.customId)).toEqual(['c5']);
        expect(await store.tooLargeForBatch('r', 10_000, -1, 10)).toEqual([]);
        expect(await store.tooLargeForBatch('other', 600, -1, 10)).toEqual([]);
      });

      it('get no part, or are planned with the realtime items (tooLargeToRealtime); no batch part holds one', async () => {
        await stage();
        expect(await store.planParts('r', limits)).toEqual({ realtimeParts: 1, batchParts: 1, realtimeItems: 2, batchItems: 3 });
        expect(await partsOf()).toEqual({ c0: 0, c1: 1, c2: null, c3: 1, c4: 0, c5: null, c6: 1 });
        expect(await store.planParts('r', { ...limits, tooLargeToRealtime: true })).toEqual({ realtimeParts: 1, batchParts: 1, realtimeItems: 4, batchItems: 3 });
        expect(await partsOf()).toEqual({ c0: 0, c1: 1, c2: 0, c3: 1, c4: 0, c5: 0, c6: 1 });
      });
    });

    describe('prefix-group order (provider prompt caching)', () => {
      // Lines of three documents' prefix groups, shuffled in the file, with short prompts (no group) between.
      const grouped = (seq: number, group?: string, path = ''): NewItem => ({ ...item(seq), ...(group ? { prefixGroup: group, prefixPath: path } : {}) });
      const stageShuffled = () => store.stageItems('r', [
        grouped(0, 'B', 'x'), grouped(1), grouped(2, 'A', 'q'), grouped(3, 'B', 'w'), grouped(4, 'C'),
        grouped(5, 'A', 'p'), grouped(6), grouped(7, 'B', 'x'), grouped(8, 'A', 'q'), grouped(9, 'C'),
      ]);
      const dispatchOrder = async (): Promise<string[]> => (await store.pendingItems('r', { seqStart: 0, seqEnd: 10 })).map((p) => p.customId);

      it('ranges cover input order until the run is put in prefix-group order; then each group is contiguous', async () => {
        await stageShuffled();
        expect(await dispatchOrder()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9']);
        await store.orderByPrefixGroup('r');
        // Groups where they first appear (B at 0, A at 2, C at 4), each by prefix path then input
        // order; lines without a group keep their place among them.
        expect(await dispatchOrder()).toEqual(['c3', 'c0', 'c7', 'c1', 'c5', 'c2', 'c8', 'c4', 'c9', 'c6']);
        expect((await store.pendingItems('r', { seqStart: 0, seqEnd: 3 })).map((p) => [p.customId, p.prefixGroup])).toEqual([['c3', 'B'], ['c0', 'B'], ['c7', 'B']]);
        expect((await store.pendingItems('r', { seqStart: 3, seqEnd: 4 }))[0]!.prefixGroup).toBeUndefined();
        // Chunk ranges still partition the run, totals per range follow them, and the export keeps input order.
        expect((await store.totals('r', { seqStart: 0, seqEnd: 3 })).items).toBe(3);
        expect((await store.totals('r', { seqStart: 3, seqEnd: 10 })).items).toBe(7);
        expect((await allItems(store, 'r', 3)).map((i) => i.customId)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9']);
        // Deterministic: a retried staging (the same lines again, ordered again) gives the same order.
        await stageShuffled();
        await store.orderByPrefixGroup('r');
        expect(await dispatchOrder()).toEqual(['c3', 'c0', 'c7', 'c1', 'c5', 'c2', 'c8', 'c4', 'c9', 'c6']);
        // Only that run is touched.
        await store.stageItems('other', [grouped(0, 'B'), grouped(1), grouped(2, 'B')]);
        await store.orderByPrefixGroup('r');
        expect((await store.pendingItems('other', { seqStart: 0, seqEnd: 3 })).map((p) => p.customId)).toEqual(['c0', 'c1', 'c2']);
      });

      it('parts are planned in dispatch order, so a prefix group stays in one part', async () => {
        await stageShuffled();
        await store.orderByPrefixGroup('r');
        expect(await store.planParts('r', { chunkSize: 3, maxLines: 100, maxBytes: 1e6 })).toMatchObject({ realtimeParts: 4 });
        expect((await store.pendingItems('r', { part: 0 })).map((p) => p.customId)).toEqual(['c3', 'c0', 'c7']);
        expect((await store.pendingItems('r', { part: 1 })).map((p) => p.customId)).toEqual(['c1', 'c5', 'c2']);
      });

      it('keeps what the prompt cache saved per item and sums it in totals', async () => {
        await store.stageItems('r', [item(0), item(1), item(2)]);
        await store.recordResults('r', [success('c0', { promptCacheSavedUsd: 0.25 }), success('c1', { promptCacheSavedUsd: 0.125 })]);
        // Large batches (COPY in PostgreSQL) keep it too.
        const many = Array.from({ length: 400 }, (_, i) => item(10 + i));
        await store.stageItems('big', many);
        await store.recordResults('big', many.map((it) => success(it.customId, { promptCacheSavedUsd: 0.5 })));
        expect((await store.totals('r')).promptCacheSavedUsd).toBe(0.375);
        expect((await store.totals('r', { seqStart: 1, seqEnd: 3 })).promptCacheSavedUsd).toBe(0.125);
        expect((await store.totals('big')).promptCacheSavedUsd).toBe(200);
        // Nothing saved reads as no saving at all.
        expect((await store.totals('r', { seqStart: 2, seqEnd: 3 })).promptCacheSavedUsd).toBeUndefined();
      });
    });

    describe('reading a run', () => {
      it('items() streams the run in seq order across page boundaries, and only that run', async () => {
        const order = [13, 2, 21, 0, 8, 5, 17, 1, 24, 11, 3, 19, 6, 22, 9, 14, 4, 20, 7, 15, 10, 23, 12, 18, 16];
        await store.stageItems('r', order.slice(0, 10).map((s) => item(s)));
        await store.stageItems('r', order.slice(10).map((s) => item(s)));
        await store.stageItems('other', [item(0, 'x'), item(1, 'y')]);
        for (const pageSize of [1, 4, 5, 25, 1000]) {
          expect((await allItems(store, 'r', pageSize)).map((i) => i.seq), `page size ${pageSize}`).toEqual(Array.from({ length: 25 }, (_, i) => i));
        }
        expect(await allItems(store, 'none', 3)).toEqual([]);
      });

      it('items() is read page by page: an item recorded after a page was read shows in a later page', async () => {
        await store.stageItems('r', Array.from({ length: 6 }, (_, i) => item(i)));
        const seen: string[] = [];
        for await (const it of store.items('r', 2)) {
          seen.push(`${it.customId}:${it.status}`);
          if (it.seq === 1) await store.recordResults('r', [success('c4')]);
        }
        expect(seen).toEqual(['c0:pending', 'c1:pending', 'c2:pending', 'c3:pending', 'c4:succeeded', 'c5:pending']);
      });
    });

    describe('rejects', () => {
      it('are kept per run in line order across pages; a line recorded again is replaced; deleteRun forgets them', async () => {
        const rej = (line: number, code = 'invalid_json'): RejectRecord => ({ line, custom_id: line % 2 ? `c${line}` : null, code, message: `line ${line} is wrong` });
        await store.recordRejects('r', [rej(9), rej(2), rej(5)]);
        await store.recordRejects('r', [rej(7), rej(5, 'duplicate_custom_id'), rej(1)]);
        await store.recordRejects('other', [rej(3)]);
        await store.recordRejects('r', []);
        const all = async (runId: string, pageSize?: number): Promise<RejectRecord[]> => {
          const out: RejectRecord[] = [];
          for await (const r of store.rejects(runId, pageSize)) out.push(r);
          return out;
        };
        for (const pageSize of [1, 2, 1000]) expect((await all('r', pageSize)).map((r) => r.line), `page size ${pageSize}`).toEqual([1, 2, 5, 7, 9]);
        expect((await all('r')).find((r) => r.line === 5)).toEqual({ line: 5, custom_id: 'c5', code: 'duplicate_custom_id', message: 'line 5 is wrong' });
        expect((await all('r')).find((r) => r.line === 2)).toEqual({ line: 2, custom_id: null, code: 'invalid_json', message: 'line 2 is wrong' });
        await store.deleteRun('r');
        expect(await all('r')).toEqual([]);
        expect((await all('other')).map((r) => r.line)).toEqual([3]);
      });
    });

    describe('exact cache', () => {
      const t0 = Date.UTC(2026, 0, 1);
      const scope = (runId: string, includeShared = true, minCreatedAt = 0) => ({ runId, includeShared, minCreatedAt });

      it('an entry reads back whole; the first entry of a (key, run) stays; lookups honour the TTL horizon', async () => {
        const e = cacheEntry('k1', 'a', t0, { requestId: 'req_1', responseJson: '{ "spaced" : "kept as it came", "usage": {"prompt_tokens": 10} }' });
        await store.cachePut([e, cacheEntry('k2', 'a', t0 + 5)]);
        // The same (key, run) again, with another answer: the first one stays (a run answers a key one way).
        await store.cachePut([cacheEntry('k1', 'a', t0 + 9, { responseJson: '{"other":1}', customId: 'late' })]);
        const got = await store.cacheLookup(['k1', 'k2', 'k3'], scope('b'));
        expect([...got.keys()].sort()).toEqual(['k1', 'k2']);
        expect(got.get('k1')).toEqual(e);
        expect(got.get('k2')!.requestId).toBeUndefined();
        expect([...(await store.cacheLookup(['k1', 'k2'], scope('b', true, t0 + 1))).keys()]).toEqual(['k2']);
        // The TTL is about other runs: a run's own entries count whatever their age.
        expect([...(await store.cacheLookup(['k1', 'k2'], scope('a', true, t0 + 100))).keys()].sort()).toEqual(['k1', 'k2']);
        expect([...(await store.cacheLookup(['k1'], scope('a', false, t0 + 100))).keys()]).toEqual(['k1']);
        expect((await store.cacheLookup([], scope('b'))).size).toBe(0);
        await store.cachePut([]);
      });

      it('scope: a run sees its own entries, and shared ones of other runs only when it asks; its own entry wins, else the newest', async () => {
        await store.cachePut([
          cacheEntry('k', 'old', t0, { responseJson: '{"from":"old"}' }),
          cacheEntry('k', 'new', t0 + 10, { responseJson: '{"from":"new"}' }),
          cacheEntry('k', 'private', t0 + 20, { shared: false, responseJson: '{"from":"private"}' }),
          cacheEntry('only-private', 'private', t0, { shared: false }),
          cacheEntry('k', 'me', t0 + 1, { shared: false, responseJson: '{"from":"me"}' }),
        ]);
        expect((await store.cacheLookup(['k'], scope('someone'))).get('k')!.responseJson).toBe('{"from":"new"}');
        expect((await store.cacheLookup(['k'], scope('me'))).get('k')!.responseJson).toBe('{"from":"me"}');
        expect((await store.cacheLookup(['k'], scope('private'))).get('k')!.responseJson).toBe('{"from":"private"}');
        // Unshared entries are their run's alone.
        expect((await store.cacheLookup(['only-private'], scope('someone'))).size).toBe(0);
        expect((await store.cacheLookup(['only-private'], scope('private', false))).get('only-private')!.shared).toBe(false);
        // Without shared entries (--cache write), only the run's own count.
        expect((await store.cacheLookup(['k'], scope('someone', false))).size).toBe(0);
        expect((await store.cacheLookup(['k'], scope('me', false))).get('k')!.runId).toBe('me');
        // For an estimate: keys with a shared entry within the TTL, no response read.
        expect((await store.cachedKeys(['k', 'only-private', 'nope'], 0)).sort()).toEqual(['k']);
        expect(await store.cachedKeys(['k'], t0 + 11)).toEqual([]);
        expect(await store.cachedKeys([], 0)).toEqual([]);
      });

      it('looks up many keys at once', async () => {
        const keys = Array.from({ length: 1200 }, (_, i) => `key-${i}`);
        await store.cachePut(keys.filter((_, i) => i % 3 === 0).map((k) => cacheEntry(k, 'a', t0)));
        expect((await store.cacheLookup(keys, scope('b'))).size).toBe(400);
        expect((await store.cachedKeys(keys, 0)).length).toBe(400);
      });

      it('a hit is recorded with its marker and saving: totals count hits and dollars saved, the export reads the marker', async () => {
        await store.stageItems('r', [item(0), item(1), item(2)]);
        const marker = '{"cache":"exact","from_run":"a","from_custom_id":"c9","saved_usd":0.25}';
        await store.recordResults('r', [
          success('c0'),
          success('c1', { mode: 'cache', usage: { prompt: 0, cached: 0, completion: 0, reasoning: 0 }, costUsd: 0, responseJson: '{"id":"x"}', cacheMarker: marker, savedUsd: 0.25 }),
        ]);
        expect(await store.totals('r')).toMatchObject({ succeeded: 2, costUsd: 0.5, tokens: { prompt: 10 }, cache: { hits: 1, savedUsd: 0.25 } });
        expect(await store.totals('r', { seqStart: 0, seqEnd: 1 })).toMatchObject({ cache: { hits: 0, savedUsd: 0 } });
        const [c0, c1] = await allItems(store, 'r');
        expect(c0!.cacheMarker).toBeUndefined();
        expect(c1).toMatchObject({ mode: 'cache', costUsd: 0, responseJson: '{"id":"x"}', cacheMarker: marker });
      });

      it('semantic hits count among the hits and apart (by their marker), and only when they succeeded', async () => {
        await store.stageItems('r', [item(0), item(1), item(2), item(3)]);
        const exact = '{"cache":"exact","from_run":"a","from_custom_id":"c9","saved_usd":0.25}';
        const semantic = '{"cache":"semantic","similarity":0.97,"text":"hi, the app","matched_text":"Hi. The app","from_run":"a","from_custom_id":"c8","saved_usd":0.25}';
        const hit = { mode: 'cache', usage: { prompt: 0, cached: 0, completion: 0, reasoning: 0 }, responseJson: '{"id":"x"}', savedUsd: 0.25 };
        await store.recordResults('r', [
          success('c0', { ...hit, costUsd: 0, cacheMarker: exact }),
          // A semantic hit costs its embedding.
          success('c1', { ...hit, costUsd: 0.000002, cacheMarker: semantic }),
          success('c2', { ...hit, costUsd: 0.000002, cacheMarker: semantic }),
        ]);
        expect(await store.totals('r')).toMatchObject({ succeeded: 3, costUsd: 0.000004, cache: { hits: 3, semanticHits: 2, savedUsd: 0.75 } });
        expect((await store.totals('r', { seqStart: 0, seqEnd: 1 })).cache).toEqual({ hits: 1, savedUsd: 0.25 });
        const [, c1] = await allItems(store, 'r');
        expect(c1!.cacheMarker).toBe(semantic);
      });

      it('deleteRun forgets the run\'s unshared entries and keeps those it shared', async () => {
        await store.cachePut([cacheEntry('s', 'r', t0), cacheEntry('p', 'r', t0, { shared: false })]);
        await store.deleteRun('r');
        expect([...(await store.cacheLookup(['s', 'p'], scope('r'))).keys()]).toEqual(['s']);
      });
    });

    describe('batch plans and records', () => {
      it('plans parts: realtime chunks first, then one model per batch file; parts select, batch spend is kept apart', async () => {
        const mk = (seq: number, model: string, route: 'realtime' | 'batch'): NewItem => ({ ...item(seq), model, body: { model, messages: [] }, route });
        await store.stageItems('r', [mk(0, 'b', 'batch'), mk(1, 'a', 'realtime'), mk(2, 'a', 'batch'), mk(3, 'b', 'batch'), mk(4, 'a', 'batch'), mk(5, 'b', 'realtime')]);
        const plan = await store.planParts('r', { chunkSize: 10, maxLines: 1000, maxBytes: 1_000_000 });
        expect(plan).toEqual({ realtimeParts: 1, batchParts: 2, realtimeItems: 2, batchItems: 4 });
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

      it('plans are deterministic: limits by lines, bytes and chunk size, models in byte order, the same parts on a re-plan', async () => {
        const models = ['gpt-4o-mini', 'B-model', 'a-model', 'gpt-4o'];
        const items: NewItem[] = Array.from({ length: 230 }, (_, i) => {
          const model = models[(i * 7) % 4]!;
          return { ...item(i), model, body: { model, messages: [{ role: 'user', content: 'x'.repeat(i % 13) }] }, route: i % 5 === 0 ? 'realtime' : 'batch' };
        });
        await store.stageItems('r', items.slice(0, 100));
        await store.stageItems('r', items.slice(100));
        const limits = { chunkSize: 7, maxLines: 11, maxBytes: 2_000 };
        const plan = await store.planParts('r', limits);
        const partsOf = async () => {
          const out: number[][] = [];
          for (let part = 0; part < plan.realtimeParts + plan.batchParts; part++) out.push((await store.pendingItems('r', { part })).map((p) => p.seq));
          return out;
        };
        const parts = await partsOf();
        expect(plan).toEqual({ realtimeParts: 7, batchParts: parts.length - 7, realtimeItems: 46, batchItems: 184 });
        expect(parts.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 230 }, (_, i) => i));
        // Realtime parts in input order; batch parts one model each, models in byte order ('B-model' < 'a-model' < 'gpt-4o' …).
        expect(parts.slice(0, 7).flat()).toEqual(items.filter((it) => it.route === 'realtime').map((it) => it.seq));
        const modelOfPart = parts.slice(7).map((seqs) => new Set(seqs.map((s) => items[s]!.model)));
        expect(modelOfPart.every((m) => m.size === 1)).toBe(true);
        const order = modelOfPart.map((m) => [...m][0]!).filter((m, i, all) => all.indexOf(m) === i);
        expect(order).toEqual(['B-model', 'a-model', 'gpt-4o', 'gpt-4o-mini']);
        for (const seqs of parts.slice(7)) expect(seqs.length).toBeLessThanOrEqual(11);
        expect(await store.planParts('r', limits)).toEqual(plan);
        expect(await partsOf()).toEqual(parts);
      });

      it('batch records: none until saved, a save replaces the whole record, records belong to their run', async () => {
        expect(await store.batchRecord('r', '0.0.0')).toBeUndefined();
        const uploadedAt = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
        await store.saveBatchRecord('r', { key: '0.0.0', model: 'm', lines: 2, inputFileId: 'file-1', uploadedAt });
        expect(await store.batchRecord('r', '0.0.0')).toEqual({ key: '0.0.0', model: 'm', lines: 2, inputFileId: 'file-1', uploadedAt });
        await store.saveBatchRecord('r', { key: '0.0.0', model: 'm', lines: 2, inputFileId: 'file-1', uploadedAt, batchId: 'batch_1' });
        expect(await store.batchRecord('r', '0.0.0')).toEqual({ key: '0.0.0', model: 'm', lines: 2, inputFileId: 'file-1', uploadedAt, batchId: 'batch_1' });
        // Fields left out are cleared: callers save the record they read, with their change.
        await store.saveBatchRecord('r', { key: '0.0.0', model: 'm2', lines: 3 });
        expect(await store.batchRecord('r', '0.0.0')).toEqual({ key: '0.0.0', model: 'm2', lines: 3 });
        expect(await store.batchRecord('other', '0.0.0')).toBeUndefined();
        expect(await store.batchRecord('r', '0.0.1')).toBeUndefined();
      });

      it('deleteRun forgets a run (items and batch records) and only it; the run can be staged afresh', async () => {
        await store.stageItems('r', [item(0), item(1)]);
        await store.stageItems('keep', [item(0), item(1)]);
        await store.recordResults('r', [success('c0')]);
        await store.saveBatchRecord('r', { key: 'k', model: 'm', lines: 1 });
        await store.saveBatchRecord('keep', { key: 'k', model: 'm', lines: 1 });
        await store.deleteRun('r');
        expect((await store.totals('r')).items).toBe(0);
        expect(await allItems(store, 'r')).toEqual([]);
        expect(await store.batchRecord('r', 'k')).toBeUndefined();
        expect((await store.totals('keep')).items).toBe(2);
        expect(await store.batchRecord('keep', 'k')).toEqual({ key: 'k', model: 'm', lines: 1 });
        // Staged again, c1 is new (not a duplicate of the forgotten one) even on another line.
        expect((await store.stageItems('r', [item(0), item(1, 'c1', 7)])).duplicates).toEqual([]);
        expect((await store.totals('r')).pending).toBe(2);
        await store.deleteRun('never-staged');
      });
    });

    describe('routing (--route)', () => {
      const routed = (seq: number, rule: string | null, reason: string, model: string, classifier?: string): NewItem => ({
        ...item(seq),
        model,
        body: { model, messages: [{ role: 'user', content: `q${seq}` }] },
        routing: classifier ? { rule, reason, classifier: { model: classifier, promptTokens: 40, outputTokens: 20 } } : { rule, reason },
      });

      it('stages the rule and reason with each item (also through a re-staging), and reads them back', async () => {
        const batch = [routed(0, 'summary', 'feature=summary', 'gpt-4.1-mini'), routed(1, null, "no rule matched: the line's own model", 'gpt-4o-mini'), routed(2, 'triage', 'feature=triage → classifier pending', 'gpt-4.1', 'gpt-4.1-nano'), item(3)];
        await store.stageItems('r', batch);
        // Again, with a duplicate id on another line: the careful staging path keeps the same fields.
        expect((await store.stageItems('r', [...batch, { ...routed(4, 'x', 'y', 'z'), customId: 'c0', line: 99 }])).duplicates).toEqual([{ customId: 'c0', line: 99, firstLine: 1 }]);
        const pending = await store.pendingItems('r', { seqStart: 0, seqEnd: 10 });
        expect(pending.map((p) => p.routing)).toEqual([
          { rule: 'summary', reason: 'feature=summary', classifierPending: false, classifierCostUsd: 0 },
          { rule: null, reason: "no rule matched: the line's own model", classifierPending: false, classifierCostUsd: 0 },
          { rule: 'triage', reason: 'feature=triage → classifier pending', classifierModel: 'gpt-4.1-nano', classifierPending: true, classifierCostUsd: 0 },
          undefined,
        ]);
        expect((await allItems(store, 'r')).map((i) => [i.model, i.routing?.rule, i.routing?.reason])).toEqual([
          ['gpt-4.1-mini', 'summary', 'feature=summary'],
          ['gpt-4o-mini', null, "no rule matched: the line's own model"],
          ['gpt-4.1', 'triage', 'feature=triage → classifier pending'],
          ['gpt-4o-mini', undefined, undefined],
        ]);
        const sample = await store.pendingItems('r', { sampleSeed: 7, sampleSize: 4 });
        expect(sample.find((p) => p.customId === 'c2')?.routing?.classifierPending).toBe(true);
      });

      it('a classification rewrites a pending item and adds its cost; the item\'s result then holds all it cost', async () => {
        await store.stageItems('r', [routed(0, 'triage', 'feature=triage → classifier pending', 'gpt-4.1', 'gpt-4.1-nano'), routed(1, 'triage', 'feature=triage → classifier pending', 'gpt-4.1', 'gpt-4.1-nano')]);
        await store.recordResults('r', [success('c1', { model: 'gpt-4.1', costUsd: 0.25 })]);
        const body = { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'q0' }] };
        const cls = (customId: string) => ({ customId, model: 'gpt-4.1-mini', bodyJson: JSON.stringify(body), promptTokens: 11, reason: 'feature=triage → classifier: simple', costUsd: 0.001 });
        await store.recordClassifications('r', [cls('c0'), cls('c1')]);
        const [p] = await store.pendingItems('r', { seqStart: 0, seqEnd: 2 });
        expect(p).toMatchObject({ customId: 'c0', model: 'gpt-4.1-mini', body, promptTokens: 11, routing: { rule: 'triage', reason: 'feature=triage → classifier: simple', classifierModel: 'gpt-4.1-nano', classifierPending: false, classifierCostUsd: 0.001 } });
        // Spent even before the item is done; a finished item is not touched.
        expect((await store.totals('r')).costUsd).toBeCloseTo(0.251, 12);
        expect((await store.pendingEstimate('r', { seqStart: 0, seqEnd: 2 }))).toEqual([{ model: 'gpt-4.1-mini', items: 1, promptTokens: 11, outputTokens: 20 }]);
        await store.recordResults('r', [success('c0', { model: 'gpt-4.1-mini', costUsd: 0.011 })]);
        const all = await allItems(store, 'r');
        expect(all.map((i) => [i.model, i.costUsd, i.routing?.classifierCostUsd])).toEqual([['gpt-4.1-mini', 0.011, 0.001], ['gpt-4.1', 0.25, 0]]);
      });

      it('groups items and spend by model, rule and classifier model', async () => {
        await store.stageItems('r', [routed(0, 'summary', 'a', 'gpt-4.1-mini'), routed(1, 'summary', 'a', 'gpt-4.1-mini'), routed(2, null, 'b', 'gpt-4o-mini'), routed(3, 'triage', 'c', 'gpt-4.1', 'gpt-4.1-nano')]);
        await store.stageItems('plain', [item(0)]);
        await store.recordClassifications('r', [{ customId: 'c3', model: 'gpt-4.1-mini', bodyJson: '{}', promptTokens: 5, reason: 'd', costUsd: 0.002 }]);
        await store.recordResults('r', [success('c0', { model: 'gpt-4.1-mini', costUsd: 0.5 }), failure('c2', { model: 'gpt-4o-mini' }), success('c3', { model: 'gpt-4.1-mini', costUsd: 0.012 })]);
        const rows = (await store.routeSpend('r')).sort((a, b) => `${a.model}/${a.rule}`.localeCompare(`${b.model}/${b.rule}`));
        expect(rows.map((r) => ({ ...r, costUsd: Math.round(r.costUsd * 1e9) / 1e9 }))).toEqual([
          { model: 'gpt-4.1-mini', rule: 'summary', classifierModel: null, items: 2, succeeded: 1, failed: 0, pending: 1, costUsd: 0.5, classifierCostUsd: 0, classified: 0, routed: 2 },
          { model: 'gpt-4.1-mini', rule: 'triage', classifierModel: 'gpt-4.1-nano', items: 1, succeeded: 1, failed: 0, pending: 0, costUsd: 0.012, classifierCostUsd: 0.002, classified: 1, routed: 1 },
          { model: 'gpt-4o-mini', rule: null, classifierModel: null, items: 1, succeeded: 0, failed: 1, pending: 0, costUsd: 0, classifierCostUsd: 0, classified: 0, routed: 1 },
        ]);
        expect(await store.routeSpend('plain')).toEqual([{ model: 'gpt-4o-mini', rule: null, classifierModel: null, items: 1, succeeded: 0, failed: 0, pending: 1, costUsd: 0, classifierCostUsd: 0, classified: 0, routed: 0 }]);
        expect(await store.routeSpend('none')).toEqual([]);
      });
    });

    describe('quality spot-checks', () => {
      it('samples only succeeded items no earlier checkpoint claimed, seeded, the same on a retried call', async () => {
        const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
        await store.stageItems('r', range(0, 100).map((i) => (i === 7 ? { ...item(i), feature: 'support', priority: 'urgent' } : item(i))));
        await store.stageItems('other', range(0, 10).map((i) => item(i)));
        await store.recordResults('other', range(0, 10).map((i) => success(`c${i}`)));
        await store.recordResults('r', [...range(0, 60).map((i) => success(`c${i}`, { responseJson: `{"id":"resp-${i}"}` })), ...range(60, 65).map((i) => failure(`c${i}`))]);
        const first = await store.spotCheckSample('r', 1, 12345, 10);
        expect(first.map((s) => s.seq)).toEqual(referenceSampleOf(12345, range(0, 60), 10));
        // Another seed draws other items; the same call again draws the same ones.
        expect((await store.spotCheckSample('r', 1, 999, 10)).map((s) => s.seq)).toEqual(referenceSampleOf(999, range(0, 60), 10));
        expect(await store.spotCheckSample('r', 1, 12345, 10)).toEqual(first);
        const s0 = first[0]!;
        expect(s0).toEqual({ customId: `c${s0.seq}`, seq: s0.seq, bodyJson: JSON.stringify(item(0).body), metadata: s0.seq === 7 ? { feature: 'support', priority: 'urgent' } : {}, responseJson: `{"id":"resp-${s0.seq}"}` });
        const all60 = await store.spotCheckSample('r', 1, 1, 1000);
        expect(all60.map((s) => s.seq)).toEqual(range(0, 60));
        expect(all60[7]!.metadata).toEqual({ feature: 'support', priority: 'urgent' });
        // The next checkpoint sees only what succeeded since: never an item checkpoint 1 holds.
        await store.recordResults('r', range(65, 95).map((i) => success(`c${i}`)));
        expect((await store.spotCheckSample('r', 2, 12345, 10)).map((s) => s.seq)).toEqual(referenceSampleOf(12345, range(65, 95), 10));
        expect((await store.spotCheckSample('r', 2, 12345, 100)).map((s) => s.seq)).toEqual(range(65, 95));
        expect(await store.spotCheckSample('r', 3, 12345, 10)).toEqual([]);
        // Other runs are untouched: their items are still free for their own first checkpoint.
        expect((await store.spotCheckSample('other', 1, 5, 100)).map((s) => s.seq)).toEqual(range(0, 10));
      });
    });

    semanticStoreSuite(() => store);
    dashboardStoreSuite(() => store);
  });
}
