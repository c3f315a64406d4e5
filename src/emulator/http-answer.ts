// What a route handler answers, before the server adds its common headers.
import type { ErrorAnswer } from './errors.ts';

export interface Answer {
  status: number;
  /** Chunks are written in turn (a large file is never copied into one Buffer). */
  body: string | Buffer | readonly Buffer[];
  headers?: Record<string, string>;
}

export const json = (value: unknown, status = 200): Answer => ({ status, body: JSON.stringify(value) });

export const fromError = (e: ErrorAnswer): Answer => ({ status: e.status, body: JSON.stringify(e.body), headers: e.headers });

/** A path segment decoded, or as it is when its %-escapes are malformed. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
