// The Files API routes: POST /v1/files (multipart: `purpose` and `file`), GET /v1/files,
// GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}. Multipart bodies
// are parsed by the platform's own Request.formData().
import { checkBatchUpload } from './batch-input.ts';
import { errorBody, invalidRequest, type ErrorAnswer } from './errors.ts';
import { UPLOAD_PURPOSES, type FileObject, type FileStore, type UploadPurpose } from './files.ts';
import { decodeSegment, fromError, json, type Answer } from './http-answer.ts';
import { pageOf, pageQuery } from './list-page.ts';
import type { StatsCounter } from './stats.ts';

/** OpenAI's cap on any uploaded file. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

export function fileNotFound(id: string): ErrorAnswer {
  return { status: 404, body: errorBody(`No such File object: ${id}`, 'invalid_request_error', 'id', null) };
}

export interface FilesRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  raw: Buffer;
}

/** The answer of a /v1/files route, or undefined when none matches. */
export async function filesRoute(req: FilesRequest, files: FileStore, stats: StatsCounter, refuseBatchUpload?: () => ErrorAnswer | undefined): Promise<Answer | undefined> {
  const { method, path } = req;
  if (path === '/v1/files') {
    if (method === 'POST') return upload(req, files, stats, refuseBatchUpload);
    if (method === 'GET') return list(req.query, files);
    return undefined;
  }
  const m = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
  if (!m) return undefined;
  const id = decodeSegment(m[1]);
  const content = m[2] !== undefined;
  if (method === 'GET') {
    const stored = files.get(id);
    if (!stored) return fromError(fileNotFound(id));
    if (!content) return json(stored.file);
    return { status: 200, body: stored.chunks, headers: { 'content-type': 'application/octet-stream' } };
  }
  if (method === 'DELETE' && !content) {
    if (!files.delete(id)) return fromError(fileNotFound(id));
    return json({ id, object: 'file', deleted: true });
  }
  return undefined;
}

async function upload(req: FilesRequest, files: FileStore, stats: StatsCounter, refuseBatchUpload?: () => ErrorAnswer | undefined): Promise<Answer> {
  const ct = req.contentType ?? '';
  if (!/^multipart\/form-data/i.test(ct)) {
    return fromError(invalidRequest(`Invalid content type: '${ct}'. A file upload must be sent as multipart/form-data.`, null, 'invalid_content_type'));
  }
  let form: FormData;
  try {
    form = await new Request('http://emulator/v1/files', { method: 'POST', headers: { 'content-type': ct }, body: req.raw }).formData();
  } catch (err) {
    return fromError(invalidRequest(`Could not parse the multipart/form-data body: ${(err as Error).message}`));
  }
  const purpose = form.get('purpose');
  if (purpose === null) return fromError(invalidRequest("Missing required parameter: 'purpose'.", 'purpose', 'missing_required_parameter'));
  if (typeof purpose !== 'string' || !(UPLOAD_PURPOSES as readonly string[]).includes(purpose)) {
    return fromError(
      invalidRequest(`'${String(purpose)}' is not one of [${UPLOAD_PURPOSES.map((p) => `'${p}'`).join(', ')}] - 'purpose'`, 'purpose', 'invalid_value'),
    );
  }
  const file = form.get('file');
  if (file === null) return fromError(invalidRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter'));
  if (typeof file === 'string') return fromError(invalidRequest("Invalid 'file': expected a file upload, got a text field.", 'file', 'invalid_type'));
  if (file.size > MAX_FILE_BYTES) {
    return fromError(invalidRequest(`File is too large: ${file.size} bytes. The maximum size of a file is 512 MB.`, 'file', 'file_too_large'));
  }
  const data = Buffer.from(await file.arrayBuffer());
  const filename = file.name || 'upload';
  if (purpose === 'batch') {
    const refused = checkBatchUpload(filename, data);
    if (refused) return fromError(refused);
    // The injected fault (batch-refusals.ts): a file that passed the checks is refused anyway.
    const fault = refuseBatchUpload?.();
    if (fault) {
      stats.count('uploadsRefused');
      return fromError(fault);
    }
  }
  const created = files.add(filename, purpose as UploadPurpose, data);
  stats.count('filesUploaded');
  return json(created);
}

function list(query: URLSearchParams, files: FileStore): Answer {
  const q = pageQuery(query, 10_000, 10_000);
  if (!q.ok) return fromError(q.error);
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') return fromError(invalidRequest(`Invalid value: '${order}'. Supported values are: 'asc' and 'desc'.`, 'order', 'invalid_value'));
  const purpose = query.get('purpose');
  let all: FileObject[] = files.all();
  if (purpose) all = all.filter((f) => f.purpose === purpose);
  if (order === 'desc') all.reverse();
  const page = pageOf(all, q.limit, q.after);
  return page.ok ? json(page.page) : fromError(page.error);
}
