// The SQLite item store against the shared store suite (test/support/item-store-suite.ts),
// each test on a fresh file.
import { describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { cacheEntry, item, itemStoreSuite, success } from '../support/item-store-suite.ts';

itemStoreSuite('SqliteItemStore', async () => new SqliteItemStore(join(mkdtempSync(join(tmpdir(), 'store-')), 'items.sqlite')));

describe('SqliteItemStore on a file from an earlier release', () => {
  it('gains the routing columns on open; its items read back without routing', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'store-')), 'items.sqlite');
    // The items table as the release before --route created it, with one item.
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE items (run_id TEXT NOT NULL, custom_id TEXT NOT NULL, seq INTEGER NOT NULL, line INTEGER NOT NULL, url TEXT NOT NULL,
      body TEXT NOT NULL, model TEXT NOT NULL, feature TEXT, priority TEXT, prompt_tokens_est INTEGER NOT NULL, max_output_tokens INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, mode TEXT, request_id TEXT, status_code INTEGER, response TEXT, error TEXT,
      prompt_tokens INTEGER NOT NULL DEFAULT 0, cached_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
      reasoning_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
      route TEXT NOT NULL DEFAULT 'realtime', part INTEGER, line_bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, custom_id))`);
    old.prepare(`INSERT INTO items (run_id, custom_id, seq, line, url, body, model, prompt_tokens_est, max_output_tokens, updated_at) VALUES ('r', 'c0', 0, 1, '/v1/chat/completions', '{"model":"gpt-4o-mini","messages":[]}', 'gpt-4o-mini', 10, 20, 'now')`).run();
    old.close();
    const store = new SqliteItemStore(path);
    try {
      const [p] = await store.pendingItems('r', { seqStart: 0, seqEnd: 1 });
      expect(p).toEqual({ customId: 'c0', seq: 0, url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] }, model: 'gpt-4o-mini', promptTokens: 10, maxOutputTokens: 20, attempts: 0 });
      expect(await store.routeSpend('r')).toMatchObject([{ model: 'gpt-4o-mini', rule: null, items: 1, routed: 0 }]);
      await store.stageItems('r', [{ ...item(1), routing: { rule: 'x', reason: 'y' } }]);
      expect((await store.pendingItems('r', { seqStart: 1, seqEnd: 2 }))[0]!.routing).toEqual({ rule: 'x', reason: 'y', classifierPending: false, classifierCostUsd: 0 });
    } finally {
      await store.close();
    }
  });
});

describe('SqliteItemStore on a file from before the exact cache', () => {
  it('gains the cache columns and table on open, and records a hit', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'store-old-')), 'items.sqlite');
    // The first release's items table: no route, part, line_bytes, cache_marker or saved_usd, no response_cache.
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE items (run_id TEXT NOT NULL, custom_id TEXT NOT NULL, seq INTEGER NOT NULL, line INTEGER NOT NULL, url TEXT NOT NULL,
      body TEXT NOT NULL, model TEXT NOT NULL, feature TEXT, priority TEXT, prompt_tokens_est INTEGER NOT NULL, max_output_tokens INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, mode TEXT, request_id TEXT, status_code INTEGER, response TEXT,
      error TEXT, prompt_tokens INTEGER NOT NULL DEFAULT 0, cached_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
      reasoning_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, PRIMARY KEY (run_id, custom_id))`);
    old.close();
    const store = new SqliteItemStore(path);
    try {
      await store.stageItems('r', [item(0)]);
      await store.recordResults('r', [success('c0', { mode: 'cache', costUsd: 0, cacheMarker: '{"cache":"exact"}', savedUsd: 0.5 })]);
      expect((await store.totals('r')).cache).toEqual({ hits: 1, savedUsd: 0.5 });
      await store.cachePut([cacheEntry('k', 'r', 1)]);
      expect((await store.cacheLookup(['k'], { runId: 'r', includeShared: false, minCreatedAt: 0 })).size).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteItemStore on a file from before the dashboard', () => {
  it('sums the results already there into the spend rollup once, on open', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'store-')), 'items.sqlite');
    const first = new SqliteItemStore(path);
    await first.stageItems('r', [item(0), item(1), item(2)]);
    await first.recordResults('r', [success('c0', { costUsd: 0.5 }), success('c1', { costUsd: 0.25 })]);
    await first.close();
    // As the release before the dashboard left it: no rollup, no triggers.
    const old = new DatabaseSync(path);
    old.exec('DROP TRIGGER items_rollup_in; DROP TRIGGER items_rollup_out; DROP TABLE spend_rollup; DROP TABLE spend_delta;');
    old.close();
    const store = new SqliteItemStore(path);
    try {
      const rows = await store.dashboardQuery('spend_by_model', []);
      expect(rows.map((r) => [r.key, Number(r.succeeded), Number(r.cost)])).toEqual([['gpt-4o-mini', 2, 0.75]]);
      await store.recordResults('r', [success('c2', { costUsd: 1 })]);
      await store.foldSpendDelta();
      expect(Number((await store.dashboardQuery('spend_by_model', []))[0]!.cost)).toBe(1.75);
    } finally {
      await store.close();
    }
  });
});
