// countLines: the run summary's request count, on raw bytes.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countLines } from '../../src/input/reader.ts';

const file = (text: string): string => {
  const p = join(mkdtempSync(join(tmpdir(), 'count-')), 'in.jsonl');
  writeFileSync(p, text);
  return p;
};

describe('countLines', () => {
  it('counts non-blank lines with LF or CRLF endings, with or without a final newline', async () => {
    expect(await countLines(file('a\nb\nc\n'))).toBe(3);
    expect(await countLines(file('a\r\n\r\nb\n\n  \nc'))).toBe(3);
    expect(await countLines(file(''))).toBe(0);
    expect(await countLines(file(`${'{"x":1}\n'.repeat(100_000)}`))).toBe(100_000);
  });
});
