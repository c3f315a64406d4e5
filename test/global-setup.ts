// One real Temporal dev server (the project's own bootstrap, headless, state in a temp
// dir) and one workflow bundle for the whole test run; suites start their own workers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../src/dev/dev-server.ts';
import { ensureWorkflowBundle } from '../src/workflow-bundle.ts';
import { freePort } from '../src/dev/ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-batch-test-'));
  const server = await startDevServer({ dataDir: dir, port: await freePort(), uiPort: 0, ui: false });
  const bundlePath = ensureWorkflowBundle(dir);
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
