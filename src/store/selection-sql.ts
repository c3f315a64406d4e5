// SQL that both item stores share, written once so SQLite and PostgreSQL select the same
// items: the rows of a selection (a seq range, a part, or a seeded sample) and the totals
// columns. Placeholders are `?`; the PostgreSQL store numbers them ($1, $2, …).
import { isPart, isSample, type ItemSelection } from './item-store.ts';
import { ROUTING_COLUMNS } from './route-sql.ts';

// A seeded pseudo-random order of a run's items: h = (seq+1)·seed mod p, then h² mod p
// (p = 2^31−1, so the square fits a 64-bit integer; the seed is cast to a 64-bit integer so
// PostgreSQL does not compute (seq+1)·seed in 32 bits). The same seed picks the same
// sample on every call, in either store, so a retried activity sees the same items.
export const SAMPLE_ORDER =
  '((((seq + 1) * CAST(? AS BIGINT)) % 2147483647) * (((seq + 1) * CAST(? AS BIGINT)) % 2147483647)) % 2147483647, seq';

/** The seed as the multiplier of SAMPLE_ORDER: 1 … p−1. */
export const sampleMultiplier = (seed: number): number => 1 + (Math.abs(Math.trunc(seed)) % 2147483646);

/** The rows of a selection, as a sub-query named `sel` with its parameters. */
export function selectionSql(runId: string, sel: ItemSelection): { from: string; params: (string | number)[] } {
  if (isSample(sel)) {
    const m = sampleMultiplier(sel.sampleSeed);
    // The order is computed over seq alone (an index-only scan in PostgreSQL), not whole rows.
    return {
      from: `(SELECT * FROM items WHERE run_id = ? AND seq IN (SELECT seq FROM items WHERE run_id = ? ORDER BY ${SAMPLE_ORDER} LIMIT ?)) AS sel`,
      params: [runId, runId, m, m, sel.sampleSize],
    };
  }
  if (isPart(sel)) return { from: '(SELECT * FROM items WHERE run_id = ? AND part = ?) AS sel', params: [runId, sel.part] };
  // A chunk is a range of dispatch positions (= seq unless the run was put in prefix-group order).
  return { from: '(SELECT * FROM items WHERE run_id = ? AND dispatch_seq >= ? AND dispatch_seq < ?) AS sel', params: [runId, sel.seqStart, sel.seqEnd] };
}

/**
 * ItemTotals' columns, to follow with `FROM items WHERE run_id = ?` or `FROM <selection>`.
 * Semantic hits are told apart by their marker's start (domain/semantic-marker.ts SEMANTIC_MARKER_PREFIX).
 */
export const TOTALS_COLUMNS = `SELECT count(*) AS items,
    sum(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
    sum(prompt_tokens) AS prompt, sum(cached_tokens) AS cached, sum(completion_tokens) AS completion,
    sum(reasoning_tokens) AS reasoning, sum(cost_usd) AS cost,
    sum(CASE WHEN mode = 'batch' AND status = 'succeeded' THEN 1 ELSE 0 END) AS batch_succeeded,
    sum(CASE WHEN mode = 'batch' AND status = 'failed' THEN 1 ELSE 0 END) AS batch_failed,
    sum(CASE WHEN mode = 'batch' THEN cost_usd ELSE 0 END) AS batch_cost,
    sum(CASE WHEN cache_marker IS NOT NULL AND status = 'succeeded' THEN 1 ELSE 0 END) AS cache_hits, sum(saved_usd) AS saved,
    sum(CASE WHEN cache_marker LIKE '{"cache":"semantic"%' AND status = 'succeeded' THEN 1 ELSE 0 END) AS semantic_hits,
    sum(prompt_cache_saved_usd) AS prompt_cache_saved`;

/** The columns rows.ts's toPendingItem reads. */
export const PENDING_ITEM_COLUMNS = `custom_id, seq, url, body, model, prompt_tokens_est, max_output_tokens, attempts, prefix_group, ${ROUTING_COLUMNS}`;

/** The stored-item columns that rows.ts's toStoredItem reads. */
export const STORED_ITEM_COLUMNS = `custom_id, seq, status, attempts, model, feature, mode, request_id, status_code, response, error,
    prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_usd, cache_marker, ${ROUTING_COLUMNS}`;

/**
 * The run's items renumbered in prefix-group order (see ItemStore.orderByPrefixGroup), as
 * (custom_id, rn): a group sorts where its first item is in the input, then by prefix path,
 * then input order. Parameters: run id twice.
 */
export const PREFIX_ORDER_SQL = `SELECT i.custom_id, row_number() OVER (ORDER BY coalesce(g.first_seq, i.seq), i.prefix_path, i.seq) - 1 AS rn
  FROM items i LEFT JOIN (SELECT prefix_group, min(seq) AS first_seq FROM items WHERE run_id = ? AND prefix_group IS NOT NULL GROUP BY prefix_group) g
    ON g.prefix_group = i.prefix_group
  WHERE i.run_id = ?`;
