// `llm-batch run FILE`: validate, start a run, optionally follow it to the end.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { OnBatchFailure, RunConfig, RunMode, RunState, RunStatus } from '../domain/run-types.ts';
import { parseUrgentRule } from '../domain/routing.ts';
import { connectClient, DEFAULTS, getRunStatus, isFinished, newRunId, startRun } from '../client.ts';
import { readInput, describeReject, detectFormat, countLines } from '../input/reader.ts';
import { atLeastOne, CliError, concurrency, nonNegativeInt, durationMs, EXIT, fraction, nonNegativeNumber, positiveInt, priorityKey, usdAmount, webhook } from './options.ts';
import { DEFAULT_PRIORITY } from '../domain/priority.ts';
import { progressView, summaryTable, bold, dim, stateHint } from './format.ts';
import { stageHere } from './stage-here.ts';
import { hasRequests, noRequestsMessage } from '../input/has-requests.ts';
import { databaseUrl } from '../settings.ts';
import { CACHE_MODES, DEFAULT_CACHE_MODE, DEFAULT_CACHE_TTL_MS, type CacheMode } from '../domain/exact-cache.ts';
import { ROUTE_HELP, routeOption } from './route-option.ts';
import { checkSemanticOptions, EMBEDDING_MODEL_HELP, SEMANTIC_CACHE_HELP, semanticThreshold } from './semantic-option.ts';
import { loadSchemaOption, SCHEMA_HELP, SCHEMA_RETRIES_HELP } from './schema-option.ts';
import { DEFAULT_SCHEMA_RETRIES } from '../domain/response-schema.ts';
import { windowOptions, windowPolicyFrom } from './window-option.ts';
import { addSpotCheckOptions, spotCheckConfig, type SpotCheckOptions } from './spot-check-option.ts';

export interface RunOptions extends SpotCheckOptions {
  model?: string;
  system?: string;
  maxTokens?: number;
  runId?: string;
  concurrency: number | 'auto';
  maxConcurrency?: number;
  priority?: number;
  rpm?: number;
  tpm?: number;
  chunkSize: number;
  maxChunksInFlight: number;
  maxAttempts: number;
  requestTimeout: number;
  heartbeatTimeout: number;
  continueAsNewAfter: number;
  pricing?: string;
  budget?: number;
  budgetWarnAt?: number;
  fallbackModel?: string;
  chunkCapFactor?: number;
  outputMargin?: number;
  circuitFailures?: number;
  circuitInitialDelay?: number;
  circuitMaxDelay?: number;
  sample?: number;
  approve?: boolean;
  alertWebhook?: string;
  mode?: RunMode;
  maxBatchLines?: number;
  maxBatchBytes?: number;
  maxBatchesInFlight?: number;
  maxBatchAttempts?: number;
  onBatchFailure?: OnBatchFailure;
  batchPollInterval?: number;
  batchPollMax?: number;
  deadline?: number;
  urgentIf?: string;
  cache?: CacheMode;
  cacheTtl?: number;
  route?: string;
  promptCache?: 'on' | 'off';
  semanticCache?: number;
  embeddingModel?: string;
  schema?: string;
  schemaRetries?: number;
  pack?: number;
  packMaxTokens?: number;
  window?: number;
  perWindowItems?: number;
  perWindowBudget?: number;
  strict?: boolean;
  wait?: boolean;
  json?: boolean;
}

/** A default duration as a person writes it: 30s, 15m. */
const msText = (ms: number): string => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

export function addRunOptions(cmd: Command): Command {
  cmd
    .option('--model <name>', 'model for a prompts file (batch lines name their own in body.model)')
    .option('--system <text>', 'system message for a prompts file')
    .option('--max-tokens <n>', 'max_tokens for a prompts file', positiveInt)
    .option('--run-id <id>', 'id of the run (and of its Temporal workflow); default run-<time>-<random>')
    .option('--concurrency <n|auto>', "calls of this run in flight at once per worker process. auto: enough to reach the rate limit at the measured latency (Little's law), up to --max-concurrency", concurrency, DEFAULTS.concurrency)
    .option('--max-concurrency <n>', 'ceiling of --concurrency auto (default 256)', positiveInt)
    .option('--priority <n>', "1 is most urgent, 5 least; Temporal serves this run's tasks, and the rate limiter its calls, in this order", priorityKey, DEFAULT_PRIORITY)
    .option('--rpm <n>', "a cap on requests per minute, below the account's limit (which is learned from the provider's headers): never exceeded", positiveInt)
    .option('--tpm <n>', 'a cap on tokens per minute (prompt + max_tokens, as OpenAI counts), below the account\'s limit: never exceeded', positiveInt)
    .option('--chunk-size <n>', 'items per chunk workflow', positiveInt, DEFAULTS.chunkSize)
    .option('--max-chunks-in-flight <n>', 'chunk workflows running at once', positiveInt, DEFAULTS.maxChunksInFlight)
    .option('--max-attempts <n>', 'attempts per item on 5xx, timeouts and connection errors', positiveInt, DEFAULTS.maxAttemptsPerItem)
    .addOption(new Option('--request-timeout <duration>', 'give up on one call after this long and retry it').argParser(durationMs).default(DEFAULTS.requestTimeoutMs, msText(DEFAULTS.requestTimeoutMs)))
    .addOption(new Option('--heartbeat-timeout <duration>', 'how soon a dead worker\'s chunk moves to another worker').argParser(durationMs).default(DEFAULTS.heartbeatTimeoutMs, msText(DEFAULTS.heartbeatTimeoutMs)))
    .addOption(new Option('--continue-as-new-after <events>', 'continue the run as new past this many history events').argParser(positiveInt).default(DEFAULTS.continueAsNewAfterEvents))
    .option('--pricing <file>', 'pricing table (JSON, same shape as pricing/pricing.json) instead of the bundled one')
    .option('--strict', 'do not start if any line is invalid: print the first 20 problems and exit 2')
    // Run control: money, outages, a measured sample first, alerts.
    .option('--budget <usd>', 'most the run may spend, in USD. Each chunk reserves its estimated cost before it starts; spend can pass the budget only by what was in flight, and the run waits in budget_exhausted for `llm-batch budget RUN --raise USD`', usdAmount)
    .option('--budget-warn-at <fraction>', 'share of the budget where the run turns yellow (alert, switch to --fallback-model)', fraction, DEFAULTS.budgetWarnAt)
    .option('--fallback-model <name>', 'cheaper model the remaining work switches to when the budget turns yellow (once, recorded in status)')
    .option('--chunk-cap-factor <x>', 'a chunk stops itself once its spend reaches its reservation times this (≥ 1)', atLeastOne, DEFAULTS.chunkCapFactor)
    .option('--output-margin <x>', 'margin over the measured mean output tokens when reserving (0.25 = +25%)', nonNegativeNumber, DEFAULTS.outputMargin)
    .option('--circuit-failures <n>', 'consecutive provider failures (5xx, timeouts, connection errors) that open the circuit: dispatch stops until a probe call succeeds', positiveInt, DEFAULTS.circuitFailureThreshold)
    .addOption(new Option('--circuit-initial-delay <duration>', 'wait before the first probe of an open circuit; doubles after each failed probe').argParser(durationMs).default(DEFAULTS.circuitInitialDelayMs, msText(DEFAULTS.circuitInitialDelayMs)))
    .addOption(new Option('--circuit-max-delay <duration>', 'longest wait between probes (≥ --circuit-initial-delay)').argParser(durationMs).default(DEFAULTS.circuitMaxDelayMs, msText(DEFAULTS.circuitMaxDelayMs)))
    .option('--sample <n>', 'process a random sample of N items first and measure its cost per item; the status shows the extrapolated total', positiveInt)
    .option('--approve', 'with --sample: after the sample, wait in awaiting_approval for `llm-batch approve RUN` (or reject)')
    .option('--alert-webhook <url|env:NAME>', 'POST alerts (budget yellow and red, circuit open and closed, awaiting approval, completed, failed, cancelled; Slack-compatible JSON) to this URL. env:NAME makes the worker read the URL from its own environment variable NAME, which keeps a secret webhook out of Temporal history', webhook)
    // The Batch API: half price, results within 24 hours.
    .addOption(new Option('--mode <mode>', 'realtime: concurrent calls under the rate limits, results in minutes. batch: through the OpenAI Batch API at half price, results within 24 h. hybrid: urgent items (metadata.priority "urgent", or --urgent-if) realtime, the rest through the Batch API').choices(['realtime', 'batch', 'hybrid']).default('realtime'))
    .option('--max-batch-lines <n>', 'most lines per batch file (the Batch API allows 50,000)', positiveInt, DEFAULTS.maxBatchLines)
    .option('--max-batch-bytes <n>', 'most bytes per batch file (the Batch API allows 200 MB = 209715200). An item whose line alone is larger fails at planning with too_large_for_batch (in --mode hybrid, or with --on-batch-failure realtime, it goes realtime instead)', positiveInt, DEFAULTS.maxBatchBytes)
    .option('--max-batches-in-flight <n>', 'batches at the provider at once (realtime chunks have their own window, --max-chunks-in-flight)', positiveInt, DEFAULTS.maxBatchesInFlight)
    .option('--max-batch-attempts <n>', 'batch submissions per file for lines failing in a retryable way (5xx, expired, rate-limited); each resubmission holds only those lines', positiveInt, DEFAULTS.maxBatchAttempts)
    .addOption(new Option('--on-batch-failure <what>', 'retryable batch line failures: resubmit them as a new, smaller batch (up to --max-batch-attempts), or send them through the realtime path (full price). A file or batch the provider refuses (4xx) fails its items with batch_refused and the provider\'s message; with realtime they go through the realtime path instead, as do items over --max-batch-bytes').choices(['resubmit', 'realtime']).default(DEFAULTS.onBatchFailure))
    .addOption(new Option('--batch-poll-interval <duration>', 'first wait between polls of a batch; doubles after each poll up to --batch-poll-max').argParser(durationMs).default(DEFAULTS.batchPollInitialMs, msText(DEFAULTS.batchPollInitialMs)))
    .addOption(new Option('--batch-poll-max <duration>', 'longest wait between polls of a batch').argParser(durationMs).default(DEFAULTS.batchPollMaxMs, msText(DEFAULTS.batchPollMaxMs)))
    .addOption(new Option('--deadline <duration>', 'batch and hybrid: batches not done this long after the start (e.g. 6h) are cancelled, their partial output kept, and the rest finishes realtime at full price').argParser(durationMs))
    .option('--urgent-if <rule>', 'hybrid: also send these items realtime: feature=NAME (metadata.feature) or custom_id^=PREFIX, several separated by commas')
    // The exact cache: identical requests (same model and every parameter that can change the answer) are paid once.
    .addOption(new Option('--cache <mode>', 'exact cache. read-write: send identical requests of this run once, reuse answers earlier runs shared, share this run\'s. read: reuse earlier runs\' answers, share none. write: share this run\'s, reuse none. off: no cache, not even within the run. A hit costs $0 and its output line is marked "llm_batch"; errors, refusals and truncated answers are never cached').choices([...CACHE_MODES]).default(DEFAULT_CACHE_MODE))
    .addOption(new Option('--cache-ttl <duration>', 'reuse cached answers no older than this (e.g. 12h, 30d)').argParser(durationMs).default(DEFAULT_CACHE_TTL_MS, msText(DEFAULT_CACHE_TTL_MS)))
    .option('--route <file>', ROUTE_HELP)
    // The provider's prompt cache (prompts of 1,024 tokens and more).
    .addOption(new Option('--prompt-cache <on|off>', "provider prompt caching. on: items whose prompts share their first 1,024 tokens are dispatched together (results still come out in input order) and each such prefix group's calls carry a prompt_cache_key (a line's own key is kept), so the provider can serve the shared prefix from its cache at the cached-input price. off: input order, no keys").choices(['on', 'off']).default('on'))
    .option('--semantic-cache <threshold>', SEMANTIC_CACHE_HELP, semanticThreshold)
    .option('--embedding-model <name>', EMBEDDING_MODEL_HELP)
    // Structured outputs: every answer parsed and validated against the user's schema.
    .option('--schema <file>', SCHEMA_HELP)
    .option('--schema-retries <n>', SCHEMA_RETRIES_HELP, nonNegativeInt, DEFAULT_SCHEMA_RETRIES)
    // Request packing (activities/realtime-pack.ts): several small items answered by one call.
    .option('--pack <n>', PACK_HELP, positiveInt)
    .option('--pack-max-tokens <n>', 'with --pack: most tokens of one packed call, its prompt plus its output bound (the model\'s context window when not given)', positiveInt);
  for (const o of windowOptions()) cmd.addOption(o);
  return addSpotCheckOptions(cmd);
}

const PACK_HELP =
  'send up to N small realtime items in one chat call: items with the same model, parameters and system prompt (one user message each) are numbered in one message and answered as JSON {results: [{id, answer}]} (with --schema, each answer in that schema). Each answer becomes its own item\'s result; usage and cost are split by prompt tokens. A pack whose answer misses, repeats or invents an id, or is not valid JSON, is re-sent item by item. Realtime only: refused with --mode batch; in hybrid runs only the realtime items pack. Items the exact cache can answer (and repeats within a chunk) go alone through it; packed answers are not stored in the cache and skip --semantic-cache';

/** Checks of option combinations that single option parsers cannot see; usage errors (exit 2). */
export function checkRunOptions(opts: RunOptions): void {
  if (opts.approve && opts.sample === undefined) throw new CliError('--approve needs --sample N: approval is given after a measured sample (e.g. --sample 50 --approve)');
  const initial = opts.circuitInitialDelay ?? DEFAULTS.circuitInitialDelayMs;
  const max = opts.circuitMaxDelay ?? DEFAULTS.circuitMaxDelayMs;
  if (max < initial) throw new CliError(`--circuit-max-delay (${max} ms) must be at least --circuit-initial-delay (${initial} ms)`);
  const mode = opts.mode ?? 'realtime';
  if (opts.urgentIf !== undefined) {
    if (mode !== 'hybrid') throw new CliError('--urgent-if routes items in a hybrid run: add --mode hybrid');
    const rule = parseUrgentRule(opts.urgentIf);
    if (typeof rule === 'string') throw new CliError(`--urgent-if: ${rule}`);
  }
  if (opts.pack !== undefined && mode === 'batch') throw new CliError('--pack packs realtime calls and is not supported with --mode batch (Batch API lines are sent one request each); use --mode realtime, or --mode hybrid where the realtime items pack');
  if (opts.packMaxTokens !== undefined && opts.pack === undefined) throw new CliError('--pack-max-tokens caps packed calls: add --pack N');
  if (opts.deadline !== undefined && mode === 'realtime') throw new CliError('--deadline applies to Batch API work: use it with --mode batch or --mode hybrid');
  if ((opts.maxBatchLines ?? 0) > DEFAULTS.maxBatchLines) throw new CliError(`--max-batch-lines: the Batch API takes at most ${DEFAULTS.maxBatchLines} lines per file`);
  if ((opts.maxBatchBytes ?? 0) > DEFAULTS.maxBatchBytes) throw new CliError(`--max-batch-bytes: the Batch API takes at most ${DEFAULTS.maxBatchBytes} bytes (200 MB) per file`);
  checkSemanticOptions(opts);
  windowPolicyFrom(opts);
  spotCheckConfig(opts);
  if (opts.cacheTtl !== undefined && opts.cacheTtl <= 0) throw new CliError('--cache-ttl must be longer than 0 (to reuse nothing from earlier runs, use --cache write or --cache off)');
  const pollInitial = opts.batchPollInterval ?? DEFAULTS.batchPollInitialMs;
  const pollMax = opts.batchPollMax ?? DEFAULTS.batchPollMaxMs;
  if (pollMax < pollInitial) throw new CliError(`--batch-poll-max (${pollMax} ms) must be at least --batch-poll-interval (${pollInitial} ms)`);
}

/** Checks the file locally before anything is started; with --strict, every line. */
export async function preflight(inputPath: string, opts: RunOptions): Promise<void> {
  checkRunOptions(opts);
  if (!existsSync(inputPath)) throw new CliError(`${inputPath}: no such file`);
  if (!statSync(inputPath).isFile()) throw new CliError(`${inputPath}: not a file`);
  if (!(await hasRequests(inputPath))) throw new CliError(noRequestsMessage(inputPath));
  // The rules file is checked here, before anything starts (exit 2 when it is invalid).
  if (opts.route !== undefined) for (const note of routeOption(opts.route, opts.mode ?? 'realtime', opts.pricing).notes) console.error(`llm-batch: ${note}`);
  if (opts.schema !== undefined) await loadSchemaOption(opts.schema);
  const format = await detectFormat(inputPath);
  if (format === 'prompts' && !opts.model) throw new CliError(`${inputPath} is a prompts file: give the model with --model (and optionally --system, --max-tokens)`);
  if (!opts.strict) return;
  const problems: string[] = [];
  const seen = new Map<string, number>();
  let count = 0;
  for await (const { lineNumber, result } of readInput(inputPath, opts)) {
    if (result.ok) {
      const first = seen.get(result.line.customId);
      if (first === undefined) seen.set(result.line.customId, lineNumber);
      else {
        count++;
        if (problems.length < 20) problems.push(describeReject(inputPath, { line: lineNumber, custom_id: result.line.customId, code: 'duplicate_custom_id', message: `custom_id "${result.line.customId}" was already used on line ${first}` }));
      }
      continue;
    }
    count++;
    if (problems.length < 20) problems.push(describeReject(inputPath, { line: lineNumber, custom_id: result.reject.customId ?? null, code: result.reject.code, message: result.reject.message }));
  }
  if (count > 0) {
    throw new CliError(`${problems.join('\n')}\n${count} invalid line${count === 1 ? '' : 's'}${count > 20 ? ' (first 20 shown)' : ''}; --strict: the run was not started.`);
  }
}

export function runConfigFrom(inputPath: string, opts: RunOptions): RunConfig {
  checkRunOptions(opts);
  const config: RunConfig = {
    runId: opts.runId ?? newRunId(),
    inputPath,
    mode: opts.mode ?? 'realtime',
    concurrency: opts.concurrency,
    priority: opts.priority ?? DEFAULT_PRIORITY,
    chunkSize: opts.chunkSize,
    maxChunksInFlight: opts.maxChunksInFlight,
    continueAsNewAfterEvents: opts.continueAsNewAfter,
    maxAttemptsPerItem: opts.maxAttempts,
    requestTimeoutMs: opts.requestTimeout,
    heartbeatTimeoutMs: opts.heartbeatTimeout,
    budgetWarnAt: opts.budgetWarnAt ?? DEFAULTS.budgetWarnAt,
    chunkCapFactor: opts.chunkCapFactor ?? DEFAULTS.chunkCapFactor,
    outputMargin: opts.outputMargin ?? DEFAULTS.outputMargin,
    circuitFailureThreshold: opts.circuitFailures ?? DEFAULTS.circuitFailureThreshold,
    circuitInitialDelayMs: opts.circuitInitialDelay ?? DEFAULTS.circuitInitialDelayMs,
    circuitMaxDelayMs: opts.circuitMaxDelay ?? DEFAULTS.circuitMaxDelayMs,
    maxBatchLines: opts.maxBatchLines ?? DEFAULTS.maxBatchLines,
    maxBatchBytes: opts.maxBatchBytes ?? DEFAULTS.maxBatchBytes,
    maxBatchesInFlight: opts.maxBatchesInFlight ?? DEFAULTS.maxBatchesInFlight,
    maxBatchAttempts: opts.maxBatchAttempts ?? DEFAULTS.maxBatchAttempts,
    onBatchFailure: opts.onBatchFailure ?? DEFAULTS.onBatchFailure,
    batchPollInitialMs: opts.batchPollInterval ?? DEFAULTS.batchPollInitialMs,
    batchPollMaxMs: opts.batchPollMax ?? DEFAULTS.batchPollMaxMs,
  };
  if (opts.deadline !== undefined) config.deadlineMs = opts.deadline;
  if (opts.urgentIf !== undefined) config.urgentIf = opts.urgentIf;
  config.cache = opts.cache ?? DEFAULT_CACHE_MODE;
  if (opts.cacheTtl !== undefined) config.cacheTtlMs = opts.cacheTtl;
  if (opts.promptCache === 'off') config.promptCache = 'off';
  if (opts.semanticCache !== undefined) config.semanticThreshold = opts.semanticCache;
  if (opts.embeddingModel !== undefined) config.embeddingModel = opts.embeddingModel;
  if (opts.pack !== undefined && opts.pack > 1) config.pack = opts.pack;
  if (opts.packMaxTokens !== undefined) config.packMaxTokens = opts.packMaxTokens;
  if (opts.budget !== undefined) config.budgetUsd = opts.budget;
  if (opts.fallbackModel) config.fallbackModel = opts.fallbackModel;
  if (opts.sample !== undefined) config.sampleSize = opts.sample;
  if (opts.approve) config.approve = true;
  if (opts.alertWebhook) config.alertWebhook = opts.alertWebhook;
  if (opts.model) config.model = opts.model;
  if (opts.system) config.system = opts.system;
  if (opts.maxTokens) config.maxTokens = opts.maxTokens;
  if (opts.rpm) config.rpm = opts.rpm;
  if (opts.tpm) config.tpm = opts.tpm;
  if (opts.maxConcurrency) config.maxConcurrency = opts.maxConcurrency;
  if (opts.pricing) config.pricingPath = resolve(opts.pricing);
  if (opts.route !== undefined) config.routeRules = routeOption(opts.route, config.mode, opts.pricing).rules;
  if (opts.schema !== undefined && opts.schemaRetries !== undefined) config.schemaRetries = opts.schemaRetries;
  const window = windowPolicyFrom(opts);
  if (window) config.window = window;
  const spotCheck = spotCheckConfig(opts);
  if (spotCheck) config.spotCheck = spotCheck;
  return config;
}

/** Starts a run of a file that passed preflight; throws CliError when the run id is taken. */
export async function startRunFromFile(client: Client, file: string, opts: RunOptions): Promise<RunConfig> {
  const inputPath = resolve(file);
  const config = runConfigFrom(inputPath, opts);
  // --schema: read and checked here (a module may need importing); the workers get the JSON Schema.
  if (opts.schema !== undefined) config.responseSchema = await loadSchemaOption(opts.schema);
  // With a shared store the input goes into it from here: the workers never read the file.
  const url = databaseUrl();
  const staged = url ? await stageHere(client, config, url, opts.json ?? false) : undefined;
  try {
    await startRun(client, config, undefined, staged?.lines ?? (await countLines(inputPath)), staged);
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`a run with id ${config.runId} already exists; choose another --run-id`);
    throw e;
  }
  return config;
}

/**
 * Polls the run's status, drawing progress, until it reaches a final state. States that
 * wait for an operator (paused, awaiting_approval, budget_exhausted, circuit_open) are
 * followed too, with a hint of the command that moves the run on (on stderr when quiet).
 */
export async function followRun(client: Client, runId: string, opts: { quiet?: boolean; intervalMs?: number } = {}): Promise<RunStatus> {
  const view = opts.quiet ? undefined : progressView();
  let lastState: RunState | undefined;
  let warned = false;
  try {
    for (;;) {
      const s = await getRunStatus(client, runId);
      view?.update(s);
      // Staging's warnings (a prompt layout that defeats the cache), once, as soon as they are known.
      if (!warned && s.warnings?.length) {
        warned = true;
        for (const w of s.warnings) {
          if (view) view.note(`warning: ${w}`);
          else console.error(`warning: ${w}`);
        }
      }
      if (s.state !== lastState) {
        lastState = s.state;
        const hint = stateHint(s);
        if (hint) {
          if (view) view.note(hint);
          else console.error(hint);
        }
      }
      if (isFinished(s)) return s;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
    }
  } finally {
    view?.stop();
  }
}

export function printOutcome(s: RunStatus, wallMs: number): void {
  console.log(summaryTable(s, wallMs));
  if (s.outputPath) console.log(`${bold('output')}  ${s.outputPath}`);
  if (s.errorsPath) console.log(`${bold('errors')}  ${s.errorsPath}`);
  if (s.rejectsPath && s.counts.rejected > 0) console.log(`${bold('rejects')} ${s.rejectsPath}`);
}

export function registerRunCommand(program: Command): void {
  addRunOptions(
    program
      .command('run')
      .argument('<file>', 'OpenAI Batch input (.jsonl) or a prompts file (.txt, or .jsonl with prompt/messages)')
      .description('start a run of every request in FILE; prints the run id')
      .option('--wait', 'follow the run with a live view until it ends (through pauses and approvals); exit 0 only if it completed')
      .option('--json', 'machine output: the run id (and with --wait the final status) as JSON'),
  ).action(async (file: string, opts: RunOptions) => {
    await preflight(resolve(file), opts);
    const client = await connectClient();
    const t0 = Date.now();
    const config = await startRunFromFile(client, file, opts);
    if (!opts.wait) {
      console.log(opts.json ? JSON.stringify({ runId: config.runId }) : config.runId);
      return;
    }
    if (!opts.json) console.log(`run ${bold(config.runId)} started ${dim(`(llm-batch status ${config.runId})`)}`);
    const final = await followRun(client, config.runId, { quiet: opts.json ?? false });
    if (opts.json) console.log(JSON.stringify(final, null, 2));
    else printOutcome(final, Date.now() - t0);
    if (final.state !== 'completed') process.exitCode = EXIT.runNotCompleted;
  });
}
