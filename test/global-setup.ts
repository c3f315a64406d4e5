// One real Temporal dev server (the project's own bootstrap, headless, state in a temp
// dir), one real redis-server on a free port and one workflow bundle for the whole test
// run; suites start their own workers. Tests read them with inject('temporalAddress' | 'redisUrl').
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../src/dev/dev-server.ts';
import { startRedisServer } from '../src/dev/redis-server.ts';
import { ensureWorkflowBundle } from '../src/workflow-bundle.ts';
import { freePort } from '../src/dev/ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    /** redis://127.0.0.1:<port> of the run's redis-server. */
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-batch-test-'));
  // Redis first: it is up in a fraction of a second, fails fast when redis-server is
  // missing, and holds its port before the dev server picks one.
  const redis = await startRedisServer();
  const server = await startDevServer({ dataDir: dir, port: await freePort(), uiPort: 0, ui: false }).catch(async (e: unknown) => {
    await redis.stop();
    throw e;
  });
  let bundlePath: string;
  try {
    bundlePath = ensureWorkflowBundle(dir);
  } catch (e) {
    await Promise.all([server.stop(), redis.stop()]);
    throw e;
  }
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('redisUrl', redis.url);
  return async () => {
    await Promise.all([server.stop(), redis.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
}
