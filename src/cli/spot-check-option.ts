// `run --spot-check N`: the quality checkpoint options, checked on the user's machine before
// anything starts (a bad combination or file is a usage error, exit 2). The judge prompt
// file is read here into the run's config; the --check module's path is resolved and the
// worker loads it from there (so workers must see the same path, as with the input file).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_MIN_PASS_RATE, type SpotCheckConfig } from '../domain/spot-check.ts';
import { priceFor } from '../domain/pricing.ts';
import { loadPricing } from '../llm/pricing-file.ts';
import { CliError, positiveInt } from './options.ts';

/** The most items one checkpoint samples: each may cost a judge call. */
export const MAX_SPOT_CHECK_SIZE = 1000;
/** A judge prompt longer than this is surely the wrong file. */
const MAX_JUDGE_PROMPT_CHARS = 20_000;

export interface SpotCheckOptions {
  spotCheck?: number;
  spotCheckEvery?: number;
  check?: string;
  judgeModel?: string;
  judgePrompt?: string;
  minPassRate?: number;
  spotCheckSeed?: number;
  pricing?: string;
}

/** A pass rate from 0 to 1 inclusive (1: every sampled item must pass; 0: never hold). */
function passRate(value: string): number {
  const x = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1) throw new InvalidArgumentError(`expected a pass rate from 0 to 1, such as 0.95, got "${value}".`);
  return x;
}

function wholeNumber(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got "${value}".`);
  return Number(value);
}

export function addSpotCheckOptions(cmd: Command): Command {
  return cmd
    .option('--spot-check <n>', `quality spot-checks: at each checkpoint, a seeded random sample of N items that succeeded since the last one is checked by --check and/or --judge-model; a pass rate below --min-pass-rate holds the run in quality_hold (alert with the failing items) until \`llm-batch approve RUN\` or \`reject\` (at most ${MAX_SPOT_CHECK_SIZE})`, positiveInt)
    .option('--spot-check-every <k>', 'with --spot-check: take a checkpoint every K finished items (dispatch stops while what is in flight settles and the sample is checked)', positiveInt)
    .option('--check <file>', 'with --spot-check: a JavaScript module (.mjs or .js) whose default export (or export "check") is (item, answer, response) => true | "reason". item = {custom_id, body, metadata}; answer = the response\'s choices[0].message.content (null if none); response = the whole response body. Loaded by the worker from this path')
    .option('--judge-model <name>', 'with --spot-check: a model that judges each sampled answer, asked for {pass, reason} with Structured Outputs; its calls are priced and count in the run\'s spend')
    .option('--judge-prompt <file>', 'with --judge-model: the judge\'s instructions (what a good answer is), read now into the run\'s configuration')
    .option('--min-pass-rate <x>', `with --spot-check: the share of sampled items that must pass, 0 to 1 (default ${DEFAULT_MIN_PASS_RATE})`, passRate)
    .option('--spot-check-seed <n>', 'with --spot-check: seed of the samples, for a repeatable selection (default: drawn once per run)', wholeNumber);
}

/** The run's spot-check configuration, or undefined without --spot-check; CliError (exit 2) when unusable. */
export function spotCheckConfig(opts: SpotCheckOptions & { window?: unknown }): SpotCheckConfig | undefined {
  const needs = (flag: string, given: unknown): void => {
    if (given !== undefined && opts.spotCheck === undefined) throw new CliError(`${flag} needs --spot-check N (the items each checkpoint samples), e.g. --spot-check 20 --spot-check-every 500`);
  };
  needs('--spot-check-every', opts.spotCheckEvery);
  needs('--check', opts.check);
  needs('--judge-model', opts.judgeModel);
  needs('--judge-prompt', opts.judgePrompt);
  needs('--min-pass-rate', opts.minPassRate);
  needs('--spot-check-seed', opts.spotCheckSeed);
  if (opts.spotCheck === undefined) return undefined;
  if (opts.spotCheck > MAX_SPOT_CHECK_SIZE) throw new CliError(`--spot-check: at most ${MAX_SPOT_CHECK_SIZE} items per checkpoint, got ${opts.spotCheck}`);
  if (opts.check === undefined && opts.judgeModel === undefined) throw new CliError('--spot-check needs a way to check: --check FILE (rules) and/or --judge-model M --judge-prompt FILE (a judge model)');
  if (opts.judgeModel !== undefined && opts.judgePrompt === undefined) throw new CliError('--judge-model needs --judge-prompt FILE: the judge\'s instructions');
  if (opts.judgePrompt !== undefined && opts.judgeModel === undefined) throw new CliError('--judge-prompt needs --judge-model M: the model that judges');
  // Windows (--window) take a checkpoint at each window's end; without them, every K items.
  if (opts.spotCheckEvery === undefined && opts.window === undefined) throw new CliError('--spot-check needs --spot-check-every K: when to take a checkpoint (every K finished items)');
  const config: SpotCheckConfig = { size: opts.spotCheck, minPassRate: opts.minPassRate ?? DEFAULT_MIN_PASS_RATE };
  if (opts.spotCheckEvery !== undefined) config.everyItems = opts.spotCheckEvery;
  if (opts.spotCheckSeed !== undefined) config.seed = opts.spotCheckSeed;
  if (opts.check !== undefined) {
    const path = resolve(opts.check);
    if (!existsSync(path) || !statSync(path).isFile()) throw new CliError(`--check ${opts.check}: no such file`);
    config.checkModule = path;
  }
  if (opts.judgeModel !== undefined) {
    try {
      priceFor(loadPricing(opts.pricing), opts.judgeModel);
    } catch (e) {
      throw new CliError(`--judge-model: ${(e as Error).message}`);
    }
    const file = resolve(opts.judgePrompt!);
    if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`--judge-prompt ${opts.judgePrompt}: no such file`);
    const text = readFileSync(file, 'utf8').trim();
    if (text === '') throw new CliError(`--judge-prompt ${opts.judgePrompt}: the file is empty; write what a good answer is`);
    if (text.length > MAX_JUDGE_PROMPT_CHARS) throw new CliError(`--judge-prompt ${opts.judgePrompt}: ${text.length} characters, more than ${MAX_JUDGE_PROMPT_CHARS}; is it the right file?`);
    config.judgeModel = opts.judgeModel;
    config.judgePrompt = text;
  }
  return config;
}
