// Bulk writes into PostgreSQL by COPY … FROM STDIN (text format): rows are encoded and
// streamed in ~64 KiB pieces with backpressure, so a large batch never becomes one string.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyValue = string | number | null | undefined;

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One field in COPY's text format: `\N` for null, backslash escapes for the delimiters. */
export function copyField(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!);
}

const PIECE = 64 * 1024;

function* encode(rows: Iterable<CopyValue[]>): Generator<string> {
  let piece = '';
  for (const row of rows) {
    piece += `${row.map(copyField).join('\t')}\n`;
    if (piece.length >= PIECE) {
      yield piece;
      piece = '';
    }
  }
  if (piece) yield piece;
}

/** COPYs the rows into `table (columns)` on this connection; resolves with the rows copied. */
export async function copyRows(client: PoolClient, table: string, columns: readonly string[], rows: Iterable<CopyValue[]>): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(encode(rows)), stream);
  return stream.rowCount;
}
