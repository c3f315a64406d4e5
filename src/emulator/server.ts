// The emulator's HTTP server (node:http): routing, the per-call pipeline
// (outage → quota → validation → rate limit → injected fault → serve), headers on every
// answer, the Files and Batches routes (files-api.ts, batches-api.ts; outages apply to
// them, nothing else does), and the /_emulator/* control endpoints used by tests and benchmarks.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { BatchEngine, type Batch } from './batches.ts';
import { batchesRoute } from './batches-api.ts';
import { invalidRequest, notFound, overloaded, quotaExceeded, rateLimited, serverError, type ErrorAnswer } from './errors.ts';
import { FaultInjector, inOutage, SchemaViolations } from './faults.ts';
import { FileStore, type FileObject } from './files.ts';
import { filesRoute } from './files-api.ts';
import { BatchRefusals } from './batch-refusals.ts';
import { fromError, type Answer } from './http-answer.ts';
import { nextRequestId } from './ids.ts';
import { createEndpoints, type InferenceEndpoint } from './inference.ts';
import { RateLimits } from './limits.ts';
import { findModel, listModels } from './models.ts';
import { parsePatch, resolveOptions, type EmulatorOptions } from './options.ts';
import { PromptCacheModel, type PromptCacheStats } from './prompt-cache.ts';
import { rngFromSeed } from './random.ts';
import { StatsCounter, type EmulatorStats, type RequestRecord } from './stats.ts';

export type { EmulatorOptions } from './options.ts';
export type { EmulatorStats, RequestRecord } from './stats.ts';
export type { Batch, BatchStatus } from './batches.ts';
export type { BatchLineError } from './batch-input.ts';
export type { FileObject } from './files.ts';

export interface RunningEmulator {
  /** e.g. http://127.0.0.1:41234/v1 — what OPENAI_BASE_URL takes. */
  baseUrl: string;
  port: number;
  stats(): EmulatorStats;
  /** Every request as it arrived (time, path, X-Client-Request-Id) since `since` (epoch ms). */
  requests(since?: number): RequestRecord[];
  resetStats(): void;
  /** Changes options at runtime (host and port excepted); rpm/tpm/limitWindowMs changes start fresh, full buckets. */
  configure(patch: Partial<EmulatorOptions>): void;
  /** The options in force. */
  options(): EmulatorOptions;
  /** Batch API: a copy of every batch, oldest first (resetStats keeps them). */
  batches(): Batch[];
  /** Files API: every stored file (uploads and batch output/error files), oldest first. */
  files(): FileObject[];
  /** The prompt cache's counters (lookups, hits, cached tokens, overflowed requests, entries held); resetStats zeroes them. */
  promptCacheStats(): PromptCacheStats;
  /** Stops listening and ends every open connection, hung calls included. */
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'openai-version': '2020-10-01', 'openai-organization': 'org-emulator' };

function readBody(req: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
}

const UNPARSABLE = Symbol('unparsable');
function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return UNPARSABLE;
  }
}

const badJson = (): ErrorAnswer =>
  invalidRequest(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
  );

export async function startEmulator(opts: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  let options = resolveOptions(opts);
  const now = () => performance.now();
  const startedAt = now();
  let limits = new RateLimits(options, now);
  const faults = new FaultInjector(options.seed);
  const violations = new SchemaViolations();
  const stats = new StatsCounter();
  // The prompt cache draws its overflow machines from its own seeded PRNG, so fault decisions stay as they were.
  const promptCache = new PromptCacheModel(
    () => ({ machines: options.promptCacheMachines, ttlMs: options.promptCacheTtlMs, overflowPerMinute: options.promptCacheOverflowRpm }),
    rngFromSeed(options.seed ^ 0x5f3759df),
  );
  const endpoints = createEndpoints(promptCache, now, () => ({
    shaping: options.booleanFalseRate === undefined ? {} : { booleanFalseRate: options.booleanFalseRate },
    packDrop: { rate: options.packDropRate, seed: options.seed },
  }));
  const files = new FileStore();
  const batches = new BatchEngine({ files, endpoints, options: () => options, stats });
  const refusals = new BatchRefusals();
  const hung = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const configure = (patch: Partial<EmulatorOptions>): void => {
    const p = parsePatch(patch);
    const next = resolveOptions({ ...options, ...p, host: options.host, port: options.port });
    if ('rpm' in p || 'tpm' in p || 'limitWindowMs' in p) limits = new RateLimits(next, now);
    if ('seed' in p) {
      faults.reseed(next.seed);
      violations.reset();
    }
    if ('refuseUploads' in p) refusals.restart('uploads');
    if ('refuseBatchCreates' in p) refusals.restart('creates');
    // Other machines hold other prefixes: a new machine count starts from an empty cache.
    if ('promptCacheMachines' in p && p.promptCacheMachines !== options.promptCacheMachines) promptCache.clear();
    options = next;
  };

  // ---- answering ----------------------------------------------------------------------

  function write(res: ServerResponse, status: number, body: string | Buffer | readonly Buffer[], t0: number, extra?: Record<string, string>): void {
    if (res.destroyed || res.headersSent) return;
    const chunks = typeof body === 'string' || Buffer.isBuffer(body) ? undefined : body;
    const headers: Record<string, string | number> = {
      ...JSON_HEADERS,
      ...limits.headers(),
      'x-request-id': nextRequestId(),
      'openai-processing-ms': Math.round(now() - t0),
      'content-length': chunks ? chunks.reduce((n, c) => n + c.length, 0) : Buffer.byteLength(body as string | Buffer),
    };
    if (extra) Object.assign(headers, extra);
    res.writeHead(status, headers);
    if (!chunks) return void res.end(body);
    for (const c of chunks) res.write(c);
    res.end();
  }

  /** Answers after the configured latency (latency applies to every /v1 answer), or after `delay` when drawn already. */
  function answer(res: ServerResponse, status: number, body: string, t0: number, extra?: Record<string, string>, delay: number = faults.delayMs(options)): void {
    if (delay <= 0) return write(res, status, body, t0, extra);
    const timer = setTimeout(() => {
      timers.delete(timer);
      write(res, status, body, t0, extra);
    }, delay);
    timers.add(timer);
  }

  function answerError(res: ServerResponse, e: ErrorAnswer, t0: number): void {
    answer(res, e.status, JSON.stringify(e.body), t0, e.headers);
  }

  function hang(res: ServerResponse): void {
    hung.add(res);
    res.on('close', () => hung.delete(res));
  }

  // ---- endpoints ----------------------------------------------------------------------

  /** The full pipeline of an inference call. */
  function inference(endpoint: InferenceEndpoint, req: IncomingMessage, res: ServerResponse, raw: Buffer, t0: number): void {
    if (options.quotaExhausted) {
      stats.count('quotaRejected');
      return answerError(res, quotaExceeded(), t0);
    }
    const body = parseJson(raw);
    if (body === UNPARSABLE) {
      stats.count('badRequests');
      return answerError(res, badJson(), t0);
    }
    const prepared = endpoint.prepare(body);
    if (!prepared.ok) {
      stats.count('badRequests');
      return answerError(res, prepared.error, t0);
    }
    const admitted = limits.admit(prepared.chargeTokens);
    // The rate-limit headers describe the buckets as this call left them at admission (as a
    // provider's gateway sets them), not as they are when the answer leaves after its latency.
    const atAdmission = { ...limits.headers() };
    const withLimits = (e: ErrorAnswer): ErrorAnswer => ({ ...e, headers: { ...atAdmission, ...e.headers } });
    if (!admitted.ok) {
      // Every 429 for a rate limit, the never-passable "request too large" included; the
      // rejected call has taken one request from the bucket (limits.ts).
      stats.count('rateLimited');
      return answerError(
        res,
        withLimits(rateLimited(prepared.model, admitted.kind, admitted.limit, admitted.used, admitted.requested, admitted.retryAfterMs)),
        t0,
      );
    }
    const fault = faults.decide(options);
    switch (fault) {
      case 'error500':
        stats.count('serverErrors');
        return answerError(res, withLimits(serverError()), t0);
      case 'error503':
        stats.count('serverErrors');
        return answerError(res, withLimits(overloaded()), t0);
      case 'hang':
        stats.count('hung');
        return hang(res);
      case 'malformed': {
        stats.count('malformed');
        const delay = faults.delayMs(options);
        const full = prepared.serve({ processedInMs: delay }).body;
        return answer(res, 200, full.slice(0, Math.max(1, Math.floor(full.length / 2))), t0, atAdmission, delay);
      }
      case 'none': {
        // The latency is drawn first: the prompt cache holds this prompt's prefix once it is processed.
        const delay = faults.delayMs(options);
        const id = req.headers['x-client-request-id'];
        const breakSchema = violations.draw(options.schemaViolationRate, options.seed, typeof id === 'string' ? id : undefined, raw);
        const served = prepared.serve({ processedInMs: delay, breakSchema });
        if (served.schemaBroken) stats.count('schemaViolations');
        stats.served(typeof id === 'string' ? id : undefined, served.promptTokens, served.completionTokens, { name: prepared.model, cachedTokens: served.cachedTokens });
        return answer(res, 200, served.body, t0, atAdmission, delay);
      }
    }
  }

  /** /_emulator/*: control endpoints; no faults, not counted. */
  function control(method: string, path: string, raw: Buffer, res: ServerResponse, t0: number): void {
    if (method === 'GET' && path === '/_emulator/stats') return write(res, 200, JSON.stringify(stats.snapshot()), t0);
    if (method === 'GET' && path === '/_emulator/requests') return write(res, 200, JSON.stringify({ data: stats.requests() }), t0);
    if (method === 'GET' && path === '/_emulator/batches') return write(res, 200, JSON.stringify({ data: batches.all() }), t0);
    if (method === 'GET' && path === '/_emulator/prompt-cache') return write(res, 200, JSON.stringify(promptCache.stats()), t0);
    if (method === 'POST' && path === '/_emulator/reset') {
      stats.reset();
      promptCache.resetStats();
      return write(res, 200, '{"ok":true}', t0);
    }
    if (path === '/_emulator/config' && (method === 'GET' || method === 'POST')) {
      if (method === 'POST') {
        const body = parseJson(raw);
        try {
          configure((body ?? {}) as Partial<EmulatorOptions>);
        } catch (err) {
          const e = invalidRequest(body === UNPARSABLE ? 'body is not valid JSON' : (err as Error).message);
          return write(res, 400, JSON.stringify(e.body), t0);
        }
      }
      return write(res, 200, JSON.stringify(options), t0);
    }
    const e = notFound(method, path);
    write(res, e.status, JSON.stringify(e.body), t0);
  }

  function route(req: IncomingMessage, res: ServerResponse, raw: Buffer, t0: number): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);

    if (path.startsWith('/_emulator/')) return control(method, path, raw, res, t0);

    const clientId = req.headers['x-client-request-id'];
    stats.request(path, typeof clientId === 'string' ? clientId : undefined);
    if (inOutage(options.outages, now() - startedAt)) {
      stats.count('outageErrors');
      return answerError(res, overloaded(), t0);
    }

    if (method === 'POST' && path === '/v1/chat/completions') return inference(endpoints['/v1/chat/completions'], req, res, raw, t0);
    if (method === 'POST' && path === '/v1/embeddings') return inference(endpoints['/v1/embeddings'], req, res, raw, t0);
    if (method === 'GET' && path === '/v1/models') return answer(res, 200, JSON.stringify(listModels()), t0);
    if (method === 'GET' && path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      const model = findModel(id);
      if (model) return answer(res, 200, JSON.stringify(model), t0);
      stats.count('badRequests');
      return answerError(
        res,
        { status: 404, body: { error: { message: `The model '${id}' does not exist`, type: 'invalid_request_error', param: 'model', code: 'model_not_found' } } },
        t0,
      );
    }
    // Files and Batches: no latency, limits or faults (only outages, above).
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    if (path === '/v1/files' || path.startsWith('/v1/files/')) {
      const contentType = req.headers['content-type'];
      void filesRoute({ method, path, query, contentType, raw }, files, stats, () => refusals.upload(options)).then(
        (a) => sendApi(res, a, method, path, t0),
        (err: unknown) => sendApi(res, { status: 500, body: JSON.stringify(serverError().body) }, method, path, t0, err),
      );
      return;
    }
    if (path === '/v1/batches' || path.startsWith('/v1/batches/')) {
      if (method === 'POST' && path === '/v1/batches') {
        const body = parseJson(raw) as { input_file_id?: unknown } | undefined;
        const fault = refusals.create(options, typeof body === 'object' && body && typeof body.input_file_id === 'string' ? body.input_file_id : undefined);
        if (fault) {
          stats.count('batchCreatesRefused');
          return sendApi(res, fromError(fault), method, path, t0);
        }
      }
      try {
        return sendApi(res, batchesRoute(method, path, query, raw, batches), method, path, t0);
      } catch (err) {
        return sendApi(res, { status: 500, body: JSON.stringify(serverError().body) }, method, path, t0, err);
      }
    }

    stats.count('badRequests');
    answerError(res, notFound(method, path), t0);
  }

  /** Writes a Files/Batches answer at once; undefined = no such route. */
  function sendApi(res: ServerResponse, a: Answer | undefined, method: string, path: string, t0: number, err?: unknown): void {
    if (err !== undefined) console.error(`emulator: ${method} ${path} failed:`, err);
    const answer = a ?? { status: 404, body: JSON.stringify(notFound(method, path).body) };
    if (answer.status === 400 || answer.status === 404) stats.count('badRequests');
    write(res, answer.status, answer.body, t0, answer.headers);
  }

  const server = createServer((req, res) => {
    const t0 = now();
    readBody(req, (raw) => route(req, res, raw, t0));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;

  let closing: Promise<void> | undefined;
  return {
    baseUrl: `http://${hostForUrl}:${port}/v1`,
    port,
    stats: () => stats.snapshot(),
    requests: (since?: number) => stats.requests(since),
    resetStats: () => {
      stats.reset();
      promptCache.resetStats();
    },
    configure,
    options: () => ({ ...options, outages: [...options.outages] }),
    batches: () => batches.all(),
    files: () => files.all(),
    promptCacheStats: () => promptCache.stats(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        batches.close();
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        for (const res of hung) res.destroy();
        hung.clear();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
