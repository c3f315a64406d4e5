// Starts `temporal server start-dev` with its state in the data dir (runs survive a
// restart), on the ports asked for, with the project's search attributes registered,
// and waits until it answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_FLAGS } from '../workflows/search-attributes.ts';
import { ensureTemporalCli } from './temporal-cli.ts';
import { envWithoutKeys } from '../codec/keys.ts';

export interface DevServerOptions {
  dataDir: string;
  port: number;
  uiPort: number;
  /** false: no Web UI (tests). */
  ui?: boolean;
  ip?: string;
  /** The Web UI decodes payloads through this codec server (see src/codec/server.ts). */
  uiCodecEndpoint?: string;
  log?: (msg: string) => void;
}

export interface RunningDevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  const cli = await ensureTemporalCli(opts.log);
  const ip = opts.ip ?? '127.0.0.1';
  mkdirSync(opts.dataDir, { recursive: true });
  const args = [
    'server', 'start-dev',
    '--ip', ip,
    '--port', String(opts.port),
    '--db-filename', join(opts.dataDir, 'temporal.sqlite'),
    '--log-level', 'error',
    ...SEARCH_ATTRIBUTE_FLAGS.flatMap((sa) => ['--search-attribute', sa]),
    ...(opts.ui === false ? ['--headless'] : ['--ui-port', String(opts.uiPort)]),
    ...(opts.ui !== false && opts.uiCodecEndpoint ? ['--ui-codec-endpoint', opts.uiCodecEndpoint] : []),
  ];
  const logFd = openSync(join(opts.dataDir, 'temporal-server.log'), 'a');
  // The server never sees the payload keys: it stores ciphertext only.
  const child = spawn(cli.path, args, { stdio: ['ignore', logFd, logFd], env: envWithoutKeys() });
  const address = `${ip}:${opts.port}`;
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) throw new Error(`temporal server exited with code ${exited}; see ${join(opts.dataDir, 'temporal-server.log')} (is port ${opts.port} already in use?)`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.healthService.check({});
      await conn.close();
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal server did not answer on ${address} within 60 s: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const stop = async (): Promise<void> => {
    if (exited !== null) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  };
  const server: RunningDevServer = { address, process: child, stop };
  if (opts.ui !== false) server.uiUrl = `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${opts.uiPort}`;
  return server;
}
