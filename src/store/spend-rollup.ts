// Pre-aggregated spend for the dashboard (src/dashboard/): one row per run, minute, feature,
// model and mode, so the dashboard's aggregates read a few thousand rows, not a million items.
// A trigger on items in either store appends each change of an item's contribution to
// spend_delta, so every write path (realtime, the SQLite writer thread, PostgreSQL's COPY
// paths) feeds it without a change. Appending, not adding into spend_rollup in place: a hot
// rollup row updated thousands of times in one transaction costs PostgreSQL a version per
// update (measured: 1,100 result rows/s instead of thousands), and both stores pay an
// upsert per row. The dashboard folds spend_delta into spend_rollup before it reads
// (FOLD_DELTA), in one transaction, so concurrent folds never count a delta twice, and each
// store folds after every FOLD_EVERY_WRITES result writes, so the delta stays small anyway.
// An item counts once it has a result (or a cost, such as a classifier rating): an update
// takes its old contribution out and puts its new one in, so a failed item later succeeding
// moves, never doubles. Also the runs table: what the dashboard shows of a run that Temporal
// alone would know (its budget and mode), written at staging.

/** The rollup's key and measure columns, in this order everywhere. */
const KEY = ['run_id', 'minute', 'feature', 'model', 'mode'] as const;
const MEASURES = [
  'succeeded', 'failed', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'reasoning_tokens',
  'cost_usd', 'saved_usd', 'semantic_saved_usd', 'prompt_cache_saved_usd', 'rate_limited', 'latency_ms_sum', 'latency_count',
] as const;

/** The minute (UTC, `YYYY-MM-DDTHH:MM`) of a row's updated_at: ISO text in SQLite, timestamptz in PostgreSQL. */
type Dialect = 'sqlite' | 'postgres';
const minuteOf = (d: Dialect, ref: string): string =>
  d === 'sqlite' ? `substr(${ref}.updated_at, 1, 16)` : `to_char(${ref}.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI')`;

/** A row's contribution, as values of KEY then MEASURES, negated when `sign` is '-'. */
function contribution(d: Dialect, ref: string, sign: '' | '-'): string[] {
  const flag = (cond: string): string => `${sign}(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;
  return [
    `${ref}.run_id`, minuteOf(d, ref), `coalesce(${ref}.feature, '')`, `${ref}.model`, `coalesce(${ref}.mode, '')`,
    flag(`${ref}.status = 'succeeded'`), flag(`${ref}.status = 'failed'`),
    `${sign}${ref}.prompt_tokens`, `${sign}${ref}.cached_tokens`, `${sign}${ref}.completion_tokens`, `${sign}${ref}.reasoning_tokens`,
    `${sign}${ref}.cost_usd`, `${sign}${ref}.saved_usd`,
    `${sign}(CASE WHEN ${ref}.cache_marker LIKE '{"cache":"semantic"%' THEN ${ref}.saved_usd ELSE 0 END)`,
    `${sign}${ref}.prompt_cache_saved_usd`, `${sign}${ref}.rate_limited`,
    `${sign}coalesce(${ref}.latency_ms, 0)`, flag(`${ref}.latency_ms IS NOT NULL`),
  ];
}

/** Whether a row counts: it has a result, or already cost something. */
const counts = (ref: string): string => `(${ref}.status <> 'pending' OR ${ref}.cost_usd <> 0)`;

const append = (d: Dialect, ref: string, sign: '' | '-'): string =>
  `INSERT INTO spend_delta (${[...KEY, ...MEASURES].join(', ')}) VALUES (${contribution(d, ref, sign).join(', ')})`;

const columns = (real: string, int: string): string => `run_id text NOT NULL, minute text NOT NULL, feature text NOT NULL, model text NOT NULL, mode text NOT NULL,
  ${MEASURES.map((m) => `${m} ${m.endsWith('_usd') ? real : int} NOT NULL DEFAULT 0`).join(',\n  ')}`;
const rollupTables = (real: string, int: string): string => `
CREATE TABLE IF NOT EXISTS spend_rollup (
  ${columns(real, int)},
  PRIMARY KEY (${KEY.join(', ')})
);
CREATE TABLE IF NOT EXISTS spend_delta (
  ${columns(real, int)}
)`;

const SUMS = `${KEY.join(', ')}, ${MEASURES.map((m) => `sum(${m})`).join(', ')}`;
const ADD_TO_ROLLUP = `ON CONFLICT (${KEY.join(', ')}) DO UPDATE SET ${MEASURES.map((m) => `${m} = spend_rollup.${m} + excluded.${m}`).join(', ')}`;

/**
 * Folds spend_delta into spend_rollup. SQLite: run in one write transaction (no other writer
 * meanwhile). PostgreSQL: one statement; a fold running at the same time waits for the rows
 * this one deletes and then skips them, so no delta is counted twice; the aggregate reads all
 * of them before the first upsert, and upserts go in key order, so two folds never deadlock.
 */
export const FOLD_DELTA = {
  sqlite: [
    `INSERT INTO spend_rollup (${[...KEY, ...MEASURES].join(', ')}) SELECT ${SUMS} FROM spend_delta WHERE true GROUP BY ${KEY.join(', ')} ${ADD_TO_ROLLUP}`,
    'DELETE FROM spend_delta',
  ],
  postgres: `WITH moved AS (DELETE FROM spend_delta RETURNING *)
    INSERT INTO spend_rollup (${[...KEY, ...MEASURES].join(', ')}) SELECT ${SUMS} FROM moved GROUP BY ${KEY.join(', ')} ORDER BY ${KEY.join(', ')} ${ADD_TO_ROLLUP}`,
};

const runsTable = (real: string): string => `
CREATE TABLE IF NOT EXISTS runs (
  run_id         text PRIMARY KEY,
  mode           text NOT NULL,
  budget_usd     ${real},
  budget_warn_at ${real},
  created_at     text NOT NULL
)`;

/** The items' existing results summed into the rollup: once, when the rollup is created on a store that has some (and by the dashboard bench). */
export const backfill = (d: Dialect): string =>
  `INSERT INTO spend_rollup (${[...KEY, ...MEASURES].join(', ')})
    SELECT ${contribution(d, 'i', '').map((c, n) => (n < KEY.length ? c : `sum(${c})`)).join(', ')}
    FROM items i WHERE ${counts('i')} GROUP BY ${contribution(d, 'i', '').slice(0, KEY.length).join(', ')}`;

// Columns of items the dashboard needs that results did not record before.
export const DASHBOARD_ITEM_COLUMNS: [string, string][] = [
  ['latency_ms', 'INTEGER'],
  ['rate_limited', 'INTEGER NOT NULL DEFAULT 0'],
];

/** The trigger's columns: any result or cost write sets at least one of them. */
const WATCHED = 'status, cost_usd, saved_usd, mode, model, updated_at';

/** SQLite: run after items has DASHBOARD_ITEM_COLUMNS. `fresh` (the rollup did not exist): backfill it. */
export function sqliteDashboardSchema(fresh: boolean): string {
  return `${rollupTables('REAL', 'INTEGER')};
${runsTable('REAL')};
CREATE INDEX IF NOT EXISTS items_failed ON items (run_id, custom_id) WHERE status = 'failed';
CREATE TRIGGER IF NOT EXISTS items_rollup_out AFTER UPDATE OF ${WATCHED} ON items WHEN ${counts('OLD')}
BEGIN ${append('sqlite', 'OLD', '-')}; END;
CREATE TRIGGER IF NOT EXISTS items_rollup_in AFTER UPDATE OF ${WATCHED} ON items WHEN ${counts('NEW')}
BEGIN ${append('sqlite', 'NEW', '')}; END;
${fresh ? `${backfill('sqlite')};` : ''}`;
}

/** PostgreSQL migration 8: the columns, the rollup and its trigger, runs, and the backfill. */
export const POSTGRES_DASHBOARD_MIGRATION = `
${DASHBOARD_ITEM_COLUMNS.map(([name, type]) => `ALTER TABLE items ADD COLUMN IF NOT EXISTS ${name} ${type.toLowerCase()};`).join('\n')}
${rollupTables('double precision', 'bigint')};
${runsTable('double precision')};
CREATE INDEX items_failed ON items (run_id, custom_id) WHERE status = 'failed';
CREATE FUNCTION items_spend_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF ${counts('OLD')} THEN ${append('postgres', 'OLD', '-')}; END IF;
  IF ${counts('NEW')} THEN ${append('postgres', 'NEW', '')}; END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER items_spend_rollup AFTER UPDATE OF ${WATCHED} ON items FOR EACH ROW EXECUTE FUNCTION items_spend_rollup();
${backfill('postgres')};`;

/** Stores fold after this many result writes, so spend_delta stays small without a dashboard running. */
export const FOLD_EVERY_WRITES = 50;

/** What staging records of a run for the dashboard. */
export interface RunRecord {
  runId: string;
  mode: string;
  budgetUsd?: number;
  /** Share of the budget at which the run turns yellow. */
  budgetWarnAt?: number;
}

export const UPSERT_RUN = `INSERT INTO runs (run_id, mode, budget_usd, budget_warn_at, created_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (run_id) DO UPDATE SET mode = excluded.mode, budget_usd = excluded.budget_usd, budget_warn_at = excluded.budget_warn_at`;
export const runParams = (r: RunRecord, now: Date): (string | number | null)[] =>
  [r.runId, r.mode, r.budgetUsd ?? null, r.budgetWarnAt ?? null, now.toISOString()];
