// The embedded item store: one SQLite file in the data dir, through Node's built-in
// node:sqlite (no native build). WAL mode lets the CLI read while a worker writes.
// The SQL sticks to what PostgreSQL also accepts (ON CONFLICT upserts, no SQLite-only types);
// selections and totals are the very SQL the PostgreSQL store runs (selection-sql.ts).
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PartPlanner, type PartPlan, type PlanLimits } from '../domain/batch-plan.ts';
import { isPart, isSample, type BatchRecord, type CacheEntry, type CacheScope, type ItemResult, type ItemRetry, type PendingRequest, type ItemSelection, type ItemStore, type ItemTotals, type MeasuredItem, type NewItem, type PendingEstimate, type PendingItem, type RejectRecord, type StageOutcome, type StoredItem } from './item-store.ts';
import { PENDING_ITEM_COLUMNS, PREFIX_ORDER_SQL, selectionSql, STORED_ITEM_COLUMNS, TOTALS_COLUMNS } from './selection-sql.ts';
import { resultFields } from './result-row.ts';
import { ResultStatements, retryArgs, SqliteWriterThread } from './sqlite-writer.ts';
import { CACHE_ENTRY_COLUMNS, cacheEntryValues, preferredEntries, toCacheEntry } from './rows.ts';
import { CLASSIFY_SQL, ROUTE_SPEND_SQL, ROUTING_COLUMN_TYPES, ROUTING_COLUMNS, routingFields, toRouteSpendRow } from './route-sql.ts';
import type { ItemClassification, SpotCheckSample, TooLargeItem } from './item-store.ts';
import { CLAIM_SPOT_CHECK, spotCheckSampleSql, toSpotCheckSample } from './spot-check-sql.ts';
import type { RouteSpendRow } from '../domain/route-spend.ts';
import { DASHBOARD_ITEM_COLUMNS, FOLD_DELTA, FOLD_EVERY_WRITES, runParams, sqliteDashboardSchema, UPSERT_RUN, type RunRecord } from './spend-rollup.ts';
import { DASHBOARD_SQL, type DashboardQuery } from './dashboard-sql.ts';
import { DELETE_SEMANTIC_BEFORE, INSERT_SEMANTIC, SELECT_SEMANTIC_SINCE, SQLITE_SEMANTIC_SCHEMA, semanticInsertParams, toSemanticEntry, type NewSemanticEntry, type SemanticEntry, type SemanticSpace } from './semantic-rows.ts';
import { num, stagedFields, toBatchRecord, toRejectRecord, toMeasuredItem, toPendingItem, toPendingRequest, toStoredItem, toTotals, type Row } from './rows.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS items (
  run_id            TEXT    NOT NULL,
  custom_id         TEXT    NOT NULL,
  seq               INTEGER NOT NULL,
  line              INTEGER NOT NULL,
  url               TEXT    NOT NULL,
  body              TEXT    NOT NULL,
  model             TEXT    NOT NULL,
  feature           TEXT,
  priority          TEXT,
  prompt_tokens_est INTEGER NOT NULL,
  max_output_tokens INTEGER NOT NULL,
  status            TEXT    NOT NULL DEFAULT 'pending',
  attempts          INTEGER NOT NULL DEFAULT 0,
  mode              TEXT,
  request_id        TEXT,
  status_code       INTEGER,
  response          TEXT,
  error             TEXT,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  cached_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens  INTEGER NOT NULL DEFAULT 0,
  cost_usd          REAL    NOT NULL DEFAULT 0,
  updated_at        TEXT    NOT NULL,
  PRIMARY KEY (run_id, custom_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS items_by_seq ON items (run_id, seq);
CREATE TABLE IF NOT EXISTS batches (
  run_id        TEXT    NOT NULL,
  key           TEXT    NOT NULL,
  model         TEXT    NOT NULL,
  lines         INTEGER NOT NULL,
  input_file_id TEXT,
  batch_id      TEXT,
  uploaded_at   INTEGER,
  PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS rejects (
  run_id    TEXT    NOT NULL,
  line      INTEGER NOT NULL,
  custom_id TEXT,
  code      TEXT    NOT NULL,
  message   TEXT    NOT NULL,
  PRIMARY KEY (run_id, line)
);
CREATE TABLE IF NOT EXISTS response_cache (
  key               TEXT    NOT NULL,
  run_id            TEXT    NOT NULL,
  url               TEXT    NOT NULL,
  model             TEXT    NOT NULL,
  response          TEXT    NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  cached_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  reasoning_tokens  INTEGER NOT NULL,
  cost_usd          REAL    NOT NULL,
  custom_id         TEXT    NOT NULL,
  request_id        TEXT,
  created_at        INTEGER NOT NULL,
  shared            INTEGER NOT NULL,
  PRIMARY KEY (key, run_id)
);
`;

// Columns added after the first release: a store file from then gains them on open.
const ADDED_COLUMNS: [string, string][] = [
  ['route', "TEXT NOT NULL DEFAULT 'realtime'"],
  ['part', 'INTEGER'],
  ['line_bytes', 'INTEGER NOT NULL DEFAULT 0'],
  ['cache_marker', 'TEXT'],
  ['saved_usd', 'REAL NOT NULL DEFAULT 0'],
  ...ROUTING_COLUMN_TYPES,
  // Provider prompt caching: the prompt's prefix group and path, the dispatch order, the saving.
  ['prefix_group', 'TEXT'],
  ['prefix_path', 'TEXT'],
  ['dispatch_seq', 'INTEGER'],
  ['prompt_cache_saved_usd', 'REAL NOT NULL DEFAULT 0'],
  // Quality spot-checks: the checkpoint that claimed a succeeded item.
  ['spot_checkpoint', 'INTEGER'],
  // The dashboard: latency and 429s of results.
  ...DASHBOARD_ITEM_COLUMNS,
  // --schema: what an item's discarded answers (schema mismatches retried) cost and used, part of cost_usd and the token columns.
  ['retry_cost_usd', 'REAL NOT NULL DEFAULT 0'],
  ['retry_prompt_tokens', 'INTEGER NOT NULL DEFAULT 0'],
  ['retry_cached_tokens', 'INTEGER NOT NULL DEFAULT 0'],
  ['retry_completion_tokens', 'INTEGER NOT NULL DEFAULT 0'],
  ['retry_reasoning_tokens', 'INTEGER NOT NULL DEFAULT 0'],
];


/** Result writes at least this large (a collected batch's, not realtime's) are committed by the writer thread. */
export const THREAD_WRITES_FROM = 300;

export class SqliteItemStore implements ItemStore {
  private readonly db: DatabaseSync;
  private readonly insertItem: StatementSync;
  private readonly findItem: StatementSync;
  private readonly selectPending: StatementSync;
  private readonly resultWrites: ResultStatements;
  /** Large result writes (a collected batch's) go to a thread; none for an in-memory database. */
  private readonly writer: SqliteWriterThread | undefined;
  private readonly selectTotalsRange: StatementSync;
  private readonly selectTotalsRun: StatementSync;
  private readonly selectPage: StatementSync;
  private readonly statements = new Map<string, StatementSync>();
  private resultWritesSinceFold = 0;

  readonly path: string;

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    // 16 KiB pages (a new file only) hold a stored response without overflow pages, and a
    // 64 MiB cache and larger checkpoints keep bulk result writes (a collected batch) cheap:
    // about 2× faster than the defaults for 50,000 results of ~1 KB.
    this.db.exec('PRAGMA page_size = 16384; PRAGMA cache_size = -65536;');
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 4000;');
    this.db.exec(SCHEMA);
    this.db.exec(SQLITE_SEMANTIC_SCHEMA);
    const have = new Set((this.db.prepare('PRAGMA table_info(items)').all() as Row[]).map((r) => String(r.name)));
    for (const [name, type] of ADDED_COLUMNS) if (!have.has(name)) this.db.exec(`ALTER TABLE items ADD COLUMN ${name} ${type}`);
    // Items staged before dispatch_seq existed go out in input order, as they always did.
    if (!have.has('dispatch_seq')) this.db.exec('UPDATE items SET dispatch_seq = seq WHERE dispatch_seq IS NULL');
    this.db.exec('CREATE INDEX IF NOT EXISTS items_by_part ON items (run_id, part, seq)');
    this.db.exec('CREATE INDEX IF NOT EXISTS items_by_dispatch ON items (run_id, dispatch_seq)');
    // The dashboard's spend rollup and runs (spend-rollup.ts); a store from before it is summed into it once.
    const fresh = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spend_rollup'").get() === undefined;
    this.transaction(() => this.db.exec(sqliteDashboardSchema(fresh)));
    // DO UPDATE ... WHERE line matches: a re-staged line changes 1 row, another line with
    // the same custom_id changes 0 rows and is reported as a duplicate.
    this.insertItem = this.db.prepare(`
      INSERT INTO items (run_id, custom_id, seq, dispatch_seq, line, url, body, model, feature, priority, prompt_tokens_est, max_output_tokens, route, line_bytes, prefix_group, prefix_path, updated_at,
        route_rule, route_reason, classifier_model, classifier_pending)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, custom_id) DO UPDATE SET line = excluded.line WHERE items.line = excluded.line`);
    this.findItem = this.db.prepare('SELECT line FROM items WHERE run_id = ? AND custom_id = ?');
    this.selectPending = this.db.prepare(`
      SELECT ${PENDING_ITEM_COLUMNS}
      FROM items WHERE run_id = ? AND dispatch_seq >= ? AND dispatch_seq < ? AND status = 'pending' ORDER BY dispatch_seq LIMIT ?`);
    this.resultWrites = new ResultStatements(this.db);
    this.writer = path === ':memory:' ? undefined : new SqliteWriterThread(path);
    const totals = `${TOTALS_COLUMNS} FROM items WHERE run_id = ?`;
    this.selectTotalsRange = this.db.prepare(`${totals} AND dispatch_seq >= ? AND dispatch_seq < ?`);
    this.selectTotalsRun = this.db.prepare(totals);
    this.selectPage = this.db.prepare(`SELECT ${STORED_ITEM_COLUMNS} FROM items WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?`);
  }

  /** A prepared statement for SQL built at run time, prepared once. */
  private cached(sql: string): StatementSync {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  private transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async stageItems(runId: string, items: NewItem[]): Promise<StageOutcome> {
    const now = new Date().toISOString();
    return this.transaction(() => {
      const duplicates: StageOutcome['duplicates'] = [];
      for (const it of items) {
        const { body, route, lineBytes } = stagedFields(it);
        const { changes } = this.insertItem.run(
          runId, it.customId, it.seq, it.seq, it.line, it.url, body, it.model,
          it.feature ?? null, it.priority ?? null, it.promptTokens, it.maxOutputTokens, route, lineBytes, it.prefixGroup ?? null, it.prefixPath ?? null, now, ...routingFields(it),
        );
        if (num(changes) === 0) {
          const first = this.findItem.get(runId, it.customId) as Row | undefined;
          duplicates.push({ customId: it.customId, line: it.line, firstLine: num(first?.line) });
        }
      }
      return { duplicates };
    });
  }

  async pendingItems(runId: string, selection: ItemSelection, limit = -1): Promise<PendingItem[]> {
    const rows = isSample(selection) || isPart(selection)
      ? (this.cached(`SELECT ${PENDING_ITEM_COLUMNS}
          FROM ${selectionSql(runId, selection).from} WHERE status = 'pending' ORDER BY dispatch_seq LIMIT ?`).all(...selectionSql(runId, selection).params, limit) as Row[])
      : (this.selectPending.all(runId, selection.seqStart, selection.seqEnd, limit) as Row[]);
    return rows.map(toPendingItem);
  }

  async recordResults(runId: string, results: ItemResult[]): Promise<void> {
    if (results.length === 0) return;
    const now = new Date().toISOString();
    const rows = results.map((r) => [...resultFields(r), now, runId, r.customId]);
    if (this.writer && rows.length >= THREAD_WRITES_FROM) await this.writer.write('results', rows);
    else this.resultWrites.results(rows);
    if (++this.resultWritesSinceFold >= FOLD_EVERY_WRITES) await this.foldSpendDelta();
  }

  async pendingEstimate(runId: string, selection: ItemSelection, outputTokensPerItem?: number): Promise<PendingEstimate[]> {
    const { from, params } = selectionSql(runId, selection);
    // min(a, b) of two values is SQLite's scalar min; PostgreSQL spells it least(a, b).
    const output = outputTokensPerItem === undefined ? 'max_output_tokens' : 'min(max_output_tokens, ?)';
    const sql = `SELECT model, count(*) AS items, sum(prompt_tokens_est) AS prompt, sum(${output}) AS output
      FROM ${from} WHERE status = 'pending' GROUP BY model ORDER BY model`;
    const args = outputTokensPerItem === undefined ? params : [outputTokensPerItem, ...params];
    return (this.cached(sql).all(...args) as Row[]).map((r) => ({ model: String(r.model), items: num(r.items), promptTokens: num(r.prompt), outputTokens: num(r.output) }));
  }

  async measuredItems(runId: string, selection: ItemSelection): Promise<MeasuredItem[]> {
    const { from, params } = selectionSql(runId, selection);
    const rows = this.cached(`SELECT prompt_tokens, completion_tokens, cost_usd FROM ${from} WHERE status = 'succeeded' ORDER BY seq`).all(...params) as Row[];
    return rows.map(toMeasuredItem);
  }

  async totals(runId: string, selection?: ItemSelection): Promise<ItemTotals> {
    let r: Row;
    if (!selection) r = this.selectTotalsRun.get(runId) as Row;
    else if (!isSample(selection) && !isPart(selection)) r = this.selectTotalsRange.get(runId, selection.seqStart, selection.seqEnd) as Row;
    else {
      const { from, params } = selectionSql(runId, selection);
      r = this.cached(`${TOTALS_COLUMNS} FROM ${from}`).get(...params) as Row;
    }
    return toTotals(r);
  }

  async planParts(runId: string, limits: PlanLimits): Promise<PartPlan> {
    const planner = new PartPlanner(limits);
    // Realtime first, then batch by model; each group paged in dispatch order (so a prefix group
    // stays in one part as far as it fits), so memory stays one page.
    const batchModels = (this.db.prepare(`SELECT DISTINCT model FROM items WHERE run_id = ? AND route = 'batch' ORDER BY model`).all(runId) as Row[]).map((r) => String(r.model));
    // A batch item over maxBytes is walked with the realtime items (tooLargeToRealtime), or not at all.
    const page = this.db.prepare(`SELECT seq, dispatch_seq, model, line_bytes FROM items WHERE run_id = ?
      AND (CASE WHEN route = 'batch' AND line_bytes > ? THEN ? ELSE route END) = ? AND (? IS NULL OR model = ?) AND dispatch_seq > ? ORDER BY dispatch_seq LIMIT 5000`);
    const setPart = this.db.prepare('UPDATE items SET part = ? WHERE run_id = ? AND seq = ?');
    const tooLargeWalk = limits.tooLargeToRealtime ? 'realtime' : 'none';
    const walk = (route: 'realtime' | 'batch', model: string | null): void => {
      let after = -1;
      for (;;) {
        const rows = page.all(runId, limits.maxBytes, tooLargeWalk, route, model, model, after) as Row[];
        if (rows.length === 0) return;
        this.transaction(() => {
          for (const r of rows) setPart.run(planner.add({ route, model: String(r.model), bytes: num(r.line_bytes) }), runId, num(r.seq));
        });
        after = num(rows[rows.length - 1]!.dispatch_seq);
      }
    };
    // Realtime parts take items of every model in dispatch order; batch parts one model each.
    walk('realtime', null);
    for (const model of batchModels) walk('batch', model);
    return { realtimeParts: planner.realtimeParts, batchParts: planner.batchParts, realtimeItems: planner.realtimeItems, batchItems: planner.batchItems };
  }

  async tooLargeForBatch(runId: string, maxBytes: number, afterSeq: number, limit: number): Promise<TooLargeItem[]> {
    const rows = this.cached(`SELECT seq, custom_id, model, line_bytes FROM items WHERE run_id = ? AND route = 'batch' AND line_bytes > ? AND seq > ? ORDER BY seq LIMIT ?`).all(runId, maxBytes, afterSeq, limit) as Row[];
    return rows.map((r) => ({ customId: String(r.custom_id), seq: num(r.seq), model: String(r.model), bytes: num(r.line_bytes) }));
  }

  async pendingRequests(runId: string, selection: ItemSelection, afterSeq: number, limit: number): Promise<PendingRequest[]> {
    const { from, params } = selectionSql(runId, selection);
    const rows = this.cached(`SELECT seq, custom_id, url, model, body FROM ${from} WHERE status = 'pending' AND seq > ? ORDER BY seq LIMIT ?`).all(...params, afterSeq, limit) as Row[];
    return rows.map(toPendingRequest);
  }

  async recordRetries(runId: string, retries: ItemRetry[]): Promise<void> {
    if (retries.length === 0) return;
    const now = new Date().toISOString();
    const rows = retries.map((r) => retryArgs(r, now, runId, r.customId));
    if (this.writer && rows.length >= THREAD_WRITES_FROM) await this.writer.write('retries', rows);
    else this.resultWrites.retries(rows);
  }

  async batchRecord(runId: string, key: string): Promise<BatchRecord | undefined> {
    const r = this.cached('SELECT key, model, lines, input_file_id, batch_id, uploaded_at FROM batches WHERE run_id = ? AND key = ?').get(runId, key) as Row | undefined;
    return r ? toBatchRecord(r) : undefined;
  }

  async saveBatchRecord(runId: string, rec: BatchRecord): Promise<void> {
    this.cached(`INSERT INTO batches (run_id, key, model, lines, input_file_id, batch_id, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, key) DO UPDATE SET model = excluded.model, lines = excluded.lines, input_file_id = excluded.input_file_id,
        batch_id = excluded.batch_id, uploaded_at = excluded.uploaded_at`)
      .run(runId, rec.key, rec.model, rec.lines, rec.inputFileId ?? null, rec.batchId ?? null, rec.uploadedAt ?? null);
  }

  async *items(runId: string, pageSize = 1000): AsyncIterable<StoredItem> {
    let after = -1;
    for (;;) {
      const rows = this.selectPage.all(runId, after, pageSize) as Row[];
      for (const r of rows) yield toStoredItem(r);
      if (rows.length < pageSize) return;
      after = num(rows[rows.length - 1]!.seq);
    }
  }

  async recordRejects(runId: string, rejects: RejectRecord[]): Promise<void> {
    if (rejects.length === 0) return;
    const insert = this.cached(`INSERT INTO rejects (run_id, line, custom_id, code, message) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (run_id, line) DO UPDATE SET custom_id = excluded.custom_id, code = excluded.code, message = excluded.message`);
    this.transaction(() => {
      for (const r of rejects) insert.run(runId, r.line, r.custom_id, r.code, r.message);
    });
  }

  async *rejects(runId: string, pageSize = 1000): AsyncIterable<RejectRecord> {
    const page = this.cached('SELECT line, custom_id, code, message FROM rejects WHERE run_id = ? AND line > ? ORDER BY line LIMIT ?');
    for (let after = 0; ; ) {
      const rows = page.all(runId, after, pageSize) as Row[];
      for (const r of rows) yield toRejectRecord(r);
      if (rows.length < pageSize) return;
      after = num(rows[rows.length - 1]!.line);
    }
  }

  async cacheLookup(keys: string[], scope: CacheScope): Promise<Map<string, CacheEntry>> {
    if (keys.length === 0) return new Map();
    // The keys as one JSON array parameter: one prepared statement whatever their number.
    // The TTL is about reuse across runs: a run's own entries count however long it runs.
    const from = `SELECT ${CACHE_ENTRY_COLUMNS} FROM response_cache WHERE key IN (SELECT value FROM json_each(?))`;
    const rows = (scope.includeShared
      ? this.cached(`${from} AND (run_id = ? OR (shared = 1 AND created_at >= ?))`).all(JSON.stringify(keys), scope.runId, scope.minCreatedAt)
      : this.cached(`${from} AND run_id = ?`).all(JSON.stringify(keys), scope.runId)) as Row[];
    return preferredEntries(rows.map(toCacheEntry), scope.runId);
  }

  async cachePut(entries: CacheEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const insert = this.cached(`INSERT INTO response_cache (${CACHE_ENTRY_COLUMNS}) VALUES (${CACHE_ENTRY_COLUMNS.split(',').map(() => '?').join(', ')})
      ON CONFLICT (key, run_id) DO NOTHING`);
    this.transaction(() => {
      for (const e of entries) insert.run(...(cacheEntryValues(e, e.shared ? 1 : 0) as (string | number | null)[]));
    });
  }

  async cachedKeys(keys: string[], minCreatedAt: number): Promise<string[]> {
    if (keys.length === 0) return [];
    const sql = 'SELECT DISTINCT key FROM response_cache WHERE key IN (SELECT value FROM json_each(?)) AND created_at >= ? AND shared = 1';
    return (this.cached(sql).all(JSON.stringify(keys), minCreatedAt) as Row[]).map((r) => String(r.key));
  }

  async recordClassifications(runId: string, classifications: ItemClassification[]): Promise<void> {
    if (classifications.length === 0) return;
    const update = this.cached(CLASSIFY_SQL);
    this.transaction(() => {
      for (const c of classifications) update.run(c.model, c.bodyJson, c.promptTokens, c.reason, c.costUsd, c.costUsd, runId, c.customId);
    });
  }

  async routeSpend(runId: string): Promise<RouteSpendRow[]> {
    return (this.cached(ROUTE_SPEND_SQL).all(runId) as Row[]).map(toRouteSpendRow);
  }

  async orderByPrefixGroup(runId: string): Promise<void> {
    this.transaction(() => {
      this.cached(`UPDATE items SET dispatch_seq = o.rn FROM (${PREFIX_ORDER_SQL}) AS o
        WHERE items.run_id = ? AND items.custom_id = o.custom_id AND items.dispatch_seq IS NOT o.rn`).run(runId, runId, runId);
    });
  }

  async semanticPut(entry: NewSemanticEntry): Promise<number | undefined> {
    const row = this.cached(INSERT_SEMANTIC).get(...(semanticInsertParams(entry) as (string | number | Uint8Array)[])) as Row | undefined;
    return row ? num(row.id) : undefined;
  }

  async semanticEntriesSince(space: SemanticSpace, afterId: number, limit: number, createdFrom = 0): Promise<SemanticEntry[]> {
    const rows = this.cached(SELECT_SEMANTIC_SINCE).all(space.embeddingModel, space.dimensions, afterId, createdFrom, limit) as Row[];
    return rows.map(toSemanticEntry);
  }

  async semanticPrune(createdBefore: number): Promise<number> {
    return num(this.cached(DELETE_SEMANTIC_BEFORE).run(createdBefore).changes);
  }

  async spotCheckSample(runId: string, checkpoint: number, seed: number, size: number): Promise<SpotCheckSample[]> {
    this.cached(CLAIM_SPOT_CHECK).run(checkpoint, runId);
    const { sql, params } = spotCheckSampleSql(runId, checkpoint, seed, size);
    return (this.cached(sql).all(...params) as Row[]).map(toSpotCheckSample).sort((a, b) => a.seq - b.seq);
  }

  async deleteRun(runId: string): Promise<void> {
    this.transaction(() => {
      this.cached('DELETE FROM response_cache WHERE run_id = ? AND shared = 0').run(runId);
      this.cached('DELETE FROM items WHERE run_id = ?').run(runId);
      this.cached('DELETE FROM batches WHERE run_id = ?').run(runId);
      this.cached('DELETE FROM rejects WHERE run_id = ?').run(runId);
      this.cached('DELETE FROM spend_rollup WHERE run_id = ?').run(runId);
      this.cached('DELETE FROM spend_delta WHERE run_id = ?').run(runId);
      this.cached('DELETE FROM runs WHERE run_id = ?').run(runId);
    });
  }

  async recordRun(run: RunRecord): Promise<void> {
    this.cached(UPSERT_RUN).run(...runParams(run, new Date()));
  }

  async foldSpendDelta(): Promise<void> {
    this.resultWritesSinceFold = 0;
    this.transaction(() => {
      for (const sql of FOLD_DELTA.sqlite) this.cached(sql).run();
    });
  }

  async dashboardQuery(name: DashboardQuery, params: (string | number)[]): Promise<Row[]> {
    return this.cached(DASHBOARD_SQL.sqlite[name]).all(...params) as Row[];
  }

  async close(): Promise<void> {
    await this.writer?.close();
    if (this.db.isOpen) this.db.close();
  }
}

/** The store file inside a data dir. */
export const storePath = (dataDir: string): string => `${dataDir}/items.sqlite`;
