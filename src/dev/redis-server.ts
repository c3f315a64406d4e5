// Starts a throwaway real `redis-server` on 127.0.0.1 (no persistence, state in a temp
// dir) for the tests and the benchmark, and waits until it answers PING. The Redis rate
// limiter is tested against this, not a mock; kill() lets a test make Redis go away.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { isExecutable, onPath, type RunningServer } from './executables.ts';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.ts';

export interface RedisServerOptions {
  /** Working dir for the server; default a new temp dir, removed by stop(). */
  dataDir?: string;
  /** Default: a free port. */
  port?: number;
}

/** `url` is `redis://127.0.0.1:<port>`; stop() sends SIGTERM, SIGKILL after 5 s. */
export type RunningRedisServer = RunningServer;

const HOST = '127.0.0.1';
const FALLBACK = '/usr/bin/redis-server';

/** `redis-server` on PATH, else /usr/bin/redis-server, else an error saying how to install it. */
export function findRedisServer(): string {
  const found = onPath('redis-server');
  if (found) return found;
  if (isExecutable(FALLBACK)) return FALLBACK;
  throw new Error(
    'redis-server was not found on PATH or at /usr/bin/redis-server. Install it, then run again:\n' +
      '  - Debian/Ubuntu: sudo apt-get install redis-server\n' +
      '  - macOS: brew install redis',
  );
}

/**
 * PING and INFO over raw TCP: the pid of the server that answered +PONG on the port, or
 * undefined (not up yet, still loading, or an error) after at most timeoutMs. The pid tells
 * our server apart from another process that holds the port.
 */
function probe(port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: HOST, port });
    let reply = '';
    const done = (pid: number | undefined): void => {
      sock.destroy();
      resolve(pid);
    };
    sock.setTimeout(timeoutMs, () => done(undefined));
    sock.once('error', () => done(undefined));
    sock.once('connect', () => sock.write('PING\r\nINFO server\r\n'));
    sock.on('data', (b) => {
      reply += b.toString('latin1');
      if (!reply.startsWith('+PONG'.slice(0, reply.length))) return done(undefined);
      const pid = /\r\nprocess_id:(\d+)\r\n/.exec(reply);
      if (pid) done(Number(pid[1]));
    });
  });
}

async function startOnce(bin: string, dir: string, port: number): Promise<RunningRedisServer> {
  const args = [
    '--bind', HOST,
    '--port', String(port),
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'warning',
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Redis logs to stdout; config errors go to stderr. Keep the tail of both for errors.
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: string | null = null;
  const exit = new Promise<void>((r) => {
    child.once('close', (code, signal) => {
      exited ??= signal ?? `code ${code}`;
      r();
    });
    // Could not be spawned (or signalled): there may be no 'close' to wait for.
    child.once('error', (e) => {
      output += `\n${e.message}`;
      exited ??= e.message;
      r();
    });
  });

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited !== null) {
      const err = new Error(`redis-server on ${HOST}:${port} exited (${exited}) before answering PING:\n${output.trim()}`);
      throw Object.assign(err, { failedBind: /address already in use/i.test(output) });
    }
    const pid = await probe(port, 500);
    if (pid === child.pid) break;
    if (pid !== undefined && !output.includes(`(pid ${pid})`)) output += `\nanother redis-server (pid ${pid}) answers on ${HOST}:${port}\n`;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      throw new Error(`redis-server did not answer PING on ${HOST}:${port} within 10 s:\n${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url: `redis://${HOST}:${port}`,
    port,
    pid: child.pid!,
    kill: (signal = 'SIGKILL') => {
      if (exited === null) child.kill(signal);
    },
    stop: async () => {
      if (exited === null) {
        // Also after kill(): `exited` is set only once the process is gone.
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RunningRedisServer> {
  const bin = findRedisServer();
  const ownDir = opts.dataDir === undefined;
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'llm-batch-redis-'));
  mkdirSync(dir, { recursive: true });
  const cleanup = (): void => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  // A port that was free a moment ago can be taken by the time Redis binds it: try another.
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      const server = await startOnce(bin, dir, port);
      const stop = server.stop;
      server.stop = async () => {
        await stop();
        cleanup();
      };
      return server;
    } catch (e) {
      if (opts.port === undefined && attempt < 3 && (e as { failedBind?: boolean }).failedBind) continue;
      cleanup();
      throw e;
    }
  }
}
