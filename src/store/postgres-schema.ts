// The PostgreSQL item store's schema, as numbered migrations applied when a store opens.
// Many workers may start at once on an empty database: each takes one transaction-level
// advisory lock before it reads schema_migrations, so exactly one applies each migration
// and the others find it recorded. Migrations only ever add (a new version is a new entry,
// never an edit of a shipped one), so a worker of an older release keeps working on a
// newer schema.
//
// Types mirror the SQLite store: JSON (body, response, error) is kept as text, byte for
// byte (jsonb would reorder keys and the export splices responses without parsing them);
// token counts are integers (sums come back as 64-bit); cost is double precision, as SQLite's
// REAL; uploaded_at is epoch milliseconds, which needs 64 bits.
import type { Pool } from 'pg';
import { POSTGRES_SEMANTIC_MIGRATION } from './semantic-rows.ts';
import { POSTGRES_DASHBOARD_MIGRATION } from './spend-rollup.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'items and batches',
    sql: `
CREATE TABLE items (
  run_id            text             NOT NULL,
  custom_id         text             NOT NULL,
  seq               integer          NOT NULL,
  line              integer          NOT NULL,
  url               text             NOT NULL,
  body              text             NOT NULL,
  model             text             NOT NULL,
  feature           text,
  priority          text,
  prompt_tokens_est integer          NOT NULL,
  max_output_tokens integer          NOT NULL,
  route             text             NOT NULL DEFAULT 'realtime',
  part              integer,
  line_bytes        integer          NOT NULL DEFAULT 0,
  status            text             NOT NULL DEFAULT 'pending',
  attempts          integer          NOT NULL DEFAULT 0,
  mode              text,
  request_id        text,
  status_code       integer,
  response          text,
  error             text,
  prompt_tokens     integer          NOT NULL DEFAULT 0,
  cached_tokens     integer          NOT NULL DEFAULT 0,
  completion_tokens integer          NOT NULL DEFAULT 0,
  reasoning_tokens  integer          NOT NULL DEFAULT 0,
  cost_usd          double precision NOT NULL DEFAULT 0,
  updated_at        timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, custom_id)
);
CREATE UNIQUE INDEX items_by_seq ON items (run_id, seq);
CREATE INDEX items_by_part ON items (run_id, part, seq);
CREATE TABLE batches (
  run_id        text    NOT NULL,
  key           text    NOT NULL,
  model         text    NOT NULL,
  lines         integer NOT NULL,
  input_file_id text,
  batch_id      text,
  uploaded_at   bigint,
  PRIMARY KEY (run_id, key)
);`,
  },
  {
    version: 2,
    name: 'rejects',
    sql: `
CREATE TABLE rejects (
  run_id    text    NOT NULL,
  line      integer NOT NULL,
  custom_id text,
  code      text    NOT NULL,
  message   text    NOT NULL,
  PRIMARY KEY (run_id, line)
);`,
  },
  {
    version: 3,
    name: 'exact cache',
    sql: `
ALTER TABLE items ADD COLUMN IF NOT EXISTS cache_marker text;
ALTER TABLE items ADD COLUMN IF NOT EXISTS saved_usd double precision NOT NULL DEFAULT 0;
CREATE TABLE response_cache (
  key               text             NOT NULL,
  run_id            text             NOT NULL,
  url               text             NOT NULL,
  model             text             NOT NULL,
  response          text             NOT NULL,
  prompt_tokens     integer          NOT NULL,
  cached_tokens     integer          NOT NULL,
  completion_tokens integer          NOT NULL,
  reasoning_tokens  integer          NOT NULL,
  cost_usd          double precision NOT NULL,
  custom_id         text             NOT NULL,
  request_id        text,
  created_at        bigint           NOT NULL,
  shared            boolean          NOT NULL,
  PRIMARY KEY (key, run_id)
);`,
  },
  {
    version: 4,
    name: 'routing columns of items (--route)',
    sql: `
ALTER TABLE items ADD COLUMN IF NOT EXISTS route_rule text;
ALTER TABLE items ADD COLUMN IF NOT EXISTS route_reason text;
ALTER TABLE items ADD COLUMN IF NOT EXISTS classifier_model text;
ALTER TABLE items ADD COLUMN IF NOT EXISTS classifier_pending integer NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN IF NOT EXISTS classifier_cost_usd double precision NOT NULL DEFAULT 0;`,
  },
  {
    version: 5,
    name: 'prompt cache: prefix groups, dispatch order, savings',
    // dispatch_seq is seq unless a run is put in prefix-group order. Rows written by a release
    // that does not know the column (a worker or CLI not yet upgraded) get seq by the trigger,
    // so no item is left outside every chunk's range.
    sql: `
ALTER TABLE items ADD COLUMN prefix_group text;
ALTER TABLE items ADD COLUMN prefix_path text;
ALTER TABLE items ADD COLUMN dispatch_seq integer;
ALTER TABLE items ADD COLUMN prompt_cache_saved_usd double precision NOT NULL DEFAULT 0;
UPDATE items SET dispatch_seq = seq;
CREATE INDEX items_by_dispatch ON items (run_id, dispatch_seq);
CREATE FUNCTION items_dispatch_seq_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.dispatch_seq := NEW.seq; RETURN NEW; END $$;
CREATE TRIGGER items_dispatch_seq_default BEFORE INSERT ON items FOR EACH ROW
  WHEN (NEW.dispatch_seq IS NULL) EXECUTE FUNCTION items_dispatch_seq_default();`,
  },
  { version: 6, name: 'semantic cache', sql: POSTGRES_SEMANTIC_MIGRATION },
  {
    version: 7,
    name: 'quality spot-checks: the checkpoint that claimed an item',
    sql: 'ALTER TABLE items ADD COLUMN IF NOT EXISTS spot_checkpoint integer;',
  },
  { version: 8, name: 'dashboard: latency and 429s of items, spend rollup, runs', sql: POSTGRES_DASHBOARD_MIGRATION },
  {
    version: 9,
    name: 'retry cost and tokens of items (--schema: discarded answers of mismatches retried)',
    sql: `
ALTER TABLE items ADD COLUMN IF NOT EXISTS retry_cost_usd double precision NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN IF NOT EXISTS retry_prompt_tokens integer NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN IF NOT EXISTS retry_cached_tokens integer NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN IF NOT EXISTS retry_completion_tokens integer NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN IF NOT EXISTS retry_reasoning_tokens integer NOT NULL DEFAULT 0;`,
  },
];

/** Any constant shared by every llm-batch process: 'llmbatch' read as a 64-bit integer. */
export const MIGRATION_LOCK = 0x6c6c6d6261746368n;

/** Applies the migrations this database lacks; returns the versions it applied. */
export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    // Released at COMMIT or ROLLBACK: a worker killed mid-migration does not leave it held.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const have = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (have.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (e) {
    failed = true;
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`migrating the item store's PostgreSQL schema: ${(e as Error).message}`, { cause: e });
  } finally {
    client.release(failed);
  }
}
