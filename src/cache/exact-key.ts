// The exact cache's key as stored: a SHA-256 of the canonical request (domain/cache-key.ts).
import { createHash } from 'node:crypto';
import { canonicalRequest } from '../domain/cache-key.ts';

export function exactCacheKey(url: string, body: unknown): string {
  return createHash('sha256').update(canonicalRequest(url, body)).digest('hex');
}
