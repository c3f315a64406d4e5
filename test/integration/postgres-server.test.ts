// The real PostgreSQL the tests run against: the run-wide one from global setup answers
// node-postgres on loopback, and a private one killed with SIGKILL makes a client fail;
// stop() removes the temp dir it created.
import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { startPostgresServer } from '../../src/dev/postgres-server.ts';

describe('PostgreSQL for tests', () => {
  it('the run-wide server takes queries on 127.0.0.1, with durability off', async () => {
    const url = inject('databaseUrl');
    expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/llm_batch$/);
    const c = new pg.Client(url);
    await c.connect();
    try {
      const { rows } = await c.query("SELECT current_database() AS db, current_setting('fsync') AS fsync, current_setting('server_version_num')::int AS v");
      expect(rows[0]).toMatchObject({ db: 'llm_batch', fsync: 'off' });
      expect(rows[0].v).toBeGreaterThanOrEqual(130000);
    } finally {
      await c.end();
    }
  });

  it('a private server dies on kill(); stop() cleans up after it', async () => {
    const server = await startPostgresServer({ database: 'private' });
    const c = new pg.Client(server.url);
    c.on('error', () => {}); // the failure is asserted through the query
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    const { rows } = await c.query("SELECT current_setting('data_directory') AS dir");
    server.kill();
    // Its backends see the postmaster gone within moments and drop the connection.
    const failed = async (): Promise<boolean> => {
      for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
        if (await c.query('SELECT 1').then(() => false, () => true)) return true;
      }
      return false;
    };
    expect(await failed()).toBe(true);
    await server.stop();
    await server.stop();
    expect(existsSync(rows[0].dir)).toBe(false);
    await c.end().catch(() => {});
  });
});
