// Prompt-cache columns on stores that existed before them: a SQLite file and a PostgreSQL
// database from the previous release keep working (their items go out in input order), and on
// PostgreSQL a row written by a release that does not know dispatch_seq still gets one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { PostgresItemStore } from '../../src/store/postgres.ts';
import { migrate, MIGRATIONS } from '../../src/store/postgres-schema.ts';
import { item, success } from '../support/item-store-suite.ts';
import { freshDatabase } from '../support/harness.ts';

// The items table as the release before prompt caching created it (with the columns it had added).
const OLD_SQLITE = `
CREATE TABLE items (
  run_id TEXT NOT NULL, custom_id TEXT NOT NULL, seq INTEGER NOT NULL, line INTEGER NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL,
  model TEXT NOT NULL, feature TEXT, priority TEXT, prompt_tokens_est INTEGER NOT NULL, max_output_tokens INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, mode TEXT, request_id TEXT, status_code INTEGER,
  response TEXT, error TEXT, prompt_tokens INTEGER NOT NULL DEFAULT 0, cached_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0, reasoning_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL, route TEXT NOT NULL DEFAULT 'realtime', part INTEGER, line_bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, custom_id));
CREATE UNIQUE INDEX items_by_seq ON items (run_id, seq);`;

const OLD_INSERT = `INSERT INTO items (run_id, custom_id, seq, line, url, body, model, prompt_tokens_est, max_output_tokens, updated_at)
  VALUES ('old', $1, $2, $3, '/v1/chat/completions', '{"model":"gpt-4o-mini","messages":[]}', 'gpt-4o-mini', 10, 20, '2025-01-01')`;

describe('prompt-cache columns on existing stores', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it('SQLite: a file from the previous release opens, and its items go out in input order', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'old-store-')), 'items.sqlite');
    const db = new DatabaseSync(path);
    db.exec(OLD_SQLITE);
    const insert = db.prepare(OLD_INSERT.replaceAll(/\$\d/g, '?'));
    for (let seq = 0; seq < 5; seq++) insert.run(`c${seq}`, seq, seq + 1);
    db.close();

    const store = new SqliteItemStore(path);
    closers.push(() => store.close());
    expect((await store.pendingItems('old', { seqStart: 1, seqEnd: 4 })).map((p) => p.customId)).toEqual(['c1', 'c2', 'c3']);
    expect((await store.totals('old', { seqStart: 0, seqEnd: 5 })).items).toBe(5);
    await store.recordResults('old', [success('c0', { promptCacheSavedUsd: 0.5 })]);
    expect((await store.totals('old')).promptCacheSavedUsd).toBe(0.5);
    // Opening it again changes nothing.
    await store.close();
    const again = new SqliteItemStore(path);
    closers.push(() => again.close());
    expect((await again.pendingItems('old', { seqStart: 0, seqEnd: 5 })).map((p) => p.customId)).toEqual(['c1', 'c2', 'c3', 'c4']);
  });

  it('PostgreSQL: a database at the previous migration is migrated; rows from an older writer still get their dispatch position', async () => {
    const url = await freshDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    closers.push(() => pool.end());
    await migrate(pool, MIGRATIONS.filter((m) => m.version <= 2));
    for (let seq = 0; seq < 5; seq++) await pool.query(OLD_INSERT.replace("'2025-01-01'", 'now()'), [`c${seq}`, seq, seq + 1]);

    const store = await PostgresItemStore.open(url, { poolSize: 2 });
    closers.push(() => store.close());
    expect((await store.pendingItems('old', { seqStart: 1, seqEnd: 4 })).map((p) => p.customId)).toEqual(['c1', 'c2', 'c3']);
    // A release that does not know dispatch_seq inserts a row: the trigger gives it its seq.
    await pool.query(OLD_INSERT.replace("'2025-01-01'", 'now()'), ['c5', 5, 6]);
    expect((await store.pendingItems('old', { seqStart: 5, seqEnd: 6 })).map((p) => p.customId)).toEqual(['c5']);
    // New items, ordered by prefix group, as on a new database.
    await store.stageItems('new', [{ ...item(0), prefixGroup: 'B' }, item(1), { ...item(2), prefixGroup: 'A' }, { ...item(3), prefixGroup: 'B' }]);
    await store.orderByPrefixGroup('new');
    expect((await store.pendingItems('new', { seqStart: 0, seqEnd: 4 })).map((p) => p.customId)).toEqual(['c0', 'c3', 'c1', 'c2']);
  });
});
