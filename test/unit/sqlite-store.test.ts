// The SQLite item store against the shared store suite (test/support/item-store-suite.ts),
// each test on a fresh file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { itemStoreSuite } from '../support/item-store-suite.ts';

itemStoreSuite('SqliteItemStore', async () => new SqliteItemStore(join(mkdtempSync(join(tmpdir(), 'store-')), 'items.sqlite')));
