// Dashboard benchmark: the latency of each of the dashboard's aggregate queries on a store of
// 1,000,000 items (one run: 8 features, 4 models, realtime / batch / cache, 1% failures over
// 3 codes, latencies and 429s), filled through the store's own API (stageItems, recordResults),
// with results spread over ~28 hours so the rollup holds what a long run leaves (about
// 1,700 minutes × features × models × modes). Baseline in the same run: the same spend by
// feature and by day straight from the items table, as a dashboard without the rollup would
// read it. Also the price of the rollup's triggers on result writes (SQLite: the same 200,000
// results written with the triggers and with them dropped; PostgreSQL: 30,000). PostgreSQL's
// 1M items are written by one INSERT … SELECT from generate_series with the same spread, and
// the rollup built by the backfill a migration runs: through the store's API its result
// writes with the trigger (~1,700 rows/s on this box) would take 10 minutes.
//   node bench/dashboard.ts [sqlite|postgres]     (also: npm run bench -- dashboard [sqlite|postgres])
//   DASHBOARD_BENCH_ITEMS=20000 for a quick try.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { ItemResult, ItemStore, NewItem } from '../src/store/item-store.ts';
import { SqliteItemStore } from '../src/store/sqlite.ts';
import { PostgresItemStore } from '../src/store/postgres.ts';
import { startPostgresServer, type RunningPostgresServer } from '../src/dev/postgres-server.ts';
import type { DashboardQuery } from '../src/store/dashboard-sql.ts';
import { DashboardData } from '../src/dashboard/queries.ts';
import { backfill } from '../src/store/spend-rollup.ts';

const ITEMS = Number(process.env.DASHBOARD_BENCH_ITEMS ?? 1_000_000);
const RUN = 'bench-run';
const STAGE_BATCH = 5000;
const RESULT_BATCH = 2000;
const REPEAT = 5;
const FEATURES = Array.from({ length: 8 }, (_, i) => `feature-${i}`);
const MODELS = ['gpt-4o-mini', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4o'];
const CODES = ['server_error', 'invalid_request', 'context_length_exceeded'];
// 2026-12-01T00:00Z, and 0.1 s between results: 1M items over ~28 hours.
const START_EPOCH_S = 1_796_083_200;
const SPACING_S = 0.1;

const log = (m: string): void => console.log(`[dashboard bench] ${m}`);

function newItem(seq: number): NewItem {
  const model = MODELS[seq % MODELS.length]!;
  return {
    customId: `item-${String(seq).padStart(7, '0')}`, seq, line: seq + 1, url: '/v1/chat/completions',
    bodyJson: `{"model":"${model}","messages":[{"role":"user","content":"Ticket ${seq}: the export fails."}],"max_tokens":40}`,
    model, feature: FEATURES[(seq * 7) % FEATURES.length]!, promptTokens: 20, maxOutputTokens: 40,
  };
}

function resultOf(seq: number): ItemResult {
  const customId = `item-${String(seq).padStart(7, '0')}`;
  const model = MODELS[seq % MODELS.length]!;
  const bucket = seq % 100;
  if (bucket === 99) {
    const code = CODES[Math.floor(seq / 100) % CODES.length]!;
    return { customId, status: 'failed', attempts: 3, model, mode: 'realtime', statusCode: code === 'server_error' ? 500 : 400, error: { code, message: `${code} on ${customId}` }, latencyMs: 300, rateLimited: 0 };
  }
  const usage = { prompt: 20, cached: 0, completion: 10 + (seq % 30), reasoning: 0 };
  if (bucket < 10) {
    const marker = bucket < 3 ? '{"cache":"semantic","similarity":0.97}' : '{"cache":"exact"}';
    return { customId, status: 'succeeded', attempts: 0, model, mode: 'cache', statusCode: 200, responseJson: '{"id":"x"}', usage: { prompt: 0, cached: 0, completion: 0, reasoning: 0 }, costUsd: 0, cacheMarker: marker, savedUsd: 0.00002 };
  }
  const batch = bucket < 30;
  return {
    customId, status: 'succeeded', attempts: 1, model, mode: batch ? 'batch' : 'realtime', statusCode: 200,
    responseJson: `{"id":"chatcmpl-${seq}","choices":[{"message":{"role":"assistant","content":"ok"}}]}`, usage,
    costUsd: (batch ? 0.5 : 1) * (20 * 0.15 + usage.completion * 0.6) / 1e6, promptCacheSavedUsd: seq % 5 === 0 ? 0.000001 : 0,
    ...(batch ? {} : { latencyMs: 200 + (seq % 1800), rateLimited: seq % 20 === 0 ? 1 + (seq % 3) : 0 }),
  };
}

/** Stages and records results for seqs [0, n) of `runId`; returns the result rows written per second. */
async function fill(store: ItemStore, runId: string, n: number): Promise<{ stageS: number; resultsPerS: number }> {
  await store.recordRun({ runId, mode: 'hybrid', budgetUsd: 500, budgetWarnAt: 0.8 });
  const t0 = performance.now();
  for (let from = 0; from < n; from += STAGE_BATCH) {
    await store.stageItems(runId, Array.from({ length: Math.min(STAGE_BATCH, n - from) }, (_, i) => newItem(from + i)));
  }
  const t1 = performance.now();
  for (let from = 0; from < n; from += RESULT_BATCH) {
    await store.recordResults(runId, Array.from({ length: Math.min(RESULT_BATCH, n - from) }, (_, i) => resultOf(from + i)));
    if ((from / RESULT_BATCH) % 100 === 0 && from > 0) log(`  ${from.toLocaleString('en-US')} results written`);
  }
  const t2 = performance.now();
  return { stageS: (t1 - t0) / 1000, resultsPerS: n / ((t2 - t1) / 1000) };
}

async function timed(fn: () => Promise<unknown>): Promise<{ median: number; max: number }> {
  const ms: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(REPEAT / 2)]!, max: ms[REPEAT - 1]! };
}

/** PostgreSQL's fill: RUN's items with their results, as resultOf gives them (bodies aside), spread in time. */
const PG_FILL = `INSERT INTO items (run_id, custom_id, seq, dispatch_seq, line, url, body, model, feature, prompt_tokens_est, max_output_tokens,
    status, attempts, mode, status_code, response, error, prompt_tokens, completion_tokens, cost_usd, cache_marker, saved_usd,
    prompt_cache_saved_usd, latency_ms, rate_limited, updated_at)
  SELECT '${RUN}', 'item-' || lpad(s::text, 7, '0'), s, s, s + 1, '/v1/chat/completions', '{}',
    (ARRAY['gpt-4o-mini', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4o'])[s % 4 + 1], 'feature-' || ((s * 7) % 8), 20, 40,
    CASE WHEN b = 99 THEN 'failed' ELSE 'succeeded' END, 1,
    CASE WHEN b = 99 OR b >= 30 THEN 'realtime' WHEN b < 10 THEN 'cache' ELSE 'batch' END,
    CASE WHEN b <> 99 THEN 200 WHEN (s / 100) % 3 = 0 THEN 500 ELSE 400 END, '{"id":"x"}',
    CASE WHEN b = 99 THEN '{"code":"' || (ARRAY['server_error', 'invalid_request', 'context_length_exceeded'])[(s / 100) % 3 + 1] || '","message":"m"}' END,
    CASE WHEN b >= 10 AND b <> 99 THEN 20 ELSE 0 END, CASE WHEN b >= 10 AND b <> 99 THEN 10 + s % 30 ELSE 0 END,
    CASE WHEN b = 99 OR b < 10 THEN 0 ELSE (CASE WHEN b < 30 THEN 0.5 ELSE 1 END) * (20 * 0.15 + (10 + s % 30) * 0.6) / 1e6 END,
    CASE WHEN b < 3 THEN '{"cache":"semantic","similarity":0.97}' WHEN b < 10 THEN '{"cache":"exact"}' END,
    CASE WHEN b < 10 THEN 0.00002 ELSE 0 END, CASE WHEN b >= 10 AND b <> 99 AND s % 5 = 0 THEN 0.000001 ELSE 0 END,
    CASE WHEN b = 99 THEN 300 WHEN b >= 30 THEN 200 + s % 1800 END, CASE WHEN b >= 30 AND b <> 99 AND s % 20 = 0 THEN 1 + s % 3 ELSE 0 END,
    to_timestamp(${START_EPOCH_S} + s * ${SPACING_S})
  FROM (SELECT s, s % 100 AS b FROM generate_series(0, ${ITEMS - 1}) AS s) g`;

interface Env {
  name: string;
  store: ItemStore;
  /** Runs raw SQL on the store's database (the spread of result times, and the baseline). */
  sql(text: string): Promise<unknown>;
  /** SQL that sets updated_at of every item of RUN from its seq (SQLite); none: fill by SQL (PostgreSQL). */
  spread?: string;
  /** SQL that rewrites 2,000 items' results (as new results would): 2,000 rows of changes to fold. */
  touch: string;
}

async function benchStore(env: Env): Promise<void> {
  const { store } = env;
  if (env.spread !== undefined) {
    log(`${env.name}: staging ${ITEMS.toLocaleString('en-US')} items and writing their results …`);
    const f = await fill(store, RUN, ITEMS);
    log(`${env.name}: staged in ${f.stageS.toFixed(1)} s; results at ${Math.round(f.resultsPerS).toLocaleString('en-US')} rows/s (rollup triggers on)`);
    const t = performance.now();
    await env.sql(env.spread);
    log(`${env.name}: results spread over ${((ITEMS * SPACING_S) / 3600).toFixed(1)} h (one UPDATE of every item, the triggers moving each) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } else {
    await store.recordRun({ runId: RUN, mode: 'hybrid', budgetUsd: 500, budgetWarnAt: 0.8 });
    let t = performance.now();
    await env.sql(PG_FILL);
    await env.sql('ANALYZE items');
    log(`${env.name}: ${ITEMS.toLocaleString('en-US')} items with results inserted by SQL in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    await env.sql(backfill('postgres'));
    log(`${env.name}: rollup built from the items (the migration's backfill) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const fold = performance.now();
  const deltaRows = Number((((await env.sql('SELECT count(*) AS n FROM spend_delta')) as { n: unknown }[])[0]!).n);
  await store.foldSpendDelta();
  log(`${env.name}: ${deltaRows.toLocaleString('en-US')} spend changes folded into the rollup in ${((performance.now() - fold) / 1000).toFixed(2)} s (the first dashboard read after the fill)`);
  const rollupRows = Number((((await env.sql('SELECT count(*) AS n FROM spend_rollup')) as { n: unknown }[])[0]!).n);
  const data = new DashboardData(store, 0.5);
  const params: Record<DashboardQuery, (string | number)[]> = {
    spend_by_feature: [], spend_by_model: [], spend_by_mode: [], spend_by_day: [], runs: [],
    run_minutes: [RUN], run_errors: [RUN], run_error_examples: [RUN, 'server_error', 20],
  };
  const rows: [string, { median: number; max: number }][] = [];
  for (const name of Object.keys(params) as DashboardQuery[]) rows.push([name, await timed(() => store.dashboardQuery(name, params[name]))]);
  rows.push(['UPDATE of 2,000 results, then their fold', await timed(async () => {
    await env.sql(env.touch);
    await store.foldSpendDelta();
  })]);
  rows.push(['GET /api/overview (fold + all of its queries)', await timed(() => data.overview())]);
  rows.push(['GET /api/runs/:id (fold + all of its queries)', await timed(() => data.run(RUN))]);
  const baseline: [string, { median: number; max: number }][] = [
    ['baseline: spend by feature from items', await timed(() => env.sql('SELECT feature, count(*), sum(cost_usd) FROM items GROUP BY feature'))],
    ['baseline: spend by day from items', await timed(() => env.sql(`SELECT substr(CAST(updated_at AS text), 1, 10), count(*), sum(cost_usd) FROM items GROUP BY 1`))],
  ];
  console.log(`\n${env.name}: ${ITEMS.toLocaleString('en-US')} items, ${rollupRows.toLocaleString('en-US')} rollup rows; median and max of ${REPEAT} runs`);
  for (const [name, r] of [...rows, ...baseline]) console.log(`  ${name.padEnd(42)} ${r.median.toFixed(1).padStart(9)} ms  (max ${r.max.toFixed(1)} ms)`);
  const feature = rows.find(([n]) => n === 'spend_by_feature')![1].median;
  console.log(`  spend by feature: ${(baseline[0]![1].median / feature).toFixed(0)}× faster than from items`);
}

/** What the rollup's trigger costs result writes: the same results written with it and with it dropped, each on a fresh store. */
async function triggerCost(name: string, open: (withTrigger: boolean) => Promise<ItemStore>): Promise<void> {
  const n = Math.min(ITEMS, name === 'SQLite' ? 200_000 : 30_000);
  const rate = async (withTrigger: boolean): Promise<number> => {
    const store = await open(withTrigger);
    try {
      return (await fill(store, 'w', n)).resultsPerS;
    } finally {
      await store.close();
    }
  };
  const on = await rate(true);
  const off = await rate(false);
  console.log(`\n${name} result writes, ${n.toLocaleString('en-US')} results in batches of ${RESULT_BATCH}: ${Math.round(on).toLocaleString('en-US')} rows/s with the rollup trigger, ${Math.round(off).toLocaleString('en-US')} rows/s without (${(on / off).toFixed(2)}×)`);
}

export async function benchDashboard(stores: readonly string[] = ['sqlite', 'postgres']): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-dashboard-'));
  let postgres: RunningPostgresServer | undefined;
  try {
    for (const name of stores) {
      if (name === 'sqlite') {
        const path = join(dir, 'items.sqlite');
        const store = new SqliteItemStore(path);
        const db = new DatabaseSync(path);
        db.exec('PRAGMA busy_timeout = 10000');
        try {
          await benchStore({
            name: 'SQLite', store, sql: async (text) => db.prepare(text).all(),
            spread: `UPDATE items SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', ${START_EPOCH_S} + seq * ${SPACING_S}, 'unixepoch') WHERE run_id = '${RUN}'`,
            touch: `UPDATE items SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE run_id = '${RUN}' AND seq < 2000`,
          });
        } finally {
          db.close();
          await store.close();
        }
        let files = 0;
        await triggerCost('SQLite', async (withTrigger) => {
          const path = join(dir, `writes-${files++}.sqlite`);
          const store = new SqliteItemStore(path);
          if (!withTrigger) {
            const raw = new DatabaseSync(path);
            raw.exec('DROP TRIGGER items_rollup_in; DROP TRIGGER items_rollup_out;');
            raw.close();
          }
          return store;
        });
      } else if (name === 'postgres') {
        log('starting a throwaway PostgreSQL …');
        postgres = await startPostgresServer();
        const store = await PostgresItemStore.open(postgres.url);
        const client = new pg.Client(postgres.url);
        await client.connect();
        try {
          await benchStore({
            name: 'PostgreSQL', store, sql: async (text) => (await client.query(text)).rows,
            touch: `UPDATE items SET updated_at = now() WHERE run_id = '${RUN}' AND seq < 2000`,
          });
        } finally {
          await store.close();
        }
        let databases = 0;
        await triggerCost('PostgreSQL', async (withTrigger) => {
          const db = `writes_${databases++}`;
          await client.query(`CREATE DATABASE ${db}`);
          const url = new URL(postgres!.url);
          url.pathname = `/${db}`;
          const store = await PostgresItemStore.open(url.toString());
          if (!withTrigger) {
            const raw = new pg.Client(url.toString());
            await raw.connect();
            await raw.query('DROP TRIGGER items_spend_rollup ON items').finally(() => raw.end());
          }
          return store;
        });
        await client.end();
      } else throw new Error(`unknown store "${name}": use sqlite or postgres`);
    }
  } finally {
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

if (import.meta.main) {
  const only = process.argv[2];
  process.exit(await benchDashboard(only ? [only] : undefined));
}
