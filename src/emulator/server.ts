// The emulator's HTTP server (node:http): routing, the per-call pipeline
// (outage → quota → validation → rate limit → injected fault → serve), headers on every
// answer, and the /_emulator/* control endpoints used by tests and benchmarks.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { countChatPromptTokens, countEmbeddingInputTokens, DEFAULT_MAX_OUTPUT_TOKENS, maxOutputTokens } from '../llm/tokens.ts';
import { buildChatCompletion, PromptCache, validateChatRequest } from './chat.ts';
import { buildEmbeddings, validateEmbeddingsRequest } from './embeddings.ts';
import { invalidRequest, notFound, overloaded, quotaExceeded, rateLimited, serverError, type ErrorAnswer } from './errors.ts';
import { FaultInjector, inOutage } from './faults.ts';
import { RateLimits } from './limits.ts';
import { findModel, listModels } from './models.ts';
import { parsePatch, resolveOptions, type EmulatorOptions } from './options.ts';
import { StatsCounter, type EmulatorStats, type RequestRecord } from './stats.ts';

export type { EmulatorOptions } from './options.ts';
export type { EmulatorStats, RequestRecord } from './stats.ts';

export interface RunningEmulator {
  /** e.g. http://127.0.0.1:41234/v1 — what OPENAI_BASE_URL takes. */
  baseUrl: string;
  port: number;
  stats(): EmulatorStats;
  /** Every request as it arrived (time, path, X-Client-Request-Id) since `since` (epoch ms). */
  requests(since?: number): RequestRecord[];
  resetStats(): void;
  /** Changes options at runtime (host and port excepted); rpm/tpm changes start fresh, full buckets. */
  configure(patch: Partial<EmulatorOptions>): void;
  /** The options in force. */
  options(): EmulatorOptions;
  /** Stops listening and ends every open connection, hung calls included. */
  close(): Promise<void>;
}

/** What a served inference call produced, for the stats. */
interface Served {
  body: string;
  promptTokens: number;
  completionTokens: number;
}

/** An inference endpoint: validates, says what to charge, and serves. */
interface InferenceEndpoint {
  /** Parses and validates the JSON body; returns the work to do or a 400. */
  prepare(body: unknown): { ok: true; model: string; promptTokens: number; chargeTokens: number; serve: () => Served } | { ok: false; error: ErrorAnswer };
}

const JSON_HEADERS = { 'content-type': 'application/json', 'openai-version': '2020-10-01', 'openai-organization': 'org-emulator' };

let requestCounter = 0;
const requestIdPrefix = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
function nextRequestId(): string {
  return `req_${requestIdPrefix}${(requestCounter++).toString(16).padStart(24, '0')}`;
}

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
  const stats = new StatsCounter();
  const promptCache = new PromptCache();
  const hung = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const configure = (patch: Partial<EmulatorOptions>): void => {
    const p = parsePatch(patch);
    const next = resolveOptions({ ...options, ...p, host: options.host, port: options.port });
    if ('rpm' in p || 'tpm' in p) limits = new RateLimits(next, now);
    if ('seed' in p) faults.reseed(next.seed);
    options = next;
  };

  // ---- answering ----------------------------------------------------------------------

  function write(res: ServerResponse, status: number, body: string, t0: number, extra?: Record<string, string>): void {
    if (res.destroyed || res.headersSent) return;
    const headers: Record<string, string | number> = {
      ...JSON_HEADERS,
      ...limits.headers(),
      'x-request-id': nextRequestId(),
      'openai-processing-ms': Math.round(now() - t0),
      'content-length': Buffer.byteLength(body),
    };
    if (extra) Object.assign(headers, extra);
    res.writeHead(status, headers);
    res.end(body);
  }

  /** Answers after the configured latency (latency applies to every /v1 answer). */
  function answer(res: ServerResponse, status: number, body: string, t0: number, extra?: Record<string, string>): void {
    const delay = faults.delayMs(options);
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

  const chat: InferenceEndpoint = {
    prepare(body) {
      const v = validateChatRequest(body);
      if (!v.ok) return v;
      const req = v.req;
      const promptTokens = countChatPromptTokens(req.model, req.messages);
      return {
        ok: true,
        model: req.model,
        promptTokens,
        chargeTokens: promptTokens + maxOutputTokens(req, DEFAULT_MAX_OUTPUT_TOKENS),
        serve: () => {
          const cachedTokens = promptCache.lookup(req.model, req.messages, promptTokens);
          const completion = buildChatCompletion(req, { promptTokens, cachedTokens });
          return { body: JSON.stringify(completion), promptTokens, completionTokens: completion.usage.completion_tokens };
        },
      };
    },
  };

  const embeddings: InferenceEndpoint = {
    prepare(body) {
      const v = validateEmbeddingsRequest(body);
      if (!v.ok) return v;
      const req = v.req;
      const promptTokens = countEmbeddingInputTokens(req.model, req.input);
      return {
        ok: true,
        model: req.model,
        promptTokens,
        chargeTokens: promptTokens,
        serve: () => ({ body: JSON.stringify(buildEmbeddings(req, promptTokens)), promptTokens, completionTokens: 0 }),
      };
    },
  };

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
    if (!admitted.ok) {
      stats.count('rateLimited');
      return answerError(
        res,
        rateLimited(prepared.model, admitted.kind, admitted.limit, admitted.used, admitted.requested, admitted.retryAfterMs),
        t0,
      );
    }
    const fault = faults.decide(options);
    switch (fault) {
      case 'error500':
        stats.count('serverErrors');
        return answerError(res, serverError(), t0);
      case 'error503':
        stats.count('serverErrors');
        return answerError(res, overloaded(), t0);
      case 'hang':
        stats.count('hung');
        return hang(res);
      case 'malformed': {
        stats.count('malformed');
        const full = prepared.serve().body;
        return answer(res, 200, full.slice(0, Math.max(1, Math.floor(full.length / 2))), t0);
      }
      case 'none': {
        const served = prepared.serve();
        const id = req.headers['x-client-request-id'];
        stats.served(typeof id === 'string' ? id : undefined, served.promptTokens, served.completionTokens);
        return answer(res, 200, served.body, t0);
      }
    }
  }

  /** /_emulator/*: control endpoints; no faults, not counted. */
  function control(method: string, path: string, raw: Buffer, res: ServerResponse, t0: number): void {
    if (method === 'GET' && path === '/_emulator/stats') return write(res, 200, JSON.stringify(stats.snapshot()), t0);
    if (method === 'GET' && path === '/_emulator/requests') return write(res, 200, JSON.stringify({ data: stats.requests() }), t0);
    if (method === 'POST' && path === '/_emulator/reset') {
      stats.reset();
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

    if (method === 'POST' && path === '/v1/chat/completions') return inference(chat, req, res, raw, t0);
    if (method === 'POST' && path === '/v1/embeddings') return inference(embeddings, req, res, raw, t0);
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
    // /v1/files and /v1/batches (Batch API) are routed here once they exist:
    //   if (path === '/v1/files' || path.startsWith('/v1/files/')) return files(...);
    //   if (path === '/v1/batches' || path.startsWith('/v1/batches/')) return batches(...);

    stats.count('badRequests');
    answerError(res, notFound(method, path), t0);
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
    resetStats: () => stats.reset(),
    configure,
    options: () => ({ ...options, outages: [...options.outages] }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
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
