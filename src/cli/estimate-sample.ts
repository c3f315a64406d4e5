// `estimate --sample N`: real output lengths, measured by the machinery `run --sample N
// --approve` already has. It starts a real run of the file with a sample and approval,
// waits until the run has measured its sample (state awaiting_approval), and reads the
// sample's extrapolated total with its 90% interval from the run's status. The run is left
// waiting: `llm-batch approve RUN` runs the rest, `llm-batch reject RUN` ends it. Its sample
// is priced and counted in the store like any run's.
import type { Client } from '@temporalio/client';
import type { RunMode, RunStatus } from '../domain/run-types.ts';
import { DEFAULTS, getRunStatus, isFinished } from '../client.ts';
import { startRunFromFile, type RunOptions } from './run.ts';
import { CliError, EXIT } from './options.ts';
import type { SampleView } from './estimate-format.ts';

export interface SampleOptions {
  sample: number;
  mode: RunMode;
  model?: string;
  system?: string;
  maxTokens?: number;
  pricing?: string;
  urgentIf?: string;
  /** --route FILE and --cache-ttl: the run `approve` continues uses the rules and the cache the estimate measured. */
  route?: string;
  cacheTtl?: number;
  runId?: string;
  /** No progress lines on stderr. */
  quiet?: boolean;
  /** How often the run's status is read. */
  pollMs?: number;
}

/** After this long in staging, the user hears that a worker may be missing. */
const NO_WORKER_HINT_MS = 20_000;

/** The run options of the sampling run: the defaults of `run`, with a sample and approval. */
export function sampleRunOptions(o: SampleOptions): RunOptions {
  const opts: RunOptions = {
    concurrency: DEFAULTS.concurrency,
    chunkSize: DEFAULTS.chunkSize,
    maxChunksInFlight: DEFAULTS.maxChunksInFlight,
    maxAttempts: DEFAULTS.maxAttemptsPerItem,
    requestTimeout: DEFAULTS.requestTimeoutMs,
    heartbeatTimeout: DEFAULTS.heartbeatTimeoutMs,
    continueAsNewAfter: DEFAULTS.continueAsNewAfterEvents,
    sample: o.sample,
    approve: true,
    mode: o.mode,
    json: o.quiet ?? false,
  };
  if (o.model !== undefined) opts.model = o.model;
  if (o.system !== undefined) opts.system = o.system;
  if (o.maxTokens !== undefined) opts.maxTokens = o.maxTokens;
  if (o.pricing !== undefined) opts.pricing = o.pricing;
  if (o.urgentIf !== undefined) opts.urgentIf = o.urgentIf;
  if (o.route !== undefined) opts.route = o.route;
  if (o.cacheTtl !== undefined) opts.cacheTtl = o.cacheTtl;
  if (o.runId !== undefined) opts.runId = o.runId;
  return opts;
}

/** Starts the sampling run and waits for its measured sample; the run is left awaiting approval. */
export async function measureSample(client: Client, file: string, o: SampleOptions): Promise<SampleView & { status: RunStatus }> {
  const config = await startRunFromFile(client, file, sampleRunOptions(o));
  const say = (m: string): void => void (o.quiet || process.stderr.write(`${m}\n`));
  say(`sampling ${o.sample} items through the provider: run ${config.runId} (llm-batch status ${config.runId}) …`);
  let last = '';
  const started = Date.now();
  let hinted = false;
  for (;;) {
    const s = await getRunStatus(client, config.runId);
    if (s.state === 'awaiting_approval') {
      if (!s.sample) throw new CliError(`run ${config.runId} awaits approval without a measured sample; see llm-batch status ${config.runId}`, EXIT.runNotCompleted);
      return { runId: config.runId, mode: config.mode, spentUsd: s.costUsd.spent, sample: s.sample, status: s };
    }
    if (isFinished(s)) {
      throw new CliError(`the sampling run ${config.runId} ended in state ${s.state} before its sample was measured${s.error ? `: ${s.error}` : ''}`, EXIT.runNotCompleted);
    }
    if (s.state === 'staging' && !hinted && Date.now() - started > NO_WORKER_HINT_MS) {
      hinted = true;
      say(`  still staging after ${NO_WORKER_HINT_MS / 1000} s: is a worker running on this task queue? (llm-batch dev, or llm-batch worker)`);
    }
    const now = `  ${s.state}: ${s.counts.succeeded + s.counts.failed} done`;
    if (now !== last) say(now);
    last = now;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
  }
}

/** What the user does next with the run left awaiting approval. */
export const nextStepLine = (runId: string): string =>
  `The run waits in awaiting_approval: llm-batch approve ${runId} runs the rest of the file; llm-batch reject ${runId} ends it (the sample's results are kept).`;
