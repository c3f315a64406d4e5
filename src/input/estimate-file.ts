// Streams an input file once for `llm-batch estimate`: lines are validated and counted on
// the preparing threads (estimate-line.ts, through prepare-pool.ts) while this thread sums
// them. Duplicate custom_ids are rejected as staging rejects them, and duplicate request
// bodies (the exact cache's key) are counted; both are kept as 16-byte digests, never the
// bodies. The levers given (cache, prompt prefix, routing) see the lines that would be sent.
// Memory: the batches in flight, plus ~30–60 bytes per distinct custom_id and body.
import { extname } from 'node:path';
import { statSync } from 'node:fs';
import type { RejectRecord, InputFormat } from '../domain/run-types.ts';
import type { PromptDefaults } from '../domain/schemas.ts';
import { parseUrgentRule } from '../domain/routing.ts';
import { DigestMap } from '../domain/digest-map.ts';
import { kindOfModel, Tally } from '../domain/estimate.ts';
import type { EstimateLevers } from '../domain/estimate-levers.ts';
import { buildEstimateReport, type EstimateCounts, type EstimateReport } from '../domain/estimate-report.ts';
import type { PricingTable } from '../domain/pricing.ts';
import { modelsOf, type RouteRules } from '../domain/route-rules.ts';
import { encodingOf, type EncodingName } from '../llm/tokens.ts';
import { RoutingCount } from '../domain/estimate-routing.ts';
import { detectFormat, readLines } from './reader.ts';
import { pooledBatches, type BatchPreparer, type PrepareOptions } from './prepare-pool.ts';
import { DIGEST_WORDS, type EstimateBatch, type EstimateContext, type EstimatedItem } from './estimate-line.ts';

export const estimatePreparer: BatchPreparer<EstimateContext, EstimateBatch> = {
  entry: new URL('./estimate-thread.ts', import.meta.url),
  load: async () => (await import('./estimate-line.ts')).estimateLines,
};

/** Inputs from this size are counted on threads too; smaller ones on this thread (a thread takes ~0.5 s to load the tokenizers). */
const THREADS_FROM_BYTES = 4 * 1024 * 1024;
/** Rejects kept to show, as `run --strict` shows its first problems. */
export const REJECTS_SHOWN = 20;

export interface EstimateFileOptions {
  defaults: PromptDefaults;
  urgentIf?: string;
  /** The models the estimate compares: their encodings are counted for every line. */
  models: readonly string[];
  levers?: EstimateLevers;
  /** Hears the line count after each batch. */
  onProgress?: (lines: number) => void;
  /** Tests and the bench: threads, batch size (by default the file's size decides). */
  threads?: PrepareOptions;
}

/** What one pass over a file counted, and the bytes its duplicate detection held at the end. */
export interface FileCounts extends EstimateCounts {
  digestBytes: number;
}

/**
 * The encodings to count every line in, by kind of request: those of the models compared
 * and, for chat lines, those of every model the routing rules may send a line to (each
 * routed line is priced in its routed model's tokens). Embeddings lines are never routed.
 */
function encodingsFor(models: readonly string[], rules: RouteRules | undefined): EstimateContext['encodings'] {
  const of = (kind: 'chat' | 'embeddings', extra: readonly string[] = []): EncodingName[] => [...new Set([...models.filter((m) => kindOfModel(m) === kind), ...extra].map(encodingOf))];
  return { chat: of('chat', rules ? modelsOf(rules) : []), embeddings: of('embeddings') };
}

const hexOf = (words: Uint32Array, at: number): string => Buffer.from(words.buffer, words.byteOffset + at * 4, 32).toString('hex');

export async function countFile(path: string, opts: EstimateFileOptions): Promise<FileCounts> {
  const levers = opts.levers ?? {};
  const rule = opts.urgentIf === undefined ? [] : parseUrgentRule(opts.urgentIf);
  if (typeof rule === 'string') throw new Error(`--urgent-if: ${rule}`);
  const format = await detectFormat(path);
  const ctx: EstimateContext = {
    format,
    json: extname(path).toLowerCase() !== '.txt',
    defaults: opts.defaults,
    rule,
    encodings: encodingsFor(opts.models, levers.routes?.rules),
    prefix: levers.prefix !== undefined,
    ...(levers.routes ? { routes: levers.routes.rules } : {}),
  };
  const counts: FileCounts = {
    format,
    lines: 0,
    accepted: 0,
    rejected: 0,
    rejectsByCode: {},
    firstRejects: [],
    all: new Tally(),
    duplicates: new Tally(),
    repeatedBodies: 0,
    sent: new Tally(),
    digestBytes: 0,
  };
  const reject = (r: RejectRecord): void => {
    counts.rejected++;
    counts.rejectsByCode[r.code] = (counts.rejectsByCode[r.code] ?? 0) + 1;
    if (counts.firstRejects.length < REJECTS_SHOWN) counts.firstRejects.push(r);
  };
  const ids = new DigestMap();
  // Per distinct body: 0 once seen, 1 once repeated (to count the repeated bodies).
  const bodies = new DigestMap();
  const prefix = levers.prefix?.();
  if (levers.cachedKeys) counts.cacheHits = new Tally();
  const routing = levers.routes ? new RoutingCount(encodingOf, levers.prefix?.()) : undefined;

  /** A line that would be sent: not a duplicate, not a cache hit. */
  const send = (item: EstimatedItem): void => {
    counts.sent.add(item);
    prefix?.add({ model: item.model, urgent: item.urgent, ...(item.prefix ? { prefix: item.prefix } : {}) });
    routing?.add(item);
  };

  const small = statSync(path).size < THREADS_FROM_BYTES;
  const threads: PrepareOptions = small ? { threads: 0, ...opts.threads } : { ...opts.threads };
  for await (const batch of pooledBatches(readLines(path), ctx, estimatePreparer, threads)) {
    counts.lines += batch.lines;
    // This batch's rejects, in line order once its duplicate custom_ids join them.
    const rejects = [...batch.rejects];
    const firsts: { item: EstimatedItem; at: number }[] = [];
    for (let i = 0; i < batch.items.length; i++) {
      const item = batch.items[i]!;
      const at = i * DIGEST_WORDS;
      const first = ids.getOrAdd(batch.digests, at, item.line);
      if (first !== undefined) {
        rejects.push({ line: item.line, custom_id: item.customId, code: 'duplicate_custom_id', message: `custom_id "${item.customId}" was already used on line ${first}` });
        continue;
      }
      counts.accepted++;
      counts.all.add(item);
      const seen = bodies.getOrAdd(batch.digests, at + 4, 0);
      if (seen === undefined) firsts.push({ item, at });
      else {
        counts.duplicates.add(item);
        if (seen === 0) {
          counts.repeatedBodies++;
          bodies.set(batch.digests, at + 4, 1);
        }
      }
    }
    if (rejects.length > batch.rejects.length) rejects.sort((a, b) => a.line - b.line);
    for (const r of rejects) reject(r);
    if (levers.cachedKeys && counts.cacheHits && firsts.length > 0) {
      const hits = await levers.cachedKeys(firsts.map((f) => hexOf(batch.digests, f.at + 4)));
      for (const f of firsts) {
        if (hits.has(hexOf(batch.digests, f.at + 4))) counts.cacheHits.add(f.item);
        else send(f.item);
      }
    } else for (const f of firsts) send(f.item);
    opts.onProgress?.(counts.lines);
  }
  if (prefix) counts.prefix = prefix.result();
  if (routing) counts.routing = routing.result();
  counts.digestBytes = ids.bytes + bodies.bytes;
  return counts;
}

export interface EstimateOptions extends Omit<EstimateFileOptions, 'models'> {
  pricing: PricingTable;
  /** The models to compare; default every model of the pricing table. */
  models?: readonly string[];
  /** How the file is named in the report (default: the path as given). */
  label?: string;
}

/** Why a lever not given is n/a, unless the levers say otherwise. */
export const LEVER_NOT_GIVEN = {
  cachedKeys: 'the exact cache is not available',
  prefix: 'prompt-prefix caching is not available',
  routes: 'no routing rules: --route FILE',
} as const;

/** One pass over the file, priced: the report `llm-batch estimate` prints. */
export async function estimateFile(path: string, opts: EstimateOptions): Promise<EstimateReport> {
  const models = opts.models ?? Object.keys(opts.pricing.models);
  const counts = await countFile(path, { ...opts, models });
  return buildEstimateReport({
    file: opts.label ?? path,
    pricing: opts.pricing,
    encodingOf,
    models,
    counts,
    ...(opts.urgentIf !== undefined ? { urgentIf: opts.urgentIf } : {}),
    why: { ...LEVER_NOT_GIVEN, ...opts.levers?.why },
    ...(opts.levers?.notes ? { notes: opts.levers.notes } : {}),
    ...(opts.levers?.routes ? { routesFile: opts.levers.routes.file } : {}),
  });
}
