// The Batches API routes: POST /v1/batches, GET /v1/batches (newest first, cursor pages),
// GET /v1/batches/{id}, POST /v1/batches/{id}/cancel.
import type { BatchEngine } from './batches.ts';
import { invalidRequest } from './errors.ts';
import { decodeSegment, fromError, json, type Answer } from './http-answer.ts';
import { pageOf, pageQuery } from './list-page.ts';

const BAD_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";

/** The answer of a /v1/batches route, or undefined when none matches. */
export function batchesRoute(method: string, path: string, query: URLSearchParams, raw: Buffer, engine: BatchEngine): Answer | undefined {
  if (path === '/v1/batches') {
    if (method === 'POST') {
      let body: unknown;
      try {
        body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
      } catch {
        return fromError(invalidRequest(BAD_JSON));
      }
      const r = engine.create(body);
      return r.ok ? json(r.value) : fromError(r.error);
    }
    if (method === 'GET') {
      const q = pageQuery(query, 20, 100);
      if (!q.ok) return fromError(q.error);
      const page = pageOf(engine.list(), q.limit, q.after);
      return page.ok ? json(page.page) : fromError(page.error);
    }
    return undefined;
  }
  const m = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
  if (!m) return undefined;
  const id = decodeSegment(m[1]);
  if (method === 'GET' && m[2] === undefined) {
    const r = engine.get(id);
    return r.ok ? json(r.value) : fromError(r.error);
  }
  if (method === 'POST' && m[2] !== undefined) {
    const r = engine.cancel(id);
    return r.ok ? json(r.value) : fromError(r.error);
  }
  return undefined;
}
