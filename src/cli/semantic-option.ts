// `run --semantic-cache THRESHOLD [--embedding-model NAME]`: the option's help, its value's
// parser and its checks against the rest of the run's options (usage errors, exit 2).
import { InvalidArgumentError } from 'commander';
import { DEFAULT_SEMANTIC_THRESHOLD, parseSemanticThreshold } from '../domain/semantic-threshold.ts';
import type { RunMode } from '../domain/run-types.ts';
import type { CacheMode } from '../domain/exact-cache.ts';
import { priceFor, UnknownModelError, type PricingTable } from '../domain/pricing.ts';
import { DEFAULT_EMBEDDING_MODEL } from '../llm/embedder.ts';
import { loadPricing } from '../llm/pricing-file.ts';
import { CliError } from './options.ts';

export const SEMANTIC_CACHE_HELP =
  `semantic cache (off unless given): before a realtime call, embed the prompt (${DEFAULT_EMBEDDING_MODEL}, priced and counted in spend, hit or not) ` +
  'and reuse the answer of a prompt answered before whose embedding has at least this cosine similarity (a number in (0, 1], ' +
  `or "default" for ${DEFAULT_SEMANTIC_THRESHOLD}) and the same model, parameters and system prompt, unless the two differ in negation, ` +
  'numbers, dates, names or quoted strings. A hit makes no chat call; its output line\'s "llm_batch" marker shows both prompts and their ' +
  'similarity. Needs the exact cache (answers are kept there; not with --cache off); Batch API lines do not use it (not with --mode batch; ' +
  'in --mode hybrid only the realtime items do); see README "Semantic cache"';

export const EMBEDDING_MODEL_HELP = `with --semantic-cache: the embeddings model prompts are compared with (default ${DEFAULT_EMBEDDING_MODEL}; it must be in the pricing table)`;

/** commander's parser of the threshold: a clear usage error naming the option. */
export function semanticThreshold(value: string): number {
  const t = parseSemanticThreshold(value);
  if (t === undefined) throw new InvalidArgumentError(`expected a cosine similarity in (0, 1], such as 0.92, or "default" (${DEFAULT_SEMANTIC_THRESHOLD}), got "${value}".`);
  return t;
}

export interface SemanticOptions {
  semanticCache?: number;
  embeddingModel?: string;
  cache?: CacheMode;
  mode?: RunMode;
  pricing?: string;
}

/** Checks --semantic-cache against the other options; CliError (exit 2) when they do not go together. */
export function checkSemanticOptions(opts: SemanticOptions): void {
  if (opts.semanticCache === undefined) {
    if (opts.embeddingModel !== undefined) throw new CliError('--embedding-model is the semantic cache\'s: add --semantic-cache THRESHOLD (e.g. --semantic-cache default)');
    return;
  }
  if (opts.cache === 'off') throw new CliError('--semantic-cache reuses answers the exact cache keeps: it cannot run with --cache off (use --cache read-write, read or write)');
  if (opts.mode === 'batch') throw new CliError('--semantic-cache looks prompts up before realtime calls: a --mode batch run makes none (use --mode realtime, or hybrid for its realtime items)');
  const model = opts.embeddingModel ?? DEFAULT_EMBEDDING_MODEL;
  let pricing: PricingTable;
  try {
    pricing = loadPricing(opts.pricing);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  try {
    priceFor(pricing, model);
  } catch (e) {
    if (!(e instanceof UnknownModelError)) throw e;
    throw new CliError(`--embedding-model ${model}: the pricing table${opts.pricing ? ` ${opts.pricing}` : ''} has no price for it, so its calls could not be counted in spend (add it to the table with --pricing FILE, or choose a model the table prices)`);
  }
}
