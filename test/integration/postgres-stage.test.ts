// Staging into PostgreSQL on staging threads stores what single-threaded staging stores into
// SQLite: the same items (bodies, tokens, routes), the same rejects, the same result; and a
// re-staging (the activity retried after a crash) changes nothing. The store takes its direct
// COPY path on the first staging and its careful path on the re-staging and the duplicates.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, expect, inject, it } from 'vitest';
import { stageInput } from '../../src/input/stage-input.ts';
import { runningStageThreads } from '../../src/input/prepare-pool.ts';
import { PostgresItemStore } from '../../src/store/postgres.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { DEFAULTS } from '../../src/client.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';
import type { ItemStore, RejectRecord } from '../../src/store/item-store.ts';
import { allItems } from '../support/item-store-suite.ts';
import { mixedInput, referenceStage } from '../support/reference-stage.ts';

const dir = mkdtempSync(join(tmpdir(), 'postgres-stage-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh schema of the test run's database. */
async function freshSchemaUrl(): Promise<string> {
  const schema = `stage_${process.pid}_${Date.now().toString(36)}`;
  const c = new pg.Client(inject('databaseUrl'));
  await c.connect();
  await c.query(`CREATE SCHEMA ${schema}`);
  await c.end();
  const url = new URL(inject('databaseUrl'));
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** What a run reads back from its store: items, request bodies, estimates, rejects. */
async function contents(store: ItemStore, seqEnd: number) {
  const rejects: RejectRecord[] = [];
  for await (const r of store.rejects('r')) rejects.push(r);
  return {
    items: await allItems(store, 'r'),
    requests: await store.pendingRequests('r', { seqStart: 0, seqEnd }, -1, 10_000),
    estimate: await store.pendingEstimate('r', { seqStart: 0, seqEnd }),
    rejects,
  };
}

it('stages into PostgreSQL on staging threads exactly what single-threaded staging stores, and again idempotently', async () => {
  const file = join(dir, 'input.jsonl');
  writeFileSync(file, mixedInput());
  const config: RunConfig = { runId: 'r', inputPath: file, mode: 'hybrid', urgentIf: 'feature=reply', ...DEFAULTS };

  const sqlite = new SqliteItemStore(join(dir, 'ref', 'items.sqlite'));
  const expected = await referenceStage(sqlite, config, join(dir, 'ref'));
  const pgStore = await PostgresItemStore.open(await freshSchemaUrl(), { poolSize: 2 });
  try {
    const deps = { store: pgStore, pricingFor: async () => loadDefaultPricing(), runDir: () => join(dir, 'new') };
    const first = await stageInput(deps, config, () => {}, { threads: 2, batchLines: 64 });
    expect(first).toMatchObject(expected);
    expect(readFileSync(join(dir, 'new', 'rejects.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'ref', 'rejects.jsonl'), 'utf8'));
    const want = await contents(sqlite, expected.seqEnd);
    expect(want.items.length).toBe(expected.accepted);
    expect(await contents(pgStore, expected.seqEnd)).toEqual(want);
    // The activity retried: every line again, nothing changes.
    expect(await stageInput(deps, config, () => {}, { threads: 1 })).toEqual(first);
    expect(await contents(pgStore, expected.seqEnd)).toEqual(want);
    expect(runningStageThreads()).toBe(0);
  } finally {
    await Promise.all([pgStore.close(), sqlite.close()]);
  }
});
