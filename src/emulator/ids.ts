// Object ids in OpenAI's formats: request ids (`req_…`), file ids (`file-…`), batch ids
// (`batch_…`) and batch request ids (`batch_req_…`). A random per-process prefix and a
// counter keep them unique and cheap (a batch mints one per line).
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` random base-62 characters. */
export function randomToken(n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[bytes[i] % 62];
  return s;
}

let requestCounter = 0;
const requestIdPrefix = randomBytes(4).toString('hex');
export function nextRequestId(): string {
  return `req_${requestIdPrefix}${(requestCounter++).toString(16).padStart(24, '0')}`;
}

/** e.g. `file-3kQ8…` (22 characters after the dash, as OpenAI's). */
export const newFileId = (): string => `file-${randomToken(22)}`;

/** e.g. `batch_6a1f…` (32 hex digits). */
export const newBatchId = (): string => `batch_${randomBytes(16).toString('hex')}`;

let lineCounter = 0;
const linePrefix = randomBytes(4).toString('hex');
/** The `id` of one line of a batch's output or error file. */
export function nextBatchRequestId(): string {
  return `batch_req_${linePrefix}${(lineCounter++).toString(16).padStart(24, '0')}`;
}
