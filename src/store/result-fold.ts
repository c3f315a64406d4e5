// A batch of writes folded to one write per item, with the outcome of applying the batch
// in order as the SQLite store does: a store that applies a batch in one statement (the
// PostgreSQL store's UPDATE … FROM touches a row once) gets the same final rows.
import type { ItemResult, ItemRetry } from './item-store.ts';

/** Per custom_id, in first-seen order: the first success, else the last result (a success is never overwritten). */
export function foldResults(results: readonly ItemResult[]): ItemResult[] {
  const byId = new Map<string, ItemResult>();
  for (const r of results) {
    if (byId.get(r.customId)?.status !== 'succeeded') byId.set(r.customId, r);
  }
  return [...byId.values()];
}

/** Per custom_id, in first-seen order: the most attempts, and the last error and mode. */
export function foldRetries(retries: readonly ItemRetry[]): ItemRetry[] {
  const byId = new Map<string, ItemRetry>();
  for (const r of retries) {
    const seen = byId.get(r.customId);
    byId.set(r.customId, seen ? { ...r, attempts: Math.max(seen.attempts, r.attempts) } : r);
  }
  return [...byId.values()];
}
