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

/** Per custom_id, in first-seen order: the most attempts, the last error and mode, and the discarded answers' costs summed. */
export function foldRetries(retries: readonly ItemRetry[]): ItemRetry[] {
  const byId = new Map<string, ItemRetry>();
  for (const r of retries) {
    const seen = byId.get(r.customId);
    if (!seen) byId.set(r.customId, r);
    else {
      const folded: ItemRetry = { ...r, attempts: Math.max(seen.attempts, r.attempts) };
      if (seen.costUsd !== undefined || r.costUsd !== undefined) folded.costUsd = (seen.costUsd ?? 0) + (r.costUsd ?? 0);
      if (seen.usage !== undefined || r.usage !== undefined) {
        const a = seen.usage ?? { prompt: 0, cached: 0, completion: 0, reasoning: 0 };
        const b = r.usage ?? { prompt: 0, cached: 0, completion: 0, reasoning: 0 };
        folded.usage = { prompt: a.prompt + b.prompt, cached: a.cached + b.cached, completion: a.completion + b.completion, reasoning: a.reasoning + b.reasoning };
      }
      byId.set(r.customId, folded);
    }
  }
  return [...byId.values()];
}
