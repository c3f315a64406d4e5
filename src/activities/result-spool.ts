// Batch output files come back in any order. Writing them into the store in that order is
// about 4× slower than in input order (each transaction touches pages all over the table),
// so collection spools the lines: bucketed by their position in the submitted file into
// temp files, then handed back bucket by bucket, each sorted. Input order, with memory
// bounded by one bucket whatever the size of the file.
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const FLUSH_CHARS = 1 << 20;

export class ResultSpool {
  private readonly dir: string;
  private readonly bucketSize: number;
  private readonly buffers = new Map<number, string>();
  private buckets = 0;

  constructor(dir: string, bucketSize = 5000) {
    this.dir = dir;
    this.bucketSize = bucketSize;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }

  /** A line and its position (0-based) in the submitted file. */
  add(index: number, line: string): void {
    const b = Math.floor(index / this.bucketSize);
    this.buckets = Math.max(this.buckets, b + 1);
    const text = (this.buffers.get(b) ?? '') + `${index}\t${line}\n`;
    if (text.length < FLUSH_CHARS) this.buffers.set(b, text);
    else {
      appendFileSync(this.file(b), text);
      this.buffers.delete(b);
    }
  }

  /** Every line added, in position order. */
  *sorted(): Iterable<string> {
    for (let b = 0; b < this.buckets; b++) {
      let text = this.buffers.get(b) ?? '';
      this.buffers.delete(b);
      try {
        text = readFileSync(this.file(b), 'utf8') + text;
      } catch {
        // nothing was flushed for this bucket
      }
      const rows = text.split('\n').filter((l) => l !== '').map((l) => {
        const tab = l.indexOf('\t');
        return { index: Number(l.slice(0, tab)), line: l.slice(tab + 1) };
      });
      rows.sort((x, y) => x.index - y.index);
      for (const r of rows) yield r.line;
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private file(bucket: number): string {
    return join(this.dir, `bucket-${bucket}.tsv`);
  }
}
