// What staging does to one input line before the store sees it: validate it, count its
// exact prompt tokens, route it, fingerprint its prompt for the provider's prompt cache and
// serialize its body. Pure (no I/O), so it runs the same on the staging thread
// (stage-thread.ts) as in the tests; the store then only writes.
import type { RejectRecord, RunMode } from '../domain/run-types.ts';
import { parseInputLine, type ParsedLine, type PromptDefaults } from '../domain/schemas.ts';
import { routeOf, type UrgentClause } from '../domain/routing.ts';
import type { NewItem } from '../store/item-store.ts';
import { maxOutputTokens, DEFAULT_MAX_OUTPUT_TOKENS } from '../llm/tokens.ts';
import { countAndFingerprint } from '../llm/prompt-fingerprint.ts';
import type { MessageLayout, PrefixFingerprint } from '../domain/prompt-prefix.ts';
import { pathOf, type RouteRules } from '../domain/route-rules.ts';
import { routeParsedLine } from './route-line.ts';
import { withResponseFormat, type ResponseSchema } from '../domain/response-schema.ts';

/** Everything a line's preparation depends on besides the line: plain data, sent to the staging thread once. */
export interface LineContext {
  format: 'batch' | 'prompts';
  /** Prompts files only: `.jsonl` lines are JSON, `.txt` lines are plain text. */
  json: boolean;
  defaults: PromptDefaults;
  mode: RunMode;
  rule: UrgentClause[];
  /** --route: the model routing rules (plain data, copied to the staging threads). */
  routes?: RouteRules;
  /** --schema: the response_format every chat request without its own is stored (and sent) with. */
  responseSchema?: ResponseSchema;
}

/**
 * An accepted line as the store takes it, still without its seq (numbered in input order by
 * the stager), and, for a prompt of ≥ 1,024 tokens, what the stager's prompt-cache checks read
 * (never stored).
 */
export type PreparedItem = Omit<NewItem, 'seq' | 'body' | 'bodyJson'> & { bodyJson: string; prefix?: PrefixFingerprint; layout?: MessageLayout[] };

/** A line, prepared: an item to store or a reject to record. */
export type PreparedLine = { item: PreparedItem } | { reject: RejectRecord };

export function prepareLine(ctx: LineContext, text: string, lineNumber: number): PreparedLine {
  const result = parseInputLine(ctx.format, ctx.json, text, lineNumber, ctx.defaults);
  if (!result.ok) return { reject: { line: lineNumber, custom_id: result.reject.customId ?? null, code: result.reject.code, message: result.reject.message } };
  const { line } = result;
  // One tokenization gives the exact count and, for a prompt of ≥ 1,024 tokens, its prompt-cache fingerprint.
  const counted = countAndFingerprint(line.url, line.body);
  // --route: the rules rewrite body.model, so tokens, price and the request are the routed model's.
  const routed = ctx.routes ? routeParsedLine(ctx.routes, line, counted.promptTokens) : undefined;
  // --schema: stored as sent, so batch files, cache keys and the file's planned bytes all see it.
  const body = withResponseFormat(line.url, routed?.body ?? line.body, ctx.responseSchema);
  // A routed line is seen by the prompt cache as the routed model's request.
  const fp = routed && routed.model !== line.body.model ? countAndFingerprint(line.url, body).fingerprint : counted.fingerprint;
  const item: PreparedItem = {
    customId: line.customId,
    line: lineNumber,
    url: line.url,
    // Serialized here, once: a string crosses threads far cheaper than the object would.
    bodyJson: JSON.stringify(body),
    model: body.model,
    route: routed ? pathOf(ctx.mode, routed, () => routeOf(ctx.mode, line, ctx.rule)) : routeOf(ctx.mode, line, ctx.rule),
    promptTokens: routed?.promptTokens ?? counted.promptTokens,
    maxOutputTokens: line.url === '/v1/embeddings' ? 0 : maxOutputTokens(body, DEFAULT_MAX_OUTPUT_TOKENS),
  };
  if (routed) item.routing = routed.classifier ? { rule: routed.rule, reason: routed.reason, classifier: routed.classifier } : { rule: routed.rule, reason: routed.reason };
  if (fp !== undefined) Object.assign(item, { prefixGroup: fp.group, prefixPath: fp.path, prefix: fp.prefix, layout: fp.layout });
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
