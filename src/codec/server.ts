// The codec server for the Temporal Web UI and CLI (Temporal's remote codec protocol):
// POST /encode and POST /decode take and return {"payloads": [{"metadata": {k: base64}, "data": base64}]}.
// CORS admits the UI's origins only; with a token, every request but the CORS preflight
// must carry "Authorization: Bearer TOKEN" (401 otherwise). Payloads are never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';

export const DEFAULT_CODEC_PORT = 8235;
export const DEFAULT_UI_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'];
/** A history's payloads in one request can be many: Temporal allows 2 MB each. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface CodecServerOptions {
  codec: PayloadCodec;
  host?: string;
  port?: number;
  /** Browser origins allowed to call (the Temporal UI's). */
  uiOrigins?: string[];
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  authToken?: string;
  /** One line per request that failed (never the payloads); default none. */
  log?: (message: string) => void;
}

export interface RunningCodecServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const jsonPayload = z.object({ metadata: z.record(z.string(), base64).nullish(), data: base64.nullish() });
const body = z.object({ payloads: z.array(jsonPayload) });
type JsonPayload = z.infer<typeof jsonPayload>;

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
  data: new Uint8Array(Buffer.from(data ?? '', 'base64')),
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

/** Compares digests, so neither the token's length nor its prefix leaks through timing. */
const sameToken = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(text);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function codecRequestHandler(opts: CodecServerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const origins = new Set(opts.uiOrigins ?? DEFAULT_UI_ORIGINS);
  const log = opts.log ?? (() => undefined);
  return async (req, res) => {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'Origin');
    }
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    if (req.method === 'OPTIONS') {
      // The preflight carries no credentials by the CORS rules: it is answered without the token.
      res.writeHead(204, {
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type, x-namespace',
        'access-control-max-age': '600',
      }).end();
      return;
    }
    if (opts.authToken !== undefined) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !sameToken(m[1]!.trim(), opts.authToken)) {
        log(`401 ${req.method} ${path}: ${m ? 'wrong bearer token' : 'no bearer token'}`);
        send(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="llm-batch codec"' });
        return;
      }
    }
    if (path !== '/encode' && path !== '/decode') {
      send(res, 404, { error: 'not found: POST /encode or /decode' });
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, { error: `${path} takes POST` }, { allow: 'POST, OPTIONS' });
      return;
    }
    const text = await readBody(req);
    if (text === undefined) {
      send(res, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
      return;
    }
    let parsed: z.infer<typeof body>;
    try {
      const r = body.safeParse(JSON.parse(text));
      if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
      parsed = r.data;
    } catch (e) {
      send(res, 400, { error: `expected {"payloads": [{"metadata": {...}, "data": "base64"}]}: ${(e as Error).message}` });
      return;
    }
    try {
      const payloads = parsed.payloads.map(fromJson);
      const out = path === '/encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
      send(res, 200, { payloads: out.map(toJson) });
    } catch (e) {
      // The codec's messages name key ids, never keys or contents.
      log(`400 POST ${path}: ${(e as Error).message}`);
      send(res, 400, { error: (e as Error).message });
    }
  };
}

export async function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  const handler = codecRequestHandler(opts);
  const server = createServer((req, res) => {
    handler(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: (e as Error).message });
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_CODEC_PORT, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
