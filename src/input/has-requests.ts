// Whether an input file holds any request at all: a file that is empty, or only blank lines,
// is refused by the CLI at once (exit 2) instead of being staged into a run of nothing.
import { readLines } from './reader.ts';

/** True at the first non-blank line (a huge file is not read past it). */
export async function hasRequests(path: string): Promise<boolean> {
  for await (const { text } of readLines(path)) {
    if (text.replace(/^\uFEFF/, '').trim() !== '') return true;
  }
  return false;
}

/** The usage error for a file without requests. */
export const noRequestsMessage = (file: string): string => `${file} has no requests (the file is empty or holds only blank lines)`;
