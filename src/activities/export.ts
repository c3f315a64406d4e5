// Writes a run's results in the OpenAI Batch output format, in input order: successes to
// output.jsonl, failures and items never done to errors.jsonl, so that every accepted
// custom_id is in exactly one of the two files. Streams page by page (bounded memory).
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { ItemStore, StoredItem } from '../store/item-store.ts';
import { notDoneFor, type NotDone } from '../domain/run-types.ts';
import { llmBatchMarkerJson } from './output-marker.ts';

export interface ExportResult {
  outputPath: string;
  errorsPath: string;
  succeeded: number;
  failed: number;
  notDone: number;
}

/** The output line id: stable for a (run, custom_id), in OpenAI's `batch_req_` style. */
const lineId = (runId: string, seq: number): string => `batch_req_${runId}_${seq}`;

export type { NotDone };

export const NOT_PROCESSED: NotDone = notDoneFor('completed');

/**
 * One line of the OpenAI Batch output format. The stored response body is spliced in as
 * the JSON text it was stored as, never parsed and re-serialised (the export's main cost).
 * A cache hit's line adds a top-level `llm_batch` marker after OpenAI's fields (where the
 * answer came from, what it saved): its body keeps the original call's usage, so whoever
 * sums usage over the file can tell the lines that cost nothing.
 */
export function outputLine(runId: string, item: StoredItem, notDone: NotDone): string {
  const body = item.responseJson ?? 'null';
  const response = item.statusCode !== undefined ? `{"status_code":${item.statusCode},"request_id":${JSON.stringify(item.requestId ?? null)},"body":${body}}` : 'null';
  const error =
    item.status === 'succeeded'
      ? null
      : item.status === 'failed'
        ? { code: item.error?.code ?? 'failed', message: item.error?.message ?? 'the request failed' }
        : { code: notDone.code, message: notDone.message };
  // llm-batch's own notes (a cache hit, the route) after OpenAI's fields.
  const marker = llmBatchMarkerJson(item);
  const extra = marker === undefined ? '' : `,"llm_batch":${marker}`;
  return `{"id":${JSON.stringify(lineId(runId, item.seq))},"custom_id":${JSON.stringify(item.customId)},"response":${response},"error":${JSON.stringify(error)}${extra}}`;
}

/** Lines are written ~64 KiB at a time: one write (and one wait for 'drain') per line was a third of the export's time. */
const PIECE = 64 * 1024;

async function writePiece(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (text !== '' && !stream.write(text)) await once(stream, 'drain');
}

export async function exportResults(
  store: ItemStore,
  runId: string,
  outputPath: string,
  errorsPath: string,
  notDone: NotDone = NOT_PROCESSED,
  onProgress: (items: number) => void = () => {},
): Promise<ExportResult> {
  mkdirSync(dirname(outputPath), { recursive: true });
  mkdirSync(dirname(errorsPath), { recursive: true });
  const out = createWriteStream(outputPath);
  const err = createWriteStream(errorsPath);
  const result: ExportResult = { outputPath, errorsPath, succeeded: 0, failed: 0, notDone: 0 };
  let outText = '';
  let errText = '';
  try {
    for await (const item of store.items(runId, 2000)) {
      if (item.status === 'succeeded') {
        result.succeeded++;
        outText += `${outputLine(runId, item, notDone)}\n`;
        if (outText.length >= PIECE) {
          await writePiece(out, outText);
          outText = '';
        }
      } else {
        if (item.status === 'failed') result.failed++;
        else result.notDone++;
        errText += `${outputLine(runId, item, notDone)}\n`;
        if (errText.length >= PIECE) {
          await writePiece(err, errText);
          errText = '';
        }
      }
      const n = result.succeeded + result.failed + result.notDone;
      if (n % 10_000 === 0) onProgress(n);
    }
    await writePiece(out, outText);
    await writePiece(err, errText);
  } finally {
    out.end();
    err.end();
    await Promise.all([once(out, 'close'), once(err, 'close')]);
  }
  return result;
}
