// `llm-batch estimate FILE`: before anything is spent, what the file costs on every model
// of the pricing table in every mode, and what each lever would save on it. One streaming
// pass (src/input/estimate-file.ts); with --sample N, a real sample through the provider.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { RunMode } from '../domain/run-types.ts';
import { parseUrgentRule } from '../domain/routing.ts';
import { priceFor, UnknownModelError, type PricingTable } from '../domain/pricing.ts';
import type { EstimateReport } from '../domain/estimate-report.ts';
import { loadPricing } from '../llm/pricing-file.ts';
import { connectClient } from '../client.ts';
import { describeReject, detectFormat } from '../input/reader.ts';
import { estimateFile } from '../input/estimate-file.ts';
import { openEstimateLevers } from './estimate-levers.ts';
import { measureSample, nextStepLine } from './estimate-sample.ts';
import { BOUNDS_NOTE, cheapestLine, headerLine, leverNotes, leversTable, modelsTable, rejectLines, routingMixLine, routingTable, sampleLines, type SampleView } from './estimate-format.ts';
import { CliError, durationMs, EXIT, positiveInt } from './options.ts';
import { hasRequests, noRequestsMessage } from '../input/has-requests.ts';
import { dim } from './format.ts';
import { routeOption } from './route-option.ts';
import type { RouteRules } from '../domain/route-rules.ts';
import { DEFAULT_CACHE_TTL_MS } from '../domain/exact-cache.ts';
import { databaseUrl, dataDir } from '../settings.ts';

export interface EstimateCliOptions {
  model?: string;
  system?: string;
  maxTokens?: number;
  pricing?: string;
  models?: string[];
  urgentIf?: string;
  sample?: number;
  mode: RunMode;
  runId?: string;
  json?: boolean;
  cacheTtl: number;
  route?: string;
}

const modelList = (value: string): string[] => value.split(',').map((m) => m.trim()).filter((m) => m !== '');

/** Usage errors, before the file is read or anything is contacted (exit 2). */
async function checkOptions(path: string, opts: EstimateCliOptions): Promise<{ pricing: PricingTable; routes?: { rules: RouteRules; file: string } }> {
  if (!existsSync(path)) throw new CliError(`${path}: no such file`);
  if (!statSync(path).isFile()) throw new CliError(`${path}: not a file`);
  if (!(await hasRequests(path))) throw new CliError(noRequestsMessage(path));
  if ((await detectFormat(path)) === 'prompts' && !opts.model) {
    throw new CliError(`${path} is a prompts file: give the model with --model (and optionally --system, --max-tokens), as for llm-batch run`);
  }
  if (opts.urgentIf !== undefined) {
    const rule = parseUrgentRule(opts.urgentIf);
    if (typeof rule === 'string') throw new CliError(`--urgent-if: ${rule}`);
  }
  if (opts.sample === undefined && (opts.runId !== undefined || opts.mode !== 'realtime')) {
    throw new CliError('--mode and --run-id apply to the run that --sample N starts: add --sample N');
  }
  if (opts.cacheTtl <= 0) throw new CliError('--cache-ttl must be longer than 0');
  let pricing: PricingTable;
  try {
    pricing = loadPricing(opts.pricing);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (opts.models !== undefined) {
    if (opts.models.length === 0) throw new CliError('--models: name at least one model, e.g. --models gpt-4o-mini,gpt-4.1-nano');
    const known = Object.keys(pricing.models).sort().join(', ');
    for (const m of opts.models) {
      try {
        priceFor(pricing, m);
      } catch {
        throw new CliError(`--models: no price for "${m}" in pricing table ${pricing.version}; known models: ${known} (or pass --pricing FILE with a table that lists it)`);
      }
    }
  }
  if (opts.route === undefined) return { pricing };
  // Read and checked as `run --route` checks them; hybrid: the estimate shows every mode, and a classifier rule has one in realtime and hybrid.
  return { pricing, routes: { rules: routeOption(opts.route, 'hybrid', opts.pricing).rules, file: opts.route } };
}

/** "estimate: 120,000 lines · 34,000 lines/s" on stderr, redrawn in place, on a TTY only. */
function progressLine(): { update(lines: number): void; done(): void } {
  if (!process.stderr.isTTY) return { update() {}, done() {} };
  const t0 = Date.now();
  let shown = 0;
  return {
    update(lines) {
      const now = Date.now();
      if (now - shown < 200) return;
      shown = now;
      const rate = lines / Math.max(0.001, (now - t0) / 1000);
      process.stderr.write(`\restimate: ${lines.toLocaleString('en-US')} lines · ${Math.round(rate).toLocaleString('en-US')} lines/s`);
    },
    done() {
      if (shown > 0) process.stderr.write('\r\x1b[K');
    },
  };
}

function printReport(r: EstimateReport, path: string, sample: SampleView | undefined, modelsAsked: boolean): void {
  for (const line of rejectLines(r, (rec) => describeReject(path, rec))) console.error(line);
  console.log(headerLine(r));
  console.log(modelsTable(r));
  console.log('* the model(s) the file names. ' + BOUNDS_NOTE);
  // Only for --models: by default the table's embedding models are left out of a chat file silently.
  if (modelsAsked && r.modelsWithoutLines.length > 0) console.log(dim(`Not shown: ${r.modelsWithoutLines.join(', ')} (the file has no request of their kind).`));
  console.log(leversTable(r));
  for (const note of leverNotes(r)) console.log(dim(note));
  const routing = routingTable(r);
  if (routing) {
    console.log(routing);
    console.log(routingMixLine(r));
  }
  console.log(cheapestLine(r));
  if (sample) {
    const meanMax = r.accepted > 0 ? r.asIs.maxOutputTokens / r.accepted : 0;
    for (const line of sampleLines(sample, meanMax)) console.log(line);
    console.log(nextStepLine(sample.runId));
  }
}

const HELP = `
The models table: one row per model of the pricing table (or of --models), every line of
the file sent to that model (chat models for chat lines, embedding models for embeddings).
  model          * marks the model(s) the file names; "as in the file" is each line at its own model
  encoding       the tokenizer the model counts with (o200k_base, cl100k_base)
  prompt tokens  exact, counted with that model's tokenizer, as OpenAI bills them
  output ≤       output at each line's max_tokens (1024 when a line gives none): the upper bound
  realtime       prompt + output at the model's price, no cache hit: what run reserves
  batch          the same through the Batch API, at the table's batchDiscount
  hybrid         urgent lines (metadata.priority "urgent", or --urgent-if) realtime, the rest batch

The levers table: what each lever would take off the file as it is (each line at its own model),
each on what the levers above it leave to send:
  exact duplicates in the file        lines whose request body an earlier line has (same model and
                                      parameters; custom_id and metadata aside): sent once, reused
  hits in the cache from earlier runs bodies the exact cache already holds an answer for: looked up
                                      in the item store run uses (LLM_BATCH_DATABASE_URL, else the
                                      data dir LLM_BATCH_HOME), answers no older than --cache-ttl
  prompt-prefix cache                 prompt tokens the provider's prompt cache can serve when each
                                      prefix group is dispatched together, as run does: per group of
                                      n lines sharing C ≥ 1,024 tokens, (n − 1) × C in 128-token
                                      steps (staging's own count), at the cached-input price
  routing rules                       with --route FILE: the rules' model mix (each line as staging
                                      routes it; a classifier rule's lines at its "otherwise" model,
                                      plus the rating calls at their upper bound) against each line's
                                      own model; a table shows lines and cost per model, with and
                                      without the rules. A rule's route (realtime/batch) shapes the
                                      hybrid column; a classifier rule's lines are realtime in all.
A lever shows "n/a (why)" when it is not available. The last line names the cheapest option: the
model (or the rules' mix) and mode that cost least once duplicates and cache hits are taken off.

--sample N starts a real run of the file (the run's machinery of --sample N --approve): N items
go through the provider, priced and counted in the store like any run, and the run's measured
sample gives the total with a 90% interval. The run then waits in awaiting_approval:
\`llm-batch approve RUN\` runs the rest of the file, \`llm-batch reject RUN\` ends it.

Invalid lines are reported as run --strict reports them (file:line: what is wrong) and left out.
Exit codes: 0 done; 1 the sampling run ended before its sample; 2 bad usage or input; 3 Temporal unreachable.`;

export function registerEstimateCommand(program: Command): void {
  program
    .command('estimate')
    .argument('<file>', 'OpenAI Batch input (.jsonl) or a prompts file (.txt, or .jsonl with prompt/messages)')
    .description('before anything is spent: the file\'s cost on every model in every mode, and what each lever saves')
    .option('--model <name>', 'model for a prompts file (batch lines name their own in body.model)')
    .option('--system <text>', 'system message for a prompts file')
    .option('--max-tokens <n>', 'max_tokens for a prompts file', positiveInt)
    .option('--pricing <file>', 'pricing table (JSON, same shape as pricing/pricing.json) instead of the bundled one')
    .option('--models <a,b>', 'compare only these models (default: every model of the pricing table)', modelList)
    .option('--urgent-if <rule>', 'for the hybrid column: also send these items realtime: feature=NAME or custom_id^=PREFIX, several separated by commas')
    .option('--sample <n>', 'also measure real output lengths on N items through the provider (starts a run that then awaits approval; needs Temporal and a worker)', positiveInt)
    .addOption(new Option('--mode <mode>', 'with --sample: the mode of the run it starts, which `approve` continues').choices(['realtime', 'batch', 'hybrid']).default('realtime'))
    .option('--run-id <id>', 'with --sample: id of the run it starts')
    .addOption(new Option('--cache-ttl <duration>', 'count cache hits on answers no older than this (e.g. 12h, 30d), as run --cache-ttl').argParser(durationMs).default(DEFAULT_CACHE_TTL_MS, `${DEFAULT_CACHE_TTL_MS / 86_400_000}d`))
    .option('--route <file>', 'routing rules (YAML or JSON, as run --route): show their model mix and what it saves')
    .option('--json', 'machine output: the whole report as JSON')
    .addHelpText('after', HELP)
    .action(async (file: string, opts: EstimateCliOptions) => {
      const path = resolve(file);
      const { pricing, routes } = await checkOptions(path, opts);
      const url = databaseUrl();
      const { levers, close } = await openEstimateLevers({ home: dataDir(), ...(url ? { databaseUrl: url } : {}), cacheTtlMs: opts.cacheTtl, ...(routes ? { routes } : {}) });
      const progress = opts.json ? { update() {}, done() {} } : progressLine();
      let report: EstimateReport;
      try {
        report = await estimateFile(path, {
          label: file,
          pricing,
          ...(opts.models ? { models: opts.models } : {}),
          defaults: { model: opts.model, system: opts.system, maxTokens: opts.maxTokens },
          ...(opts.urgentIf !== undefined ? { urgentIf: opts.urgentIf } : {}),
          levers,
          onProgress: (n) => progress.update(n),
        });
      } catch (e) {
        if (e instanceof UnknownModelError) throw new CliError(`${file}: ${e.message}`);
        throw e;
      } finally {
        progress.done();
        await close();
      }
      let sample: (SampleView & { status?: unknown }) | undefined;
      if (opts.sample !== undefined) {
        const client = await connectClient();
        const { status: _status, ...view } = await measureSample(client, file, {
          sample: opts.sample,
          mode: opts.mode,
          quiet: opts.json ?? false,
          ...(opts.model !== undefined ? { model: opts.model } : {}),
          ...(opts.system !== undefined ? { system: opts.system } : {}),
          ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
          ...(opts.pricing !== undefined ? { pricing: opts.pricing } : {}),
          // The rule routes a hybrid run; for a realtime or batch run it only shaped the hybrid column.
          ...(opts.urgentIf !== undefined && opts.mode === 'hybrid' ? { urgentIf: opts.urgentIf } : {}),
          ...(opts.route !== undefined ? { route: opts.route } : {}),
          cacheTtl: opts.cacheTtl,
          ...(opts.runId !== undefined ? { runId: opts.runId } : {}),
        });
        sample = view;
      }
      if (opts.json) {
        const out = sample ? { ...report, sample: { ...sample, approve: `llm-batch approve ${sample.runId}`, reject: `llm-batch reject ${sample.runId}` } } : report;
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      printReport(report, file, sample, opts.models !== undefined);
      if (report.accepted === 0 && report.rejected > 0) process.exitCode = EXIT.usage;
    });
}
