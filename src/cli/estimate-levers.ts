// The levers `llm-batch estimate` measures besides duplicates within the file, wired here
// and nowhere else (see src/domain/estimate-levers.ts for each one's contract):
//   cachedKeys  which exact-cache keys earlier runs answered: a lookup in the item store that
//               `run` and `status` use (LLM_BATCH_DATABASE_URL, else the data dir's SQLite
//               file), answers no older than --cache-ttl; no local store yet means no hits
//   prefix      staging's prompt-cache eligibility count, per model (domain/estimate-prefix.ts)
//   routes      the rules of --route FILE, read and checked as `run --route` reads them
import { existsSync } from 'node:fs';
import type { EstimateLevers } from '../domain/estimate-levers.ts';
import { PrefixEligibilityByModel } from '../domain/estimate-prefix.ts';
import type { RouteRules } from '../domain/route-rules.ts';
import { openItemStore } from '../store/open.ts';
import { storePath } from '../store/sqlite.ts';
import type { ItemStore } from '../store/item-store.ts';

export interface OpenedLevers {
  levers: EstimateLevers;
  /** Releases what the levers opened (the store connection). */
  close(): Promise<void>;
}

export interface LeverOptions {
  /** The data dir (LLM_BATCH_HOME) and the database URL (LLM_BATCH_DATABASE_URL), as `run` and `status` take them. */
  home: string;
  databaseUrl?: string;
  /** --cache-ttl: reuse answers no older than this. */
  cacheTtlMs: number;
  /** --route FILE, read and checked (src/cli/route-option.ts). */
  routes?: { rules: RouteRules; file: string };
  /** The clock (tests). */
  now?: () => number;
}

const days = (ms: number): string => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 1000)}s`);

export async function openEstimateLevers(o: LeverOptions): Promise<OpenedLevers> {
  const levers: EstimateLevers = { prefix: () => new PrefixEligibilityByModel() };
  if (o.routes) levers.routes = o.routes;
  let store: ItemStore | undefined;
  if (!o.databaseUrl && !existsSync(storePath(o.home))) {
    // No run has used this data dir: nothing is cached. Said, not guessed, and no store is created for it.
    levers.cachedKeys = async () => new Set();
    levers.notes = { cachedKeys: `no item store at ${storePath(o.home)} (no earlier run with this data dir; set LLM_BATCH_HOME or LLM_BATCH_DATABASE_URL to the one your runs use), so no cached answers` };
  } else {
    try {
      const opened = await openItemStore(o.home, o.databaseUrl);
      store = opened.store;
      const minCreatedAt = (o.now ?? Date.now)() - o.cacheTtlMs;
      const s = store;
      levers.cachedKeys = async (keys) => new Set(await s.cachedKeys([...keys], minCreatedAt));
      levers.notes = { cachedKeys: `answers cached in ${opened.where} in the last ${days(o.cacheTtlMs)} (--cache-ttl)` };
    } catch (e) {
      // The estimate goes on without this lever, and says why.
      levers.why = { cachedKeys: `the item store could not be opened: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  return {
    levers,
    close: async () => {
      await store?.close();
    },
  };
}
