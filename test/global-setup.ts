// One real Temporal dev server (the project's own bootstrap, headless, state in a temp
// dir), one real redis-server and one real PostgreSQL on free ports, and one workflow bundle
// for the whole test run; suites start their own workers. Tests read them with
// inject('temporalAddress' | 'redisUrl' | 'databaseUrl').
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../src/dev/dev-server.ts';
import { startRedisServer } from '../src/dev/redis-server.ts';
import { startPostgresServer } from '../src/dev/postgres-server.ts';
import { ensureWorkflowBundle } from '../src/workflow-bundle.ts';
import { freePort } from '../src/dev/ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    /** redis://127.0.0.1:<port> of the run's redis-server. */
    redisUrl: string;
    /** postgres://postgres@127.0.0.1:<port>/llm_batch of the run's PostgreSQL (superuser, trust auth). */
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-batch-test-'));
  // Redis first: it is up in a fraction of a second, fails fast when redis-server is
  // missing, and holds its port before the dev server picks one.
  // PostgreSQL next, for the same reasons (initdb and start take a second or two).
  const redis = await startRedisServer();
  const postgres = await startPostgresServer().catch(async (e: unknown) => {
    await redis.stop();
    throw e;
  });
  const server = await startDevServer({ dataDir: dir, port: await freePort(), uiPort: 0, ui: false }).catch(async (e: unknown) => {
    await Promise.all([redis.stop(), postgres.stop()]);
    throw e;
  });
  let bundlePath: string;
  try {
    bundlePath = ensureWorkflowBundle();
  } catch (e) {
    await Promise.all([server.stop(), redis.stop(), postgres.stop()]);
    throw e;
  }
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('redisUrl', redis.url);
  project.provide('databaseUrl', postgres.url);
  return async () => {
    await Promise.all([server.stop(), redis.stop(), postgres.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
}
