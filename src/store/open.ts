// Which item store a process uses: PostgreSQL when LLM_BATCH_DATABASE_URL is set (its
// migrations run on open), otherwise the SQLite file in the data dir.
import { databaseUrl } from '../settings.ts';
import type { ItemStore } from './item-store.ts';
import { PostgresItemStore } from './postgres.ts';
import { redactUrl } from '../redact-url.ts';
import { SqliteItemStore, storePath } from './sqlite.ts';

export interface OpenedStore {
  store: ItemStore;
  /** Where it is, for messages: the SQLite file, or the database URL without its password. */
  where: string;
}

export async function openItemStore(home: string, url: string | undefined = databaseUrl()): Promise<OpenedStore> {
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`LLM_BATCH_DATABASE_URL must be a postgres:// or postgresql:// URL, got "${redactUrl(url)}"`);
    return { store: await PostgresItemStore.open(url), where: redactUrl(url) };
  }
  return { store: new SqliteItemStore(storePath(home)), where: storePath(home) };
}
