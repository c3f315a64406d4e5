// Streams an input file line by line and validates each line: the one place that knows
// the input formats, used by the staging activity and by `run --strict` in the CLI.
import type { RejectRecord } from '../domain/run-types.ts';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { extname } from 'node:path';
import { detectJsonlFormat, parseInputLine, type LineResult, type PromptDefaults } from '../domain/schemas.ts';
import type { InputFormat } from '../domain/run-types.ts';

export interface InputLine {
  /** 1-based line number in the file. */
  lineNumber: number;
  result: LineResult;
}

/** Reads lines with their 1-based numbers; a trailing newline does not make an extra line. */
export async function* readLines(path: string): AsyncGenerator<{ lineNumber: number; text: string }> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const text of rl) yield { lineNumber: ++lineNumber, text };
}

/** Decides the format: `.txt` is prompts; `.jsonl` is judged by its first non-empty line. */
export async function detectFormat(path: string): Promise<InputFormat> {
  if (extname(path).toLowerCase() === '.txt') return 'prompts';
  for await (const { text } of readLines(path)) {
    if (text.trim() === '') continue;
    return detectJsonlFormat(text) ?? 'batch';
  }
  return 'batch';
}

/** Every line of the file, validated; nothing is skipped, so lines = accepted + rejected. */
export async function* readInput(path: string, defaults: PromptDefaults): AsyncGenerator<InputLine> {
  const format = await detectFormat(path);
  const json = extname(path).toLowerCase() !== '.txt';
  for await (const { lineNumber, text } of readLines(path)) {
    yield { lineNumber, result: parseInputLine(format, json, text, lineNumber, defaults) };
  }
}

/** A rejected line as written to rejects.jsonl. */
export type { RejectRecord };

/** "input.jsonl:1042: body.messages is required" */
export const describeReject = (file: string, r: RejectRecord): string =>
  `${file}:${r.line}: ${r.message}${r.custom_id ? ` (custom_id ${r.custom_id})` : ''} [${r.code}]`;

/** Non-blank lines of a file, counted on raw bytes (fast: no decoding), for the run's summary. */
export async function countLines(path: string): Promise<number> {
  let lines = 0;
  let content = false; // the current line has something besides \r
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 10) {
        if (content) lines++;
        content = false;
      } else if (b !== 13 && b !== 32) content = true;
    }
  }
  return content ? lines + 1 : lines;
}
