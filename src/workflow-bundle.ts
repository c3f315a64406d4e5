// The workflows bundle, built once per version of the workflow code and cached in the
// data dir (as Temporal's production sample bundles ahead of time). The build runs in a
// child process, so a worker never holds the bundler (~125 MiB) in its own heap.
//   node src/workflow-bundle.ts OUT_FILE     builds the bundle into OUT_FILE
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const WORKFLOWS_PATH = require.resolve('./workflows/index.ts');
const SRC = dirname(fileURLToPath(import.meta.url));

/** Everything a bundle is made of: the workflow and domain sources and the SDK's version. */
function sourceHash(): string {
  const h = createHash('sha256');
  for (const dir of ['workflows', 'domain']) {
    for (const f of readdirSync(join(SRC, dir)).sort()) {
      h.update(f).update(readFileSync(join(SRC, dir, f)));
    }
  }
  h.update((JSON.parse(readFileSync(require.resolve('@temporalio/workflow/package.json'), 'utf8')) as { version: string }).version);
  return h.digest('hex').slice(0, 16);
}

async function buildInto(out: string): Promise<void> {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, log() {}, error: console.error };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent as never });
  mkdirSync(dirname(out), { recursive: true });
  // Write then rename: a worker never reads half a bundle, and concurrent builds are harmless.
  writeFileSync(`${out}.${process.pid}.tmp`, code);
  renameSync(`${out}.${process.pid}.tmp`, out);
}

/** The path of an up-to-date bundle under `home`, building it first if needed. */
export function ensureWorkflowBundle(home: string): string {
  const out = join(home, 'cache', `workflows-${sourceHash()}.js`);
  if (!existsSync(out)) execFileSync(process.execPath, [fileURLToPath(import.meta.url), out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

if (import.meta.main) await buildInto(process.argv[2]!);
