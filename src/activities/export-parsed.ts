// `results RUN --parsed FILE [--format jsonl|csv]`: one `{custom_id, ...parsed fields}` record
// per succeeded item, in input order, read from the store page by page (bounded memory).
// CSV needs its columns first: a first pass collects the field names (custom_id first, then in
// the order they first appear), the second writes the rows.
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { csvCell, parsedRecord } from '../domain/parsed-answer.ts';
import type { ItemStore } from '../store/item-store.ts';

export type ParsedFormat = 'jsonl' | 'csv';

async function* records(store: ItemStore, runId: string): AsyncIterable<Record<string, unknown>> {
  for await (const item of store.items(runId, 2000)) {
    if (item.status !== 'succeeded') continue;
    yield parsedRecord(item.customId, item.responseJson === undefined ? undefined : JSON.parse(item.responseJson));
  }
}

/** Writes the parsed records; returns how many. */
export async function exportParsed(store: ItemStore, runId: string, path: string, format: ParsedFormat): Promise<number> {
  let columns: string[] | undefined;
  if (format === 'csv') {
    const seen = new Set<string>(['custom_id']);
    for await (const r of records(store, runId)) for (const k of Object.keys(r)) seen.add(k);
    columns = [...seen];
  }
  mkdirSync(dirname(path), { recursive: true });
  const out = createWriteStream(path, { encoding: 'utf8' });
  let n = 0;
  let text = columns ? stringify([columns]) : '';
  try {
    for await (const r of records(store, runId)) {
      n++;
      text += columns ? stringify([columns.map((c) => csvCell(r[c]))]) : `${JSON.stringify(r)}\n`;
      if (text.length >= 64 * 1024) {
        if (!out.write(text)) await once(out, 'drain');
        text = '';
      }
    }
    if (text !== '' && !out.write(text)) await once(out, 'drain');
  } finally {
    out.end();
    await once(out, 'close');
  }
  return n;
}
