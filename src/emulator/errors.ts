// OpenAI error bodies: `{"error":{"message","type","param","code"}}`, with the texts
// the real API uses for the cases the emulator produces.
import { type LimitKind } from './limits.ts';
import { formatGoDuration } from '../domain/go-duration.ts';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface ErrorAnswer {
  status: number;
  body: OpenAIErrorBody;
  /** Extra headers (retry-after, x-should-retry). */
  headers?: Record<string, string>;
}

export function errorBody(message: string, type: string, param: string | null = null, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): ErrorAnswer {
  return { status: 400, body: errorBody(message, 'invalid_request_error', param, code) };
}

export function notFound(method: string, path: string): ErrorAnswer {
  return {
    status: 404,
    body: errorBody(`Invalid URL (${method} ${path})`, 'invalid_request_error', null, null),
  };
}

export function serverError(): ErrorAnswer {
  return {
    status: 500,
    body: errorBody('The server had an error while processing your request. Sorry about that!', 'server_error'),
  };
}

export function overloaded(): ErrorAnswer {
  return {
    status: 503,
    body: errorBody('The engine is currently overloaded, please try again later', 'server_error'),
  };
}

export function quotaExceeded(): ErrorAnswer {
  return {
    status: 429,
    body: errorBody(
      'You exceeded your current quota, please check your plan and billing details.',
      'insufficient_quota',
      null,
      'insufficient_quota',
    ),
    headers: { 'x-should-retry': 'false' },
  };
}

const LIMIT_NAME: Record<LimitKind, string> = { requests: 'requests per min (RPM)', tokens: 'tokens per min (TPM)' };

export function rateLimited(model: string, kind: LimitKind, limit: number, used: number, requested: number, retryAfterMs: number): ErrorAnswer {
  if (!Number.isFinite(retryAfterMs)) {
    // The request alone exceeds the limit: retrying cannot help.
    return {
      status: 429,
      body: errorBody(
        `Request too large for ${model} in organization org-emulator on ${LIMIT_NAME[kind]}: Limit ${limit}, Requested ${requested}. The input or output tokens must be reduced in order to run successfully.`,
        kind,
        null,
        'rate_limit_exceeded',
      ),
      headers: { 'x-should-retry': 'false' },
    };
  }
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  return {
    status: 429,
    body: errorBody(
      `Rate limit reached for ${model} in organization org-emulator on ${LIMIT_NAME[kind]}: Limit ${limit}, Used ${used}, Requested ${requested}. Please try again in ${formatGoDuration(ms)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      kind,
      null,
      'rate_limit_exceeded',
    ),
    headers: { 'retry-after': String(Math.ceil(ms / 1000)), 'retry-after-ms': String(ms) },
  };
}
