// Bulk writes into PostgreSQL by COPY … FROM STDIN (text format): rows are encoded and
// written in ~64 KiB pieces, waiting for 'drain' when the connection is behind, so a large
// batch never becomes one string.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
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

/** COPYs the rows into `table (columns)` on this connection; resolves with the rows copied. */
export async function copyRows(client: PoolClient, table: string, columns: readonly string[], rows: Iterable<CopyValue[]>): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  const done = finished(stream);
  // A failed COPY rejects `done`; its rejection is awaited below, after the writes stop.
  done.catch(() => {});
  try {
    let piece = '';
    for (const row of rows) {
      piece += `${row.map(copyField).join('\t')}\n`;
      if (piece.length >= PIECE) {
        if (!stream.write(piece)) await once(stream, 'drain');
        piece = '';
      }
    }
    stream.end(piece);
  } catch (e) {
    stream.destroy(e as Error);
  }
  await done;
  return stream.rowCount;
}
