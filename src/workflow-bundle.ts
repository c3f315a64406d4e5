// The workflows bundle, built once per version of the workflow code and cached for the whole
// host (as Temporal's production sample bundles ahead of time). Every worker on the host, whatever
// its data dir, reuses it: three workers starting together build it once, not three times over
// on two cores. The build runs in a child process, so a worker never holds the bundler (~125 MiB)
// in its own heap.
// With the payload codec on, the bundle also holds its failure converter (a second variant).
//   node src/workflow-bundle.ts OUT_FILE [FAILURE_CONVERTER]     builds the bundle into OUT_FILE
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const WORKFLOWS_PATH = require.resolve('./workflows/index.ts');
/** OpenTelemetry's workflow interceptors: a prebuilt bundle must carry them (the worker cannot add them). */
const WORKFLOW_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
const SRC = dirname(fileURLToPath(import.meta.url));

/** A build lock older than this is a build that died: it is taken over. */
const STALE_LOCK_MS = 5 * 60_000;

/** Where bundles live: $LLM_BATCH_BUNDLE_DIR, else $XDG_CACHE_HOME/llm-batch/workflows (~/.cache/…). */
export const bundleCacheDir = (): string =>
  process.env.LLM_BATCH_BUNDLE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'llm-batch', 'workflows');

/** Everything a bundle is made of: the workflow and domain sources, the SDK's and the interceptors' versions. */
function sourceHash(failureConverterPath?: string): string {
  const h = createHash('sha256');
  if (failureConverterPath) h.update('failure-converter').update(readFileSync(failureConverterPath));
  for (const dir of ['workflows', 'domain']) {
    for (const f of readdirSync(join(SRC, dir)).sort()) {
      h.update(f).update(readFileSync(join(SRC, dir, f)));
    }
  }
  h.update((JSON.parse(readFileSync(require.resolve('@temporalio/workflow/package.json'), 'utf8')) as { version: string }).version);
  h.update(`otel ${(JSON.parse(readFileSync(require.resolve('@temporalio/interceptors-opentelemetry/package.json'), 'utf8')) as { version: string }).version}`);
  return h.digest('hex').slice(0, 16);
}

async function buildInto(out: string, failureConverterPath?: string): Promise<void> {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, log() {}, error: console.error };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath, workflowInterceptorModules: [WORKFLOW_INTERCEPTORS], logger: silent as never });
  mkdirSync(dirname(out), { recursive: true });
  // Write then rename: a worker never reads half a bundle.
  writeFileSync(`${out}.${process.pid}.tmp`, code);
  renameSync(`${out}.${process.pid}.tmp`, out);
}

/** Takes the build lock (O_EXCL, holding our pid), or returns false while another live build holds it. */
function tryLock(lock: string): boolean {
  try {
    const fd = openSync(lock, 'wx');
    writeFileSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (holderDied(lock)) rmSync(lock, { force: true });
    return false;
  }
}

/** The lock's builder is gone (killed mid-build), or the lock is too old to trust. */
function holderDied(lock: string): boolean {
  const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
  if (age > STALE_LOCK_MS) return true;
  let pid: number;
  try {
    pid = Number(readFileSync(lock, 'utf8').trim() || NaN);
  } catch {
    return false; // released meanwhile
  }
  if (!Number.isInteger(pid) || age < 1000) return false; // just created: its pid may not be written yet
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * The path of an up-to-date bundle in `dir` (the host's cache by default), building it first if
 * needed; with `failureConverterPath`, the bundle's workflows convert failures with that module's.
 */
export function ensureWorkflowBundle(dir: string = bundleCacheDir(), failureConverterPath?: string): string {
  const out = join(dir, `workflows-${sourceHash(failureConverterPath)}.js`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const lock = `${out}.lock`;
  // Another worker is building it: wait for its bundle rather than build a second one.
  while (!tryLock(lock)) {
    if (existsSync(out)) return out;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
  try {
    if (!existsSync(out)) execFileSync(process.execPath, [fileURLToPath(import.meta.url), out, ...(failureConverterPath ? [failureConverterPath] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  } finally {
    rmSync(lock, { force: true });
  }
  return out;
}

if (import.meta.main) await buildInto(process.argv[2]!, process.argv[3]);
