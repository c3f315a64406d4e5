// The SQL of quality spot-checks, shared by both item stores: a checkpoint claims the run's
// succeeded items that no checkpoint holds yet (items.spot_checkpoint), then draws its seeded
// sample from what it claimed, in the same pseudo-random order as the run's --sample
// (selection-sql.ts). Placeholders are `?`; the PostgreSQL store numbers them.
import { SAMPLE_ORDER, sampleMultiplier } from './selection-sql.ts';
import { num, str, type Row } from './rows.ts';
import type { SpotCheckSample } from './item-store.ts';

/** Parameters: checkpoint, run id. A retried claim of the same checkpoint claims nothing it had not (only items succeeded since). */
export const CLAIM_SPOT_CHECK = "UPDATE items SET spot_checkpoint = ? WHERE run_id = ? AND status = 'succeeded' AND spot_checkpoint IS NULL";

/** The sample of a checkpoint's items, with its parameters. */
export function spotCheckSampleSql(runId: string, checkpoint: number, seed: number, size: number): { sql: string; params: (string | number)[] } {
  const m = sampleMultiplier(seed);
  return {
    sql: `SELECT custom_id, seq, body, feature, priority, response FROM items
      WHERE run_id = ? AND spot_checkpoint = ? AND status = 'succeeded' ORDER BY ${SAMPLE_ORDER} LIMIT ?`,
    params: [runId, checkpoint, m, m, size],
  };
}

export function toSpotCheckSample(r: Row): SpotCheckSample {
  const metadata: SpotCheckSample['metadata'] = {};
  const feature = str(r.feature);
  if (feature !== undefined) metadata.feature = feature;
  const priority = str(r.priority);
  if (priority !== undefined) metadata.priority = priority;
  return { customId: String(r.custom_id), seq: num(r.seq), bodyJson: String(r.body), metadata, responseJson: str(r.response) ?? 'null' };
}
