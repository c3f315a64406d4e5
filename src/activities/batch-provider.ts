// What the batch activities share about the provider (batch-submit.ts, batch-collect.ts,
// batch-api.ts): which of its errors stop an activity, and reading back an input file it holds.
import { ApplicationFailure } from '@temporalio/activity';
import { APIError } from 'openai';
import type { BatchClient } from '../llm/batch-client.ts';
import { keyOfInputLine } from '../cache/batch-cache.ts';
import type { RequestFormats } from './request-formats.ts';

/** 5xx, timeouts, connection errors and rate limits are the provider's trouble: retry. Other 4xx are ours: stop and say why. */
export function rethrow(what: string, e: unknown): never {
  if (e instanceof APIError && e.status !== undefined && e.status >= 400 && e.status < 500 && ![408, 409, 429].includes(e.status)) {
    throw ApplicationFailure.nonRetryable(`${what}: the provider refused it (HTTP ${e.status}): ${e.message}`, 'BatchRefused');
  }
  throw e;
}

function customIdOf(line: string): string {
  try {
    const id = (JSON.parse(line) as { custom_id?: unknown }).custom_id;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}

/**
 * The custom_ids of a submission's input file, by 1-based line, read back from the provider;
 * with `keys`, each line's cache key too; with `formats` (--schema), what each line asked its answer to be.
 */
export async function submittedIds(client: BatchClient, inputFileId: string, keys?: { key: string; url: string }[], formats?: RequestFormats): Promise<string[]> {
  const ids: string[] = [];
  for await (const line of client.lines(inputFileId)) {
    // Our own lines start with the custom_id: read it without parsing the whole line.
    const m = /^\{"custom_id":("(?:[^"\\]|\\.)*")/.exec(line);
    ids.push(m ? (JSON.parse(m[1]!) as string) : customIdOf(line));
    keys?.push(keyOfInputLine(line));
    formats?.addLine(line);
  }
  return ids;
}
