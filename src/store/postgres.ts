// The item store on PostgreSQL (LLM_BATCH_DATABASE_URL), with the SQLite store's semantics
// to the letter: the selections and totals are the same SQL (selection-sql.ts), rows are
// read back by the same code (rows.ts). Bulk paths go by COPY: staging copies a batch into a
// temporary table and inserts from it with ON CONFLICT DO NOTHING, so duplicates are still
// found and reported; large result batches are copied and applied by one UPDATE … FROM.
import { redactUrl } from '../redact-url.ts';
import pg from 'pg';
import type { PoolClient } from 'pg';
import { PartPlanner, type PartPlan, type PlanLimits } from '../domain/batch-plan.ts';
import type { BatchRecord, CacheEntry, CacheScope, ItemResult, ItemRetry, ItemSelection, ItemStore, ItemTotals, MeasuredItem, NewItem, PendingEstimate, PendingItem, PendingRequest, RejectRecord, StageOutcome, StoredItem } from './item-store.ts';
import { PENDING_ITEM_COLUMNS, PREFIX_ORDER_SQL, selectionSql, STORED_ITEM_COLUMNS, TOTALS_COLUMNS } from './selection-sql.ts';
import { CACHE_ENTRY_COLUMNS, cacheEntryValues, preferredEntries, toCacheEntry } from './rows.ts';
import { num, stagedFields, toBatchRecord, toRejectRecord, toMeasuredItem, toPendingItem, toPendingRequest, toStoredItem, toTotals, type Row } from './rows.ts';
import { copyRows } from './postgres-copy.ts';
import { ROUTE_SPEND_SQL, ROUTING_COLUMNS, routingFields, STAGED_ROUTING_COLUMNS, toRouteSpendRow } from './route-sql.ts';
import type { ItemClassification, SpotCheckSample, TooLargeItem } from './item-store.ts';
import { CLAIM_SPOT_CHECK, spotCheckSampleSql, toSpotCheckSample } from './spot-check-sql.ts';
import type { RouteSpendRow } from '../domain/route-spend.ts';
import { DELETE_SEMANTIC_BEFORE, INSERT_SEMANTIC, SELECT_SEMANTIC_SINCE, semanticInsertParams, toSemanticEntry, type NewSemanticEntry, type SemanticEntry, type SemanticSpace } from './semantic-rows.ts';
import { migrate } from './postgres-schema.ts';
import { FOLD_DELTA, FOLD_EVERY_WRITES, runParams, UPSERT_RUN, type RunRecord } from './spend-rollup.ts';
import { DASHBOARD_SQL, type DashboardQuery } from './dashboard-sql.ts';
import { foldResults, foldRetries } from './result-fold.ts';
import { resultFields, type ResultField } from './result-row.ts';

export interface PostgresStoreOptions {
  /** Connections in the pool; default 10. */
  poolSize?: number;
  /** Hears errors of idle pooled connections (the server went away); default stderr. */
  onError?: (message: string) => void;
}

/** Result batches at least this large go by COPY; smaller ones (realtime's) in one statement with arrays. */
export const COPY_RESULTS_FROM = 300;

/** `?` placeholders numbered as PostgreSQL's `$1, $2, …` (the shared SQL holds no other `?`). */
const numbered = (sql: string): string => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

// Plans that stay linear without statistics. Until PostgreSQL's statistics know a run (not
// at all on a new database; often not for a new run among many), the planner takes
// `run_id = $1` to match a few rows, and will join a whole batch to "the run" by reading all
// of it, or sort the rest of the run for each page: quadratic in the run. So no batch
// statement filters on run_id alone: the batch carries its run id on every row (a column of
// the staged or unnest'ed source) and joins items on the whole key, (run_id, custom_id) or
// (run_id, seq). The planner's choices are then one unique-index lookup per row, or a scan of
// the whole table while that is honestly cheaper (a small table). Pages are windows of seqs.
// test/integration/postgres-store.test.ts counts the rows read.

// Per connection, emptied at every commit: a batch sees only its own rows.
const STAGED_ITEMS = `CREATE TEMPORARY TABLE IF NOT EXISTS staged_items (
  ord integer, run_id text, custom_id text, seq integer, dispatch_seq integer, line integer, url text, body text, model text, feature text, priority text,
  prompt_tokens_est integer, max_output_tokens integer, route text, line_bytes integer, prefix_group text, prefix_path text,
  route_rule text, route_reason text, classifier_model text, classifier_pending integer) ON COMMIT DELETE ROWS`;
const STAGED_ITEM_COLUMNS = ['ord', 'run_id', 'custom_id', 'seq', 'dispatch_seq', 'line', 'url', 'body', 'model', 'feature', 'priority', 'prompt_tokens_est', 'max_output_tokens', 'route', 'line_bytes', 'prefix_group', 'prefix_path', ...STAGED_ROUTING_COLUMNS] as const;
const ITEM_COLUMNS = STAGED_ITEM_COLUMNS.slice(1).join(', ');

const RESULT_NAMES = ['run_id', 'custom_id', 'status', 'attempts', 'model', 'mode', 'request_id', 'status_code', 'response', 'error', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'reasoning_tokens', 'cost_usd', 'cache_marker', 'saved_usd', 'prompt_cache_saved_usd', 'latency_ms', 'rate_limited'] as const;
const RESULT_TYPES = ['text', 'text', 'text', 'integer', 'text', 'text', 'text', 'integer', 'text', 'text', 'integer', 'integer', 'integer', 'integer', 'double precision', 'text', 'double precision', 'double precision', 'integer', 'integer'] as const;
const STAGED_RESULTS = `CREATE TEMPORARY TABLE IF NOT EXISTS staged_results (${RESULT_NAMES.map((n, i) => `${n} ${RESULT_TYPES[i]}`).join(', ')}) ON COMMIT DELETE ROWS`;
const SET_RESULT = `status = r.status, attempts = r.attempts, model = r.model, mode = r.mode, request_id = r.request_id,
    status_code = r.status_code, response = r.response, error = r.error, prompt_tokens = r.prompt_tokens + i.retry_prompt_tokens,
    cached_tokens = r.cached_tokens + i.retry_cached_tokens, completion_tokens = r.completion_tokens + i.retry_completion_tokens,
    reasoning_tokens = r.reasoning_tokens + i.retry_reasoning_tokens, cost_usd = r.cost_usd + i.retry_cost_usd, cache_marker = r.cache_marker,
    saved_usd = r.saved_usd, prompt_cache_saved_usd = r.prompt_cache_saved_usd, latency_ms = r.latency_ms, rate_limited = r.rate_limited, updated_at = now()`;
const RESULT_TARGET = `i.run_id = r.run_id AND i.custom_id = r.custom_id AND i.status <> 'succeeded'`;
/** Results applied to their items, from a source `r` with RESULT_NAMES' columns; a success is never overwritten. */
const applyResults = (source: string): string => `UPDATE items AS i SET ${SET_RESULT} FROM ${source} WHERE ${RESULT_TARGET}`;
// The staged (COPY) results, applied row by row by the whole key in a server-side loop. A
// join of the staged table to items is planned from statistics that are often wrong here (a
// temp table never analysed, a run the planner believes is all done) and then read the whole
// table for every batch (measured: collecting 100,000 results in batches of 2,000 took 187 s,
// a hash join over all of items per batch); a lookup by the whole key has one plan, a
// unique-index probe, whatever they say.
const APPLY_STAGED_RESULTS = `DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT * FROM staged_results LOOP
    UPDATE items AS i SET ${SET_RESULT} WHERE ${RESULT_TARGET};
  END LOOP;
END $$`;

/** What a retry adds to (column, from the retry's value): its discarded answer's cost and tokens, to the item's and to its retry totals. */
const RETRY_ADDED: readonly [string, string][] = [
  ['cost_usd', 'cost'], ['retry_cost_usd', 'cost'], ['prompt_tokens', 'prompt'], ['retry_prompt_tokens', 'prompt'], ['cached_tokens', 'cached'], ['retry_cached_tokens', 'cached'],
  ['completion_tokens', 'completion'], ['retry_completion_tokens', 'completion'], ['reasoning_tokens', 'reasoning'], ['retry_reasoning_tokens', 'reasoning'],
];

const resultRow = (runId: string, r: ItemResult): ResultField[] => [runId, r.customId, ...resultFields(r)];

/** Row-wise values as one array per column, for `unnest($1::type[], …)`. */
const columnsOf = (rows: (string | number | null)[][], width: number): (string | number | null)[][] =>
  Array.from({ length: width }, (_, c) => rows.map((row) => row[c]!));

/** Seqs per query when planning parts. */
const PLAN_WINDOW = 5000;

const UNIQUE_VIOLATION = '23505';

// Deadlocks and serialization failures are transient: the transaction is run again.
const TRANSIENT = new Set(['40P01', '40001']);
const ATTEMPTS = 3;

export class PostgresItemStore implements ItemStore {
  private readonly pool: pg.Pool;
  private closed = false;
  private resultWritesSinceFold = 0;

  private constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Connects and applies the migrations the database lacks (under an advisory lock: safe with many workers starting at once). */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresItemStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      application_name: 'llm-batch',
      // An unreachable server fails a write within seconds (the activity retries) instead of hanging it.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    const onError = opts.onError ?? ((m: string) => console.error(`item store: ${m}`));
    // An idle connection that breaks is dropped by the pool; the next query opens another.
    pool.on('error', (e) => onError(`an idle PostgreSQL connection failed: ${e.message}`));
    try {
      await migrate(pool);
    } catch (e) {
      await pool.end();
      throw new Error(`item store on PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`, { cause: e });
    }
    return new PostgresItemStore(pool);
  }

  private async query(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.retrying(() => this.pool.query(sql, params))).rows as Row[];
  }

  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= ATTEMPTS || !TRANSIENT.has((e as { code?: string }).code ?? '')) throw e;
      }
    }
  }

  /** Runs fn in a transaction on one connection; a connection that saw an error is not reused. */
  private transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        client.release();
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        client.release(true);
        throw e;
      }
    });
  }

  async stageItems(runId: string, items: NewItem[]): Promise<StageOutcome> {
    if (items.length === 0) return { duplicates: [] };
    const staged = items.map((it, ord) => {
      const { body, route, lineBytes } = stagedFields(it);
      return [ord, runId, it.customId, it.seq, it.seq, it.line, it.url, body, it.model, it.feature, it.priority, it.promptTokens, it.maxOutputTokens, route, lineBytes, it.prefixGroup, it.prefixPath, ...routingFields(it)];
    });
    return this.transaction(async (c) => {
      // The usual case, a first staging of new custom_ids, is copied straight into items (about
      // twice as fast). A taken custom_id (a re-staging, a duplicate) fails that COPY at once,
      // and the batch goes the way below, which tells a re-staged line from a duplicate.
      await c.query('SAVEPOINT direct');
      try {
        await copyRows(c, 'items', STAGED_ITEM_COLUMNS.slice(1), staged.map((row) => row.slice(1)));
        return { duplicates: [] };
      } catch (e) {
        if ((e as { code?: string }).code !== UNIQUE_VIOLATION) throw e;
        await c.query('ROLLBACK TO SAVEPOINT direct');
      }
      await c.query(STAGED_ITEMS);
      await copyRows(c, 'staged_items', STAGED_ITEM_COLUMNS, staged);
      // The first line of the batch that holds a custom_id is the one inserted, as when
      // SQLite inserts the batch line by line.
      const { rowCount } = await c.query(`
        INSERT INTO items (${ITEM_COLUMNS})
        SELECT DISTINCT ON (custom_id) ${ITEM_COLUMNS}
        FROM staged_items ORDER BY custom_id, ord
        ON CONFLICT (run_id, custom_id) DO NOTHING`);
      // Every line inserted (a first staging, the usual case): no line can be a duplicate.
      if (rowCount === items.length) return { duplicates: [] };
      // The same line again is a no-op; another line with a taken custom_id is a duplicate.
      const { rows } = await c.query(`
        SELECT s.custom_id, s.line, i.line AS first_line FROM staged_items s
        JOIN items i ON i.run_id = s.run_id AND i.custom_id = s.custom_id
        WHERE i.line <> s.line ORDER BY s.ord`);
      return { duplicates: (rows as Row[]).map((r) => ({ customId: String(r.custom_id), line: num(r.line), firstLine: num(r.first_line) })) };
    });
  }

  async pendingItems(runId: string, selection: ItemSelection, limit = -1): Promise<PendingItem[]> {
    const { from, params } = selectionSql(runId, selection);
    const rows = await this.query(
      numbered(`SELECT ${PENDING_ITEM_COLUMNS} FROM ${from} WHERE status = 'pending' ORDER BY dispatch_seq LIMIT ?`),
      [...params, limit < 0 ? null : limit],
    );
    return rows.map(toPendingItem);
  }

  async recordResults(runId: string, results: ItemResult[]): Promise<void> {
    // One UPDATE touches an item once: the list is folded first as SQLite applies it, in order.
    const rows = foldResults(results).map((r) => resultRow(runId, r));
    if (rows.length === 0) return;
    if (rows.length < COPY_RESULTS_FROM) {
      const source = `unnest(${RESULT_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS r(${RESULT_NAMES.join(', ')})`;
      await this.query(applyResults(source), columnsOf(rows, RESULT_NAMES.length));
      if (++this.resultWritesSinceFold >= FOLD_EVERY_WRITES) await this.foldSpendDelta();
      return;
    }
    await this.transaction(async (c) => {
      await c.query(STAGED_RESULTS);
      await copyRows(c, 'staged_results', RESULT_NAMES, rows);
      await c.query(APPLY_STAGED_RESULTS);
    });
    if (++this.resultWritesSinceFold >= FOLD_EVERY_WRITES) await this.foldSpendDelta();
  }

  async pendingEstimate(runId: string, selection: ItemSelection, outputTokensPerItem?: number): Promise<PendingEstimate[]> {
    const { from, params } = selectionSql(runId, selection);
    const output = outputTokensPerItem === undefined ? 'max_output_tokens' : 'least(max_output_tokens, ?)';
    // Models in byte order, as SQLite sorts them, whatever the database's collation.
    const sql = `SELECT model, count(*) AS items, sum(prompt_tokens_est) AS prompt, sum(${output}) AS output
      FROM ${from} WHERE status = 'pending' GROUP BY model ORDER BY model COLLATE "C"`;
    const args = outputTokensPerItem === undefined ? params : [outputTokensPerItem, ...params];
    return (await this.query(numbered(sql), args)).map((r) => ({ model: String(r.model), items: num(r.items), promptTokens: num(r.prompt), outputTokens: num(r.output) }));
  }

  async measuredItems(runId: string, selection: ItemSelection): Promise<MeasuredItem[]> {
    const { from, params } = selectionSql(runId, selection);
    return (await this.query(numbered(`SELECT prompt_tokens, completion_tokens, cost_usd FROM ${from} WHERE status = 'succeeded' ORDER BY seq`), params)).map(toMeasuredItem);
  }

  async totals(runId: string, selection?: ItemSelection): Promise<ItemTotals> {
    if (!selection) return toTotals((await this.query(`${TOTALS_COLUMNS} FROM items WHERE run_id = $1`, [runId]))[0]!);
    const { from, params } = selectionSql(runId, selection);
    return toTotals((await this.query(numbered(`${TOTALS_COLUMNS} FROM ${from}`), params))[0]!);
  }

  async planParts(runId: string, limits: PlanLimits): Promise<PartPlan> {
    const planner = new PartPlanner(limits);
    // As SQLite: realtime first, then batch by model (byte order); each group walked in
    // dispatch order, a window of dispatch positions at a time (see items()).
    const batchModels = (await this.query(`SELECT DISTINCT model COLLATE "C" AS model FROM items WHERE run_id = $1 AND route = 'batch' ORDER BY 1`, [runId])).map((r) => String(r.model));
    const [lastRow] = await this.query('SELECT max(dispatch_seq) AS last FROM items WHERE run_id = $1', [runId]);
    const last = lastRow?.last === null || lastRow?.last === undefined ? -1 : num(lastRow.last);
    const tooLargeWalk = limits.tooLargeToRealtime ? 'realtime' : 'none';
    const walk = async (route: 'realtime' | 'batch', model: string | null): Promise<void> => {
      for (let after = -1; after < last; after += PLAN_WINDOW) {
        // A batch item over maxBytes is walked with the realtime items (tooLargeToRealtime), or not at all.
        const routeIs = (bytes: string, tooLarge: string): string => `(CASE WHEN route = 'batch' AND line_bytes > ${bytes}::integer THEN ${tooLarge}::text ELSE route END) = $2`;
        const rows = model === null
          ? await this.query(`SELECT seq, model, line_bytes FROM items WHERE run_id = $1 AND ${routeIs('$5', '$6')} AND dispatch_seq > $3 AND dispatch_seq <= $4 ORDER BY dispatch_seq`, [runId, route, after, after + PLAN_WINDOW, limits.maxBytes, tooLargeWalk])
          : await this.query(`SELECT seq, model, line_bytes FROM items WHERE run_id = $1 AND ${routeIs('$6', '$7')} AND model = $3 AND dispatch_seq > $4 AND dispatch_seq <= $5 ORDER BY dispatch_seq`, [runId, route, model, after, after + PLAN_WINDOW, limits.maxBytes, tooLargeWalk]);
        if (rows.length === 0) continue;
        const seqs = rows.map((r) => num(r.seq));
        const parts = rows.map((r) => planner.add({ route, model: String(r.model), bytes: num(r.line_bytes) }));
        // A re-plan that gives the same parts rewrites no row.
        await this.query(`UPDATE items SET part = v.part FROM unnest($1::text[], $2::integer[], $3::integer[]) AS v(run_id, seq, part)
          WHERE items.run_id = v.run_id AND items.seq = v.seq AND items.part IS DISTINCT FROM v.part`, [seqs.map(() => runId), seqs, parts]);
      }
    };
    await walk('realtime', null);
    for (const model of batchModels) await walk('batch', model);
    return { realtimeParts: planner.realtimeParts, batchParts: planner.batchParts, realtimeItems: planner.realtimeItems, batchItems: planner.batchItems };
  }

  /** The run's highest seq, −1 when it has no items (read from the end of the (run_id, seq) index). */
  private async lastSeq(runId: string): Promise<number> {
    const [r] = await this.query('SELECT max(seq) AS last FROM items WHERE run_id = $1', [runId]);
    return r?.last === null || r?.last === undefined ? -1 : num(r.last);
  }

  async tooLargeForBatch(runId: string, maxBytes: number, afterSeq: number, limit: number): Promise<TooLargeItem[]> {
    const rows = await this.query(`SELECT seq, custom_id, model, line_bytes FROM items WHERE run_id = $1 AND route = 'batch' AND line_bytes > $2 AND seq > $3 ORDER BY seq LIMIT $4`, [runId, maxBytes, afterSeq, limit]);
    return rows.map((r) => ({ customId: String(r.custom_id), seq: num(r.seq), model: String(r.model), bytes: num(r.line_bytes) }));
  }

  async pendingRequests(runId: string, selection: ItemSelection, afterSeq: number, limit: number): Promise<PendingRequest[]> {
    const { from, params } = selectionSql(runId, selection);
    const rows = await this.query(numbered(`SELECT seq, custom_id, url, model, body FROM ${from} WHERE status = 'pending' AND seq > ? ORDER BY seq LIMIT ?`), [...params, afterSeq, limit < 0 ? null : limit]);
    return rows.map(toPendingRequest);
  }

  async recordRetries(runId: string, retries: ItemRetry[]): Promise<void> {
    const folded = foldRetries(retries);
    if (folded.length === 0) return;
    // greatest(): recording the same retry twice (a re-collected batch) changes nothing; a
    // discarded answer's cost is added only while the stored attempts are below the retry's.
    await this.query(`
      UPDATE items AS i SET attempts = greatest(i.attempts, r.attempts), error = r.error, mode = r.mode, updated_at = now(),
        ${RETRY_ADDED.map(([column, value]) => `${column} = i.${column} + CASE WHEN i.attempts < r.attempts THEN r.${value} ELSE 0 END`).join(', ')}
      FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::double precision[], $7::integer[], $8::integer[], $9::integer[], $10::integer[])
        AS r(run_id, custom_id, attempts, error, mode, cost, prompt, cached, completion, reasoning)
      WHERE i.run_id = r.run_id AND i.custom_id = r.custom_id AND i.status = 'pending'`,
    [folded.map(() => runId), folded.map((r) => r.customId), folded.map((r) => r.attempts), folded.map((r) => JSON.stringify(r.error)), folded.map((r) => r.mode), folded.map((r) => r.costUsd ?? 0),
      folded.map((r) => r.usage?.prompt ?? 0), folded.map((r) => r.usage?.cached ?? 0), folded.map((r) => r.usage?.completion ?? 0), folded.map((r) => r.usage?.reasoning ?? 0)]);
  }

  async batchRecord(runId: string, key: string): Promise<BatchRecord | undefined> {
    const [r] = await this.query('SELECT key, model, lines, input_file_id, batch_id, uploaded_at FROM batches WHERE run_id = $1 AND key = $2', [runId, key]);
    return r ? toBatchRecord(r) : undefined;
  }

  async saveBatchRecord(runId: string, rec: BatchRecord): Promise<void> {
    await this.query(`INSERT INTO batches (run_id, key, model, lines, input_file_id, batch_id, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (run_id, key) DO UPDATE SET model = excluded.model, lines = excluded.lines, input_file_id = excluded.input_file_id,
        batch_id = excluded.batch_id, uploaded_at = excluded.uploaded_at`,
    [runId, rec.key, rec.model, rec.lines, rec.inputFileId ?? null, rec.batchId ?? null, rec.uploadedAt ?? null]);
  }

  async *items(runId: string, pageSize = 1000): AsyncIterable<StoredItem> {
    // Keyset pages by seq, each its own short query (no cursor or transaction stays open
    // between pages), and each a window of seqs (after, after + pageSize]: a page reads at
    // most pageSize rows whatever plan the statistics lead to. With `seq > after … LIMIT n`
    // alone, a run the statistics do not know yet (a new database) looks tiny to the
    // planner, which then sorts all the rest of the run for every page.
    // The next page is asked for before this one is handed out: the server reads it meanwhile.
    const page = (after: number): Promise<Row[]> => {
      const rows = this.query(`SELECT ${STORED_ITEM_COLUMNS} FROM items WHERE run_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`, [runId, after, after + pageSize]);
      // Awaited below; a reader that stops early leaves no unhandled rejection.
      rows.catch(() => {});
      return rows;
    };
    let last = await this.lastSeq(runId);
    let after = -1;
    let next = after < last ? page(after) : undefined;
    while (next) {
      const rows = await next;
      after += pageSize;
      // Items staged while it read are read too, as a cursor on seq would.
      if (after >= last) last = await this.lastSeq(runId);
      next = after < last ? page(after) : undefined;
      for (const r of rows) yield toStoredItem(r);
    }
  }

  async recordRejects(runId: string, rejects: RejectRecord[]): Promise<void> {
    if (rejects.length === 0) return;
    // One statement; a line twice in one call keeps its last record, as applying them in order would.
    const last = new Map(rejects.map((r) => [r.line, r]));
    const rows = [...last.values()];
    // PostgreSQL text cannot hold NUL, which a refused line may well carry: shown as U+FFFD.
    const text = (s: string | null): string | null => s?.replaceAll('\u0000', '\uFFFD') ?? null;
    await this.query(
      `INSERT INTO rejects (run_id, line, custom_id, code, message)
       SELECT $1, * FROM unnest($2::integer[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (run_id, line) DO UPDATE SET custom_id = excluded.custom_id, code = excluded.code, message = excluded.message`,
      [runId, rows.map((r) => r.line), rows.map((r) => text(r.custom_id)), rows.map((r) => r.code), rows.map((r) => text(r.message))],
    );
  }

  async *rejects(runId: string, pageSize = 1000): AsyncIterable<RejectRecord> {
    for (let after = 0; ; ) {
      const rows = await this.query('SELECT line, custom_id, code, message FROM rejects WHERE run_id = $1 AND line > $2 ORDER BY line LIMIT $3', [runId, after, pageSize]);
      for (const r of rows) yield toRejectRecord(r);
      if (rows.length < pageSize) return;
      after = num(rows[rows.length - 1]!.line);
    }
  }

  async cacheLookup(keys: string[], scope: CacheScope): Promise<Map<string, CacheEntry>> {
    if (keys.length === 0) return new Map();
    // The TTL is about reuse across runs: a run's own entries count however long it runs.
    const rows = scope.includeShared
      ? await this.query(`SELECT ${CACHE_ENTRY_COLUMNS} FROM response_cache WHERE key = ANY($1::text[]) AND (run_id = $2 OR (shared AND created_at >= $3))`, [keys, scope.runId, scope.minCreatedAt])
      : await this.query(`SELECT ${CACHE_ENTRY_COLUMNS} FROM response_cache WHERE key = ANY($1::text[]) AND run_id = $2`, [keys, scope.runId]);
    return preferredEntries(rows.map(toCacheEntry), scope.runId);
  }

  async cachePut(entries: CacheEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // One statement: every entry is written whole, or none is.
    const types = ['text', 'text', 'text', 'text', 'integer', 'integer', 'integer', 'integer', 'double precision', 'text', 'text', 'text', 'bigint', 'boolean'];
    const rows = entries.map((e) => cacheEntryValues(e, e.shared));
    await this.query(
      `INSERT INTO response_cache (${CACHE_ENTRY_COLUMNS}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
       ON CONFLICT (key, run_id) DO NOTHING`,
      Array.from({ length: types.length }, (_, c) => rows.map((row) => row[c])),
    );
  }

  async cachedKeys(keys: string[], minCreatedAt: number): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await this.query('SELECT DISTINCT key FROM response_cache WHERE key = ANY($1::text[]) AND created_at >= $2 AND shared', [keys, minCreatedAt]);
    return rows.map((r) => String(r.key));
  }

  async recordClassifications(runId: string, classifications: ItemClassification[]): Promise<void> {
    if (classifications.length === 0) return;
    // One statement (realtime sends one item at a time): CLASSIFY_SQL's update, joined on the whole key.
    await this.query(`
      UPDATE items AS i SET model = c.model, body = c.body, prompt_tokens_est = c.prompt_tokens, route_reason = c.reason, classifier_pending = 0,
        classifier_cost_usd = i.classifier_cost_usd + c.cost, cost_usd = i.cost_usd + c.cost
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::double precision[]) AS c(run_id, custom_id, model, body, prompt_tokens, reason, cost)
      WHERE i.run_id = c.run_id AND i.custom_id = c.custom_id AND i.status = 'pending'`,
    [classifications.map(() => runId), classifications.map((x) => x.customId), classifications.map((x) => x.model), classifications.map((x) => x.bodyJson),
      classifications.map((x) => x.promptTokens), classifications.map((x) => x.reason), classifications.map((x) => x.costUsd)]);
  }

  async routeSpend(runId: string): Promise<RouteSpendRow[]> {
    return (await this.query(numbered(ROUTE_SPEND_SQL), [runId])).map(toRouteSpendRow);
  }

  async orderByPrefixGroup(runId: string): Promise<void> {
    // One statement over the run, whatever the plan: a sort of the run and one update per row moved.
    await this.query(numbered(`UPDATE items SET dispatch_seq = o.rn FROM (${PREFIX_ORDER_SQL}) AS o
      WHERE items.run_id = ? AND items.custom_id = o.custom_id AND items.dispatch_seq IS DISTINCT FROM o.rn`), [runId, runId, runId]);
  }

  async semanticPut(entry: NewSemanticEntry): Promise<number | undefined> {
    const [row] = await this.query(numbered(INSERT_SEMANTIC), semanticInsertParams(entry));
    return row ? num(row.id) : undefined;
  }

  async semanticEntriesSince(space: SemanticSpace, afterId: number, limit: number, createdFrom = 0): Promise<SemanticEntry[]> {
    const rows = await this.query(numbered(SELECT_SEMANTIC_SINCE), [space.embeddingModel, space.dimensions, afterId, createdFrom, limit]);
    return rows.map(toSemanticEntry);
  }

  async semanticPrune(createdBefore: number): Promise<number> {
    const { rowCount } = await this.retrying(() => this.pool.query(DELETE_SEMANTIC_BEFORE.replace('?', '$1'), [createdBefore]));
    return rowCount ?? 0;
  }

  async spotCheckSample(runId: string, checkpoint: number, seed: number, size: number): Promise<SpotCheckSample[]> {
    await this.query(numbered(CLAIM_SPOT_CHECK), [checkpoint, runId]);
    const { sql, params } = spotCheckSampleSql(runId, checkpoint, seed, size);
    return (await this.query(numbered(sql), params)).map(toSpotCheckSample).sort((a, b) => a.seq - b.seq);
  }

  async deleteRun(runId: string): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('DELETE FROM response_cache WHERE run_id = $1 AND NOT shared', [runId]);
      await c.query('DELETE FROM items WHERE run_id = $1', [runId]);
      await c.query('DELETE FROM batches WHERE run_id = $1', [runId]);
      await c.query('DELETE FROM rejects WHERE run_id = $1', [runId]);
      await c.query('DELETE FROM spend_rollup WHERE run_id = $1', [runId]);
      await c.query('DELETE FROM spend_delta WHERE run_id = $1', [runId]);
      await c.query('DELETE FROM runs WHERE run_id = $1', [runId]);
    });
  }

  async recordRun(run: RunRecord): Promise<void> {
    await this.query(numbered(UPSERT_RUN), runParams(run, new Date()));
  }

  async foldSpendDelta(): Promise<void> {
    this.resultWritesSinceFold = 0;
    await this.query(FOLD_DELTA.postgres);
  }

  async dashboardQuery(name: DashboardQuery, params: (string | number)[]): Promise<Row[]> {
    return this.query(numbered(DASHBOARD_SQL.postgres[name]), params);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
