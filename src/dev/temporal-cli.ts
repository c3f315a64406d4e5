// Finds the Temporal CLI, in this order: $TEMPORAL_CLI, `temporal` on PATH, a cached
// binary under $HOME, a `go install` into that cache; otherwise says how to get it.
import { existsSync, mkdirSync } from 'node:fs';
import { isExecutable, onPath } from './executables.ts';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { homedir } from 'node:os';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

export const temporalCacheDir = (): string =>
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'llm-batch', 'bin');



export type TemporalCliSource = 'env' | 'path' | 'cache' | 'go-install';

/** Where the CLI is, without installing anything. */
export function findTemporalCli(): { path: string; source: TemporalCliSource } | undefined {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return { path: fromEnv, source: 'env' };
  }
  const fromPath = onPath('temporal');
  if (fromPath) return { path: fromPath, source: 'path' };
  const cached = join(temporalCacheDir(), 'temporal');
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

export const HOW_TO_INSTALL = [
  'The Temporal CLI was not found and could not be built.',
  'Install it one of these ways, then run the command again:',
  '  - brew install temporal   (macOS / Linuxbrew)',
  '  - curl -sSf https://temporal.download/cli.sh | sh',
  `  - with Go: GOBIN=${temporalCacheDir()} go install ${TEMPORAL_CLI_MODULE}`,
  'or point TEMPORAL_CLI at an existing binary.',
].join('\n');

/** Finds the CLI or builds it with Go into the cache (minutes on a small machine). */
export async function ensureTemporalCli(log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<{ path: string; source: TemporalCliSource }> {
  const found = findTemporalCli();
  if (found) return found;
  const go = onPath('go');
  if (!go) throw new Error(HOW_TO_INSTALL);
  const dir = temporalCacheDir();
  mkdirSync(dir, { recursive: true });
  log(`Temporal CLI not found: building ${TEMPORAL_CLI_MODULE} with Go into ${dir} (a few minutes, once)...`);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], { env: { ...process.env, GOBIN: dir }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const built = join(dir, 'temporal');
  if (code !== 0 || !existsSync(built)) throw new Error(`go install failed (exit ${code}).\n${HOW_TO_INSTALL}`);
  log(`Temporal CLI built: ${built}`);
  return { path: built, source: 'go-install' };
}
