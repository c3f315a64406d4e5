// The dashboard's HTTP server (node:http): the page (plain HTML and JS modules from page/, no
// build step), chart.js from its package, and read-only JSON from the item store.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { ItemStore } from '../store/item-store.ts';
import { checkAccess, TOKEN_COOKIE } from './access.ts';
import { DashboardData } from './queries.ts';
import type { TemporalStateOf } from './temporal-state.ts';

const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'page');
// chart.js's UMD build: one file that sets window.Chart, so the page needs no bundler.
const CHART_JS = join(dirname(fileURLToPath(import.meta.resolve('chart.js'))), 'chart.umd.min.js');

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/static/style.css': { file: join(PAGE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/static/common.js': { file: join(PAGE_DIR, 'common.js'), type: 'text/javascript; charset=utf-8' },
  '/static/overview.js': { file: join(PAGE_DIR, 'overview.js'), type: 'text/javascript; charset=utf-8' },
  '/static/run.js': { file: join(PAGE_DIR, 'run.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/chart.umd.min.js': { file: CHART_JS, type: 'text/javascript; charset=utf-8' },
};
const RUN_PAGE = { file: join(PAGE_DIR, 'run.html'), type: 'text/html; charset=utf-8' };

export interface DashboardOptions {
  store: ItemStore;
  host: string;
  port: number;
  /** Required of every request when set. */
  token?: string;
  /** The pricing table's Batch API discount: what all-realtime would have cost. */
  batchDiscount: number;
  /** Temporal's word on a run's state, when Temporal is reachable (temporal-state.ts). */
  temporalState?: TemporalStateOf;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
}
const json = (res: ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

async function route(data: DashboardData, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const page = STATIC[path] ?? (/^\/runs\/[^/]+$/.test(path) ? RUN_PAGE : undefined);
  if (page) return send(res, 200, page.type, await readFile(page.file));
  if (path === '/api/overview') return json(res, 200, await data.overview());
  const examples = /^\/api\/runs\/([^/]+)\/errors\/([^/]+)$/.exec(path);
  if (examples) return json(res, 200, await data.errorExamples(decodeURIComponent(examples[1]!), decodeURIComponent(examples[2]!)));
  const run = /^\/api\/runs\/([^/]+)$/.exec(path);
  if (run) {
    const found = await data.run(decodeURIComponent(run[1]!));
    return found ? json(res, 200, found) : json(res, 404, { error: `no run "${decodeURIComponent(run[1]!)}" in the item store` });
  }
  json(res, 404, { error: `not found: ${path}` });
}

export async function startDashboard(opts: DashboardOptions): Promise<RunningDashboard> {
  const data = new DashboardData(opts.store, opts.batchDiscount, opts.temporalState);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'the dashboard is read-only' });
    const access = checkAccess(req, url, opts.token);
    if (access === 'denied') return send(res, 401, 'text/plain; charset=utf-8', 'a token is required: open the URL with ?token=… or send Authorization: Bearer …\n', { 'www-authenticate': 'Bearer realm="llm-batch dashboard"' });
    if (access === 'ok-set-cookie') res.setHeader('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(opts.token!)}; HttpOnly; SameSite=Strict; Path=/`);
    route(data, req, res, url).catch((e: unknown) => json(res, 500, { error: (e as Error).message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
