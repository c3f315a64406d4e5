// The PostgreSQL item store against the real PostgreSQL of the test run: the shared store
// suite (each test in a fresh schema), then what only PostgreSQL has: migrations under the
// advisory lock with many stores opening at once, staging 50,000 items through COPY,
// byte-order sorting whatever the database's collation, and the same answers as SQLite.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PostgresItemStore } from '../../src/store/postgres.ts';
import { redactUrl } from '../../src/redact-url.ts';
import { openItemStore } from '../../src/store/open.ts';
import { MIGRATIONS } from '../../src/store/postgres-schema.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import type { ItemStore, NewItem } from '../../src/store/item-store.ts';
import { allItems, failure, item, itemStoreSuite, success } from '../support/item-store-suite.ts';

const adminUrl = inject('databaseUrl');
let unique = 0;
const name = (prefix: string): string => `${prefix}_${process.pid}_${Date.now().toString(36)}_${unique++}`;

async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = adminUrl): Promise<T> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The URL of a new, empty schema of the run's database (a store's tables land in it). */
async function freshSchema(): Promise<string> {
  const schema = name('s');
  await admin((c) => c.query(`CREATE SCHEMA ${schema}`));
  const url = new URL(adminUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** The URL of a new, empty database (with extra CREATE DATABASE clauses when given). */
async function freshDatabase(clauses = ''): Promise<string> {
  const db = name('d');
  await admin((c) => c.query(`CREATE DATABASE ${db} ${clauses}`));
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  return url.toString();
}

const opened: ItemStore[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
async function open(url: string): Promise<PostgresItemStore> {
  const s = await PostgresItemStore.open(url, { poolSize: 4 });
  opened.push(s);
  return s;
}

itemStoreSuite('PostgresItemStore', async () => PostgresItemStore.open(await freshSchema(), { poolSize: 4 }));

describe('PostgresItemStore on PostgreSQL only', () => {
  it('many stores opening at once on an empty database all succeed, and each migration is recorded once', async () => {
    const url = await freshDatabase();
    const stores = await Promise.all(Array.from({ length: 6 }, () => open(url)));
    const rows = await admin(async (c) => (await c.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows, url);
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    // They share one schema: what one stages, another reads.
    await stores[0]!.stageItems('r', [item(0), item(1)]);
    expect((await stores[5]!.totals('r')).items).toBe(2);
    // A later start finds nothing to apply.
    await open(url);
    expect(await admin(async (c) => (await c.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n, url)).toBe(MIGRATIONS.length);
  });

  it('stages 50,000 items through COPY in one call; totals match; a re-staging is a no-op', async () => {
    const store = await open(await freshSchema());
    const n = 50_000;
    const items: NewItem[] = Array.from({ length: n }, (_, i) => ({
      ...item(i), body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `ticket ${i}:\tline one\nline two \\ "quoted" é` }] }, promptTokens: 10 + (i % 7), maxOutputTokens: 100,
    }));
    const t0 = Date.now();
    expect((await store.stageItems('big', items)).duplicates).toEqual([]);
    const stagedMs = Date.now() - t0;
    const t = await store.totals('big');
    expect(t).toMatchObject({ items: n, pending: n, succeeded: 0 });
    const [est] = await store.pendingEstimate('big', { seqStart: 0, seqEnd: n });
    expect(est).toEqual({ model: 'gpt-4o-mini', items: n, promptTokens: items.reduce((s, it) => s + it.promptTokens, 0), outputTokens: 100 * n });
    expect((await store.stageItems('big', items.slice(0, 5_000))).duplicates).toEqual([]);
    // One more line reusing an id of the big batch is reported.
    expect((await store.stageItems('big', [item(n, 'c49999', n + 1)])).duplicates).toEqual([{ customId: 'c49999', line: n + 1, firstLine: n }]);
    expect((await store.totals('big')).items).toBe(n);
    const [last] = await store.pendingItems('big', { seqStart: n - 1, seqEnd: n });
    expect(last!.body).toEqual(items[n - 1]!.body);
    console.log(`staged ${n} items through COPY in ${stagedMs} ms`);
  });

  /** A fresh schema whose items table autovacuum leaves alone: the planner never gets statistics on it. */
  async function unanalyzedSchema(): Promise<{ url: string; schema: string }> {
    const url = await freshSchema();
    const schema = new URL(url).searchParams.get('options')!.replace('-c search_path=', '');
    await (await PostgresItemStore.open(url, { poolSize: 1 })).close();
    await admin((c) => c.query(`ALTER TABLE ${schema}.items SET (autovacuum_enabled = false)`));
    return { url, schema };
  }

  /** Index entries and table rows read from the schema's items table, once the backends that read them have flushed their statistics. */
  async function reads(schema: string): Promise<number> {
    const sql = `SELECT (SELECT sum(idx_tup_read) FROM pg_stat_user_indexes WHERE schemaname = $1 AND relname = 'items')
      + (SELECT seq_tup_read FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'items') AS n`;
    let last = -1;
    for (;;) {
      const now = Number(await admin(async (c) => (await c.query(sql, [schema])).rows[0].n));
      if (now === last) return now;
      last = now;
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** Rows and index entries read per item by `work` on a store of its own (closed after, so its backend flushes its statistics). */
  async function readsPerItem(url: string, schema: string, items: number, work: (s: PostgresItemStore) => Promise<unknown>): Promise<number> {
    const store = await PostgresItemStore.open(url, { poolSize: 1 });
    const before = await reads(schema);
    try {
      await work(store);
    } finally {
      await store.close();
    }
    return ((await reads(schema)) - before) / items;
  }

  it('reads a run the planner has no statistics for in linear work (items() pages by seq windows)', async () => {
    // Guessing that few rows match, the planner would sort all the rest of the run for each
    // page of `seq > after … LIMIT n`: about 40 reads per item here.
    const { url, schema } = await unanalyzedSchema();
    const n = 20_000;
    await (await open(url)).stageItems('new', Array.from({ length: n }, (_, i) => item(i)));
    let seqs: number[] = [];
    const perItem = await readsPerItem(url, schema, n, async (s) => (seqs = (await allItems(s, 'new', 250)).map((i) => i.seq)));
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(perItem).toBeLessThan(1.5);
  });

  it('writes batches of a run the planner has no statistics for in work linear in the batch', async () => {
    // A big table (another run's 200,000 rows), with no statistics: joined on run_id alone, a
    // batch would read all of its run so far (about 20 reads per item here); joined on the
    // whole key, one unique-index lookup per row.
    const { url, schema } = await unanalyzedSchema();
    await admin((c) => c.query(`INSERT INTO ${schema}.items (run_id, custom_id, seq, line, url, body, model, prompt_tokens_est, max_output_tokens)
      SELECT 'other', 'o' || g, g, g + 1, '/v1/chat/completions', '{}', 'm', 1, 1 FROM generate_series(0, 199999) g`));
    const n = 20_000;
    const items = Array.from({ length: n }, (_, i) => item(i));
    const inBatches = async <T>(size: number, write: (batch: NewItem[]) => Promise<T>): Promise<void> => {
      for (let i = 0; i < n; i += size) await write(items.slice(i, i + size));
    };
    const perItem = {
      stage: await readsPerItem(url, schema, n, (s) => inBatches(500, (b) => s.stageItems('new', b))),
      results: await readsPerItem(url, schema, n, (s) => inBatches(256, (b) => s.recordResults('new', b.map((it) => failure(it.customId))))),
      resultsByCopy: await readsPerItem(url, schema, n, (s) => inBatches(500, (b) => s.recordResults('new', b.map((it) => success(it.customId))))),
      retries: await readsPerItem(url, schema, n, (s) => inBatches(500, (b) => s.recordRetries('new', b.map((it) => ({ customId: it.customId, attempts: 2, error: { code: 'e', message: 'm' }, mode: 'batch' }))))),
    };
    for (const [what, reads] of Object.entries(perItem)) expect(reads, what).toBeLessThan(3);
    expect(await (await open(url)).totals('new')).toMatchObject({ items: n, succeeded: n });
  });

  it('sorts models in byte order, as SQLite does, in a database whose collation does not', async () => {
    let url: string;
    try {
      url = await freshDatabase("TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'");
    } catch (e) {
      // Built without ICU: a byte-order database cannot show the difference.
      console.log(`skipped: no ICU collation (${(e as Error).message})`);
      return;
    }
    const store = await open(url);
    const ordered = await admin(async (c) => (await c.query("SELECT x FROM (VALUES ('a'), ('B')) v(x) ORDER BY x")).rows.map((r) => r.x), url);
    expect(ordered).toEqual(['a', 'B']); // the database's own order is not byte order
    const mk = (seq: number, model: string): NewItem => ({ ...item(seq), model, route: 'batch' });
    await store.stageItems('r', [mk(0, 'a'), mk(1, 'B'), mk(2, 'a')]);
    expect((await store.pendingEstimate('r', { seqStart: 0, seqEnd: 3 })).map((e) => e.model)).toEqual(['B', 'a']);
    await store.planParts('r', { chunkSize: 10, maxLines: 10, maxBytes: 1e6 });
    expect((await store.pendingItems('r', { part: 0 })).map((p) => p.model)).toEqual(['B']);
  });

  it('gives the same answers as the SQLite store for the same writes', async () => {
    const pgStore = await open(await freshSchema());
    const sqlite = new SqliteItemStore(join(mkdtempSync(join(tmpdir(), 'store-')), 'items.sqlite'));
    try {
      const models = ['gpt-4o', 'gpt-4o-mini', 'o3-mini'];
      const items: NewItem[] = Array.from({ length: 2_500 }, (_, i) => {
        const model = models[i % 3]!;
        return { ...item(i), model, body: { model, messages: [{ role: 'user', content: `q${i}` }] }, promptTokens: 5 + (i % 11), maxOutputTokens: 50 + (i % 4) * 25, route: i % 4 === 0 ? 'realtime' : 'batch', feature: i % 2 ? 'triage' : undefined };
      });
      // Duplicates across and within calls, and a re-staged slice.
      const calls = [items.slice(0, 1000), [...items.slice(1000, 2000), item(2000, 'c5', 9999), item(2001, 'c1500', 9998)], items.slice(1990), items.slice(0, 10)];
      for (const call of calls) expect(await pgStore.stageItems('r', call)).toEqual(await sqlite.stageItems('r', call));
      const results = items.filter((_, i) => i % 7 === 0).map((it, k) => (k % 3 === 0 ? failure(it.customId) : success(it.customId, { costUsd: 0.001 * (k % 13), mode: k % 2 ? 'batch' : 'realtime' })));
      for (const store of [pgStore, sqlite]) {
        await store.recordResults('r', results.slice(0, 100));
        await store.recordResults('r', results); // the large path, with items already done
        await store.recordRetries('r', [{ customId: 'c1', attempts: 2, error: { code: 'e', message: 'm' }, mode: 'batch' }]);
      }
      const limits = { chunkSize: 100, maxLines: 300, maxBytes: 20_000 };
      expect(await pgStore.planParts('r', limits)).toEqual(await sqlite.planParts('r', limits));
      const selections = [undefined, { seqStart: 100, seqEnd: 900 }, { part: 3 }, { part: 12 }, { sampleSeed: 4242, sampleSize: 200 }, { sampleSeed: 7, sampleSize: 2_500 }];
      for (const sel of selections) {
        const pgTotals = await pgStore.totals('r', sel);
        const sqliteTotals = await sqlite.totals('r', sel);
        // Sums of doubles in another order may differ in the last bits.
        expect({ ...pgTotals, costUsd: 0, batch: { ...pgTotals.batch, costUsd: 0 } }).toEqual({ ...sqliteTotals, costUsd: 0, batch: { ...sqliteTotals.batch, costUsd: 0 } });
        expect(pgTotals.costUsd).toBeCloseTo(sqliteTotals.costUsd, 12);
        if (!sel) continue;
        expect(await pgStore.pendingItems('r', sel, 150)).toEqual(await sqlite.pendingItems('r', sel, 150));
        expect(await pgStore.pendingEstimate('r', sel, 60)).toEqual(await sqlite.pendingEstimate('r', sel, 60));
        expect(await pgStore.measuredItems('r', sel)).toEqual(await sqlite.measuredItems('r', sel));
        expect(await pgStore.pendingRequests('r', sel, 150, 40)).toEqual(await sqlite.pendingRequests('r', sel, 150, 40));
      }
      expect(await allItems(pgStore, 'r', 333)).toEqual(await allItems(sqlite, 'r', 1000));
    } finally {
      await sqlite.close();
    }
  });

  it('openItemStore: PostgreSQL for a postgres:// URL (named without its password), SQLite in the data dir without one', async () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    const withUrl = await openItemStore(home, await freshSchema());
    opened.push(withUrl.store);
    expect(withUrl.store).toBeInstanceOf(PostgresItemStore);
    expect(withUrl.where).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/llm_batch\?options=/);
    const without = await openItemStore(home, undefined);
    expect(without.store).toBeInstanceOf(SqliteItemStore);
    expect(without.where).toBe(join(home, 'items.sqlite'));
    await without.store.close();
    await expect(openItemStore(home, 'mysql://u:secret@h/db')).rejects.toThrow('LLM_BATCH_DATABASE_URL must be a postgres:// or postgresql:// URL, got "mysql://u:***@h/db"');
    expect(redactUrl('postgresql://app:s3cret@db.example:5432/llm?sslmode=require')).toBe('postgresql://app:***@db.example:5432/llm?sslmode=require');
  });

  it('a batch PostgreSQL refuses fails whole with its reason (text cannot hold NUL), and the store goes on', async () => {
    const store = await open(await freshSchema());
    await expect(store.stageItems('r', [item(0), item(1, 'nul\u0000id')])).rejects.toThrow(/0x00/);
    expect((await store.totals('r')).items).toBe(0);
    expect((await store.stageItems('r', [item(0), item(1)])).duplicates).toEqual([]);
    expect((await store.totals('r')).items).toBe(2);
  });

  it('says what failed when the database cannot be reached', async () => {
    const url = new URL(adminUrl);
    url.port = '1';
    await expect(PostgresItemStore.open(url.toString())).rejects.toThrow(/^item store on PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/llm_batch: .*ECONNREFUSED/);
  });
});
