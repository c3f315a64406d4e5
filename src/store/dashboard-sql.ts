// The dashboard's read queries, the same in both stores but for how JSON is read. Spend
// comes from spend_rollup (spend-rollup.ts), a run's size from the items_by_seq index (seq is
// 0-based and dense among accepted items), errors from the partial index of failed items:
// none of them reads a run's items one by one, so they stay fast on a million items.
// Placeholders are `?`; the PostgreSQL store numbers them.

export type Dialect = 'sqlite' | 'postgres';

/** The dimensions spend is grouped by; `day` is the UTC day of the minute the result was written. */
export const SPEND_DIMENSIONS = { feature: 'feature', model: 'model', mode: 'mode', day: 'substr(minute, 1, 10)' } as const;
export type SpendDimension = keyof typeof SPEND_DIMENSIONS;

const MEASURES = `sum(succeeded) AS succeeded, sum(failed) AS failed, sum(cost_usd) AS cost, sum(saved_usd) AS saved,
  sum(semantic_saved_usd) AS semantic_saved, sum(prompt_cache_saved_usd) AS prompt_cache_saved,
  sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens`;

const errorCode = (d: Dialect): string => (d === 'sqlite' ? `json_extract(error, '$.code')` : `(error::json ->> 'code')`);

function queries(d: Dialect) {
  const spendBy = (dim: SpendDimension): string =>
    `SELECT ${SPEND_DIMENSIONS[dim]} AS key, ${MEASURES} FROM spend_rollup GROUP BY ${SPEND_DIMENSIONS[dim]} ORDER BY key`;
  return {
    spend_by_feature: spendBy('feature'),
    spend_by_model: spendBy('model'),
    spend_by_mode: spendBy('mode'),
    spend_by_day: spendBy('day'),
    /** Every run the store knows: recorded at staging, or with results. */
    runs: `SELECT r.run_id, ru.mode AS run_mode, ru.budget_usd, ru.budget_warn_at, ru.created_at,
        (SELECT max(seq) + 1 FROM items i WHERE i.run_id = r.run_id) AS items,
        agg.succeeded, agg.failed, agg.cost, agg.batch_cost, agg.saved, agg.first_minute, agg.last_minute
      FROM (SELECT run_id FROM runs UNION SELECT DISTINCT run_id FROM spend_rollup) r
      LEFT JOIN runs ru ON ru.run_id = r.run_id
      LEFT JOIN (SELECT run_id, sum(succeeded) AS succeeded, sum(failed) AS failed, sum(cost_usd) AS cost,
          sum(CASE WHEN mode = 'batch' THEN cost_usd ELSE 0 END) AS batch_cost, sum(saved_usd) AS saved,
          min(minute) AS first_minute, max(minute) AS last_minute
        FROM spend_rollup GROUP BY run_id) agg ON agg.run_id = r.run_id
      ORDER BY coalesce(ru.created_at, agg.first_minute) DESC, r.run_id`,
    /** One run's results per minute: the spend curve, 429s and latency over time. Param: run id. */
    run_minutes: `SELECT minute, ${MEASURES}, sum(rate_limited) AS rate_limited, sum(latency_ms_sum) AS latency_ms_sum,
        sum(latency_count) AS latency_count, sum(CASE WHEN mode = 'batch' THEN cost_usd ELSE 0 END) AS batch_cost
      FROM spend_rollup WHERE run_id = ? GROUP BY minute ORDER BY minute`,
    /** One run's failed items by error code. Param: run id. */
    run_errors: `SELECT ${errorCode(d)} AS code, count(*) AS items FROM items WHERE run_id = ? AND status = 'failed'
      GROUP BY ${errorCode(d)} ORDER BY items DESC, code`,
    /** Examples of one error code. Params: run id, code, limit. */
    run_error_examples: `SELECT custom_id, status_code, error FROM items WHERE run_id = ? AND status = 'failed' AND ${errorCode(d)} = ?
      ORDER BY custom_id LIMIT ?`,
  };
}

export type DashboardQuery = keyof ReturnType<typeof queries>;
export const DASHBOARD_SQL: Record<Dialect, Record<DashboardQuery, string>> = { sqlite: queries('sqlite'), postgres: queries('postgres') };
