// Starts a throwaway real PostgreSQL for the tests: initdb into a temp dir, `postgres` on
// 127.0.0.1 and a free port (trust auth on loopback, unix socket in the temp dir, durability
// off for speed), one database created, ready when it accepts connections. PostgreSQL
// refuses to run as root, so as root it runs as the `postgres` user of the Debian package.
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { isExecutable, type RunningServer } from './executables.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.ts';

export interface PostgresServerOptions {
  /** Working dir (cluster in data/, socket beside it); default a new temp dir, removed by stop(). */
  dataDir?: string;
  /** Default: a free port. */
  port?: number;
  /** The database to create; default llm_batch. */
  database?: string;
}

/**
 * `url` is `postgres://postgres@127.0.0.1:<port>/<database>`, `pid` the postmaster's; stop() is a
 * fast shutdown (SIGINT), SIGKILL after 10 s; after kill(), its backends notice within moments.
 */
export type RunningPostgresServer = RunningServer;

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const INSTALL_HINT =
  'Install PostgreSQL, then run again:\n' +
  '  - Debian/Ubuntu: sudo apt-get install postgresql (the service it installs is not used)\n' +
  '  - macOS: brew install postgresql';

const hasServer = (dir: string): boolean => isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'postgres'));

/** The dir holding initdb and postgres: `pg_config --bindir`, else the newest /usr/lib/postgresql/<v>/bin. */
export function findPostgresBinDir(): string {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dir && hasServer(dir)) return dir;
  } catch {
    // no pg_config on PATH: look where Debian puts the server
  }
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    // not there either
  }
  for (const v of versions) if (hasServer(`/usr/lib/postgresql/${v}/bin`)) return `/usr/lib/postgresql/${v}/bin`;
  throw new Error(`PostgreSQL's initdb and postgres were not found (neither by pg_config --bindir nor in /usr/lib/postgresql/*/bin). ${INSTALL_HINT}`);
}

/** As root, the uid and gid of the `postgres` user (PostgreSQL will not run as root); otherwise none. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, SUPERUSER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(`PostgreSQL refuses to run as root and there is no '${SUPERUSER}' user to run it as. ${INSTALL_HINT.replace('Install PostgreSQL', 'Install PostgreSQL (its package creates the user)')}`);
  }
}

/** Runs a program to completion; its output in the error when it fails. */
function run(bin: string, args: string[], opts: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (b: Buffer): void => {
      output = (output + b.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('error', (e) => reject(new Error(`${bin}: ${e.message}`)));
    child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${bin} ${args.join(' ')} failed (${signal ?? `code ${code}`}):\n${output.trim()}`))));
  });
}

/**
 * Connects as the superuser to `postgres` and checks the server is the one serving our data
 * dir (not another server on the port). True when it is up; false while it is starting.
 */
async function probe(port: number, dataDir: string): Promise<boolean> {
  const client = new pg.Client({ host: HOST, port, user: SUPERUSER, database: 'postgres', connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'data_directory'");
    return rows[0]?.setting === dataDir;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

type Started = Pick<RunningPostgresServer, 'pid' | 'stop' | 'kill'>;

async function startOnce(binDir: string, dir: string, port: number, spawnAs: SpawnOptions): Promise<Started> {
  const data = join(dir, 'data');
  const args = [
    '-D', data,
    '-h', HOST,
    '-p', String(port),
    '-k', dir,
    // Test speed: a crash may lose the cluster, which is thrown away anyway.
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
    // Every test file opens pools of its own.
    '-c', 'max_connections=200',
  ];
  const child = spawn(join(binDir, 'postgres'), args, { ...spawnAs, stdio: ['ignore', 'pipe', 'pipe'] });
  // The postmaster makes itself a session leader (a Ctrl-C on the terminal does not reach it):
  // a test process that exits without stopping it takes it down (SIGQUIT: immediate shutdown).
  const onExit = (): void => {
    child.kill('SIGQUIT');
  };
  process.once('exit', onExit);
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
      process.off('exit', onExit);
      r();
    });
    child.once('error', (e) => {
      output += `\n${e.message}`;
      exited ??= e.message;
      process.off('exit', onExit);
      r();
    });
  });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) {
      const err = new Error(`postgres on ${HOST}:${port} exited (${exited}) before accepting connections:\n${output.trim()}`);
      throw Object.assign(err, { failedBind: /could not bind|address already in use/i.test(output) });
    }
    if (await probe(port, data)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      throw new Error(`postgres did not accept connections on ${HOST}:${port} within 30 s:\n${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    pid: child.pid!,
    kill: (signal = 'SIGKILL') => {
      if (exited === null) child.kill(signal);
    },
    stop: async () => {
      if (exited === null) {
        // SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to disconnect.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}

/** Creates the database unless it exists (a reused data dir). */
async function ensureDatabase(port: number, name: string): Promise<void> {
  const client = new pg.Client({ host: HOST, port, user: SUPERUSER, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

export async function startPostgresServer(opts: PostgresServerOptions = {}): Promise<RunningPostgresServer> {
  const binDir = findPostgresBinDir();
  const user = serverUser();
  const ownDir = opts.dataDir === undefined;
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'llm-batch-pg-'));
  const cleanup = (): void => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  const database = opts.database ?? 'llm_batch';
  try {
    mkdirSync(dir, { recursive: true });
    if (user) chownSync(dir, user.uid, user.gid);
    const spawnAs: SpawnOptions = { cwd: dir, env: { ...process.env, LC_ALL: 'C' }, ...(user ?? {}) };
    // A dataDir from an earlier start keeps its cluster.
    if (!existsSync(join(dir, 'data', 'PG_VERSION'))) await run(join(binDir, 'initdb'), ['-D', join(dir, 'data'), '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], spawnAs).catch((e: Error) => {
      throw new Error(`${e.message}${user ? `\n(run as '${SUPERUSER}', uid ${user.uid}: it needs to reach ${dir})` : ''}`);
    });
    // A port that was free a moment ago can be taken by the time PostgreSQL binds it: try another.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort());
      try {
        const server = await startOnce(binDir, dir, port, spawnAs);
        try {
          await ensureDatabase(port, database);
        } catch (e) {
          await server.stop();
          throw e;
        }
        const stop = server.stop;
        return {
          url: `postgres://${SUPERUSER}@${HOST}:${port}/${database}`,
          port,
          pid: server.pid,
          kill: server.kill,
          stop: async () => {
            await stop();
            cleanup();
          },
        };
      } catch (e) {
        if (opts.port === undefined && attempt < 3 && (e as { failedBind?: boolean }).failedBind) continue;
        throw e;
      }
    }
  } catch (e) {
    cleanup();
    throw e;
  }
}
