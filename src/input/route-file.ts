// Reads a --route rules file (YAML, or JSON, which YAML reads too) and validates it with the
// schema of domain/route-rules.ts. Every problem names the file, the line and the field:
// "rules.yaml:12: rules[2].match.regex: invalid regular expression: …".
import { readFileSync, statSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { routeRulesSchema, type RouteRules } from '../domain/route-rules.ts';

/** A rules file larger than this is refused: the parsed rules travel in the run's configuration. */
export const MAX_ROUTE_FILE_BYTES = 64 * 1024;

/** Problems shown at most. */
const SHOWN = 10;

export class RouteFileError extends Error {
  /** One line per problem: "file:line: path: what is wrong". */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'RouteFileError';
    this.problems = problems;
  }
}

/** `rules[2].match.regex` */
export function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/**
 * Where `path` is in the document: the offset of its key (or item), or of the deepest part
 * of it that exists (a missing field is reported where its parent is).
 */
function offsetOf(contents: unknown, path: readonly PropertyKey[]): number {
  let node = contents as Node | null | undefined;
  let at = node?.range?.[0] ?? 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      at = (pair.key as Node | null)?.range?.[0] ?? at;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      at = item.range?.[0] ?? at;
      node = item;
    } else break;
  }
  return at;
}

function issueLines(source: string, lc: LineCounter, contents: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  const located = issues.map((issue) => {
    // An unknown key is shown where it is, not where its object starts.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = keys.length === 1 ? [...issue.path, keys[0]!] : issue.path;
    const { line } = lc.linePos(offsetOf(contents, path));
    const where = pathText(path);
    return { line: Math.max(1, line), text: `${source}:${Math.max(1, line)}: ${where ? `${where}: ` : ''}${issue.message}` };
  });
  // In the file's order (the sort is stable: one line's problems keep theirs).
  return located.sort((a, b) => a.line - b.line).map((l) => l.text);
}

/** Parses and validates rules from their text; `source` names the file in messages. */
export function parseRouteRules(text: string, source: string): RouteRules {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RouteFileError(doc.errors.slice(0, SHOWN).map((e) => `${source}:${Math.max(1, lc.linePos(e.pos[0]).line)}: ${e.message}`));
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) throw new RouteFileError([`${source}:1: the file is empty; it needs "rules:", a list of at least one rule`]);
  const r = routeRulesSchema.safeParse(value);
  if (r.success) return r.data;
  const lines = issueLines(source, lc, doc.contents, r.error.issues);
  if (lines.length > SHOWN) lines.splice(SHOWN, lines.length - SHOWN, `… and ${lines.length - SHOWN} more`);
  throw new RouteFileError(lines);
}

/** Reads and validates a rules file; `shownAs` is how messages name it (the path as the user gave it). */
export function loadRouteFile(path: string, shownAs: string = path): RouteRules {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new RouteFileError([`${shownAs}: cannot read the rules file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  if (size > MAX_ROUTE_FILE_BYTES) throw new RouteFileError([`${shownAs}: ${size} bytes; a rules file may have at most ${MAX_ROUTE_FILE_BYTES} (it travels in the run's configuration)`]);
  return parseRouteRules(readFileSync(path, 'utf8'), shownAs);
}
