// What staging does to one input line before the store sees it: validate it, count its
// exact prompt tokens, route it and serialize its body. Pure (no I/O), so it runs the same
// on the staging thread (stage-thread.ts) as in the tests; the store then only writes.
import type { RejectRecord, RunMode } from '../domain/run-types.ts';
import { parseInputLine, type ParsedLine, type PromptDefaults } from '../domain/schemas.ts';
import { routeOf, type UrgentClause } from '../domain/routing.ts';
import type { NewItem } from '../store/item-store.ts';
import { countRequestPromptTokens, maxOutputTokens, DEFAULT_MAX_OUTPUT_TOKENS } from '../llm/tokens.ts';

/** Everything a line's preparation depends on besides the line: plain data, sent to the staging thread once. */
export interface LineContext {
  format: 'batch' | 'prompts';
  /** Prompts files only: `.jsonl` lines are JSON, `.txt` lines are plain text. */
  json: boolean;
  defaults: PromptDefaults;
  mode: RunMode;
  rule: UrgentClause[];
}

/** An accepted line as the store takes it, still without its seq (numbered in input order by the stager). */
export type PreparedItem = Omit<NewItem, 'seq' | 'body' | 'bodyJson'> & { bodyJson: string };

/** A line, prepared: an item to store or a reject to record. */
export type PreparedLine = { item: PreparedItem } | { reject: RejectRecord };

export function prepareLine(ctx: LineContext, text: string, lineNumber: number): PreparedLine {
  const result = parseInputLine(ctx.format, ctx.json, text, lineNumber, ctx.defaults);
  if (!result.ok) return { reject: { line: lineNumber, custom_id: result.reject.customId ?? null, code: result.reject.code, message: result.reject.message } };
  const { line } = result;
  const item: PreparedItem = {
    customId: line.customId,
    line: lineNumber,
    url: line.url,
    // Serialized here, once: a string crosses threads far cheaper than the object would.
    bodyJson: JSON.stringify(line.body),
    model: line.body.model,
    route: routeOf(ctx.mode, line, ctx.rule),
    promptTokens: countRequestPromptTokens(line.url, line.body),
    maxOutputTokens: outputCapOf(line),
  };
  if (line.feature !== undefined) item.feature = line.feature;
  if (line.priority !== undefined) item.priority = line.priority;
  return { item };
}

/** Consecutive lines, the first numbered `firstLine`. */
export function prepareLines(ctx: LineContext, texts: readonly string[], firstLine: number): PreparedLine[] {
  return texts.map((text, i) => prepareLine(ctx, text, firstLine + i));
}

/** The most output a line may produce, as staging reserves it: max_tokens, or the default cap; none for embeddings. */
export const outputCapOf = (line: ParsedLine): number => (line.url === '/v1/embeddings' ? 0 : maxOutputTokens(line.body, DEFAULT_MAX_OUTPUT_TOKENS));
