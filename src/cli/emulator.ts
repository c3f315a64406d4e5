// `llm-batch emulator`: runs the OpenAI-compatible emulator in the foreground.
import type { Command } from 'commander';
import { z } from 'zod';
import { formatGoDuration } from '../domain/go-duration.ts';
import { DEFAULT_OPTIONS, parseLimitWindow, parseOutage, parsePromptCacheTtl, type EmulatorOptions } from '../emulator/options.ts';
import { startEmulator } from '../emulator/server.ts';

const intText = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

const rateText = (name: string) =>
  z
    .string()
    .regex(/^(\d+(\.\d*)?|\.\d+)$/, `${name} must be a number between 0 and 1`)
    .transform(Number)
    .pipe(z.number().min(0).max(1, `${name} must be between 0 and 1`));

const CliOptionsSchema = z.object({
  port: intText('--port', 0, 65535),
  host: z.string().min(1, '--host must not be empty'),
  rpm: intText('--rpm', 0).optional(),
  tpm: intText('--tpm', 0).optional(),
  limitWindow: z.string().optional(),
  latencyMs: intText('--latency-ms', 0),
  jitterMs: intText('--jitter-ms', 0),
  errorRate: rateText('--error-rate'),
  outage: z.array(z.string()),
  malformedRate: rateText('--malformed-rate'),
  hangRate: rateText('--hang-rate'),
  schemaViolationRate: rateText('--schema-violation-rate').optional(),
  quotaExhausted: z.boolean(),
  seed: z.string().regex(/^-?\d+$/, '--seed must be a whole number').transform(Number),
  batchValidatingMs: intText('--batch-validating-ms', 0),
  batchInProgressMs: intText('--batch-in-progress-ms', 0),
  batchFinalizingMs: intText('--batch-finalizing-ms', 0),
  batchLineErrorRate: rateText('--batch-line-error-rate'),
  batchExpireAfter: rateText('--batch-expire-after').optional(),
  batchEnqueuedTokenLimit: intText('--batch-enqueued-token-limit', 0).optional(),
  refuseUpload: z.array(z.string().regex(/^[1-9]\d*$/, '--refuse-upload must be a whole number ≥ 1 (the Nth batch input upload)').transform(Number)).optional(),
  refuseBatchCreate: z.array(z.string().regex(/^[1-9]\d*$/, '--refuse-batch-create must be a whole number ≥ 1 (the Nth batch creation)').transform(Number)).optional(),
  promptCacheTtl: z.string().optional(),
  promptCacheMachines: intText('--prompt-cache-machines', 1, 100_000).optional(),
  promptCacheOverflowRpm: intText('--prompt-cache-overflow-rpm', 1).optional(),
  packDropRate: rateText('--pack-drop-rate').optional(),
  booleanFalseRate: rateText('--boolean-false-rate').optional(),
});

/** Turns raw commander values into emulator options; throws a message naming the flag. */
export function emulatorOptionsFromCli(raw: Record<string, unknown>): Partial<EmulatorOptions> {
  const r = CliOptionsSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
  const o = r.data;
  const outages = o.outage.map((s) => {
    try {
      return parseOutage(s);
    } catch (err) {
      throw new Error(`--outage: ${(err as Error).message}`);
    }
  });
  const limitWindowMs = o.limitWindow === undefined ? DEFAULT_OPTIONS.limitWindowMs : parseLimitWindow(o.limitWindow);
  const promptCacheTtlMs = o.promptCacheTtl === undefined ? DEFAULT_OPTIONS.promptCacheTtlMs : parsePromptCacheTtl(o.promptCacheTtl);
  if (o.errorRate + o.malformedRate + o.hangRate > 1) {
    throw new Error('--error-rate + --malformed-rate + --hang-rate must not exceed 1');
  }
  return {
    host: o.host,
    port: o.port,
    rpm: o.rpm || undefined,
    tpm: o.tpm || undefined,
    limitWindowMs,
    latencyMs: o.latencyMs,
    jitterMs: o.jitterMs,
    errorRate: o.errorRate,
    outages,
    malformedRate: o.malformedRate,
    hangRate: o.hangRate,
    schemaViolationRate: o.schemaViolationRate ?? 0,
    quotaExhausted: o.quotaExhausted,
    seed: o.seed,
    batchValidatingMs: o.batchValidatingMs,
    batchInProgressMs: o.batchInProgressMs,
    batchFinalizingMs: o.batchFinalizingMs,
    batchLineErrorRate: o.batchLineErrorRate,
    batchExpireAfter: o.batchExpireAfter,
    batchEnqueuedTokenLimit: o.batchEnqueuedTokenLimit || undefined,
    refuseUploads: o.refuseUpload ?? [],
    refuseBatchCreates: o.refuseBatchCreate ?? [],
    promptCacheTtlMs,
    promptCacheMachines: o.promptCacheMachines ?? DEFAULT_OPTIONS.promptCacheMachines,
    promptCacheOverflowRpm: o.promptCacheOverflowRpm ?? DEFAULT_OPTIONS.promptCacheOverflowRpm,
    packDropRate: o.packDropRate ?? DEFAULT_OPTIONS.packDropRate,
    ...(o.booleanFalseRate !== undefined ? { booleanFalseRate: o.booleanFalseRate } : {}),
  };
}

export function registerEmulatorCommand(program: Command): Command {
  return program
    .command('emulator')
    .description(
      'Run the built-in OpenAI-compatible emulator (chat completions, embeddings, models, and the Files and Batch APIs) with configurable rate limits, latency and faults. Free rehearsal for a large job.',
    )
    .option('--port <n>', 'port to listen on (0 = any free port)', '8090')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--rpm <n>', 'requests-per-minute limit (0 or unset = unlimited)')
    .option('--tpm <n>', 'tokens-per-minute limit, charged prompt + max_tokens before each call (0 or unset = unlimited)')
    .option(
      '--limit-window <D>',
      'window over which --rpm/--tpm are enforced, as OpenAI does ("1 request per second for a 60 RPM limit"); 60s = a whole minute\'s burst (1ms..60s)',
      formatGoDuration(DEFAULT_OPTIONS.limitWindowMs),
    )
    .option('--latency-ms <n>', 'delay before each answer, in ms', '0')
    .option('--jitter-ms <n>', 'uniform ± jitter around --latency-ms, in ms', '0')
    .option('--error-rate <x>', 'share of calls (0..1) answered 500 or 503', '0')
    .option(
      '--outage <START:DURATION>',
      'window after start when every call gets 503, e.g. 30s:20s, 1m:5s or 5000:2000 (ms); repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--malformed-rate <x>', 'share of calls (0..1) answered 200 with truncated JSON', '0')
    .option('--hang-rate <x>', 'share of calls (0..1) never answered', '0')
    .option('--schema-violation-rate <x>', 'share of Structured Outputs answers (0..1; response_format json_schema, chat and Batch API lines) whose content breaks the schema: a required field left out or a field of the wrong type. Drawn per request from --seed; a repeat of a request gets a fresh draw', '0')
    .option('--quota-exhausted', 'answer every call 429 insufficient_quota (not retryable)', false)
    .option('--seed <n>', 'seed of the fault decisions', '1')
    .option('--batch-validating-ms <n>', 'Batch API: how long a batch stays "validating", in ms', String(DEFAULT_OPTIONS.batchValidatingMs))
    .option(
      '--batch-in-progress-ms <n>',
      'Batch API: time to run all lines of a batch, in ms (request_counts grow linearly over it)',
      String(DEFAULT_OPTIONS.batchInProgressMs),
    )
    .option('--batch-finalizing-ms <n>', 'Batch API: how long "finalizing" and "cancelling" last, in ms', String(DEFAULT_OPTIONS.batchFinalizingMs))
    .option('--batch-line-error-rate <x>', 'Batch API: share of lines (0..1) answered 500 in the error file', String(DEFAULT_OPTIONS.batchLineErrorRate))
    .option('--batch-expire-after <x>', 'Batch API: a batch expires once this share (0..1) of its lines is done (unset = never)')
    .option('--batch-enqueued-token-limit <n>', 'Batch API: enqueued prompt tokens per model over unfinished batches; a batch past it fails (0 or unset = unlimited)')
    .option(
      '--refuse-upload <N>',
      'Batch API: answer the Nth batch input upload (purpose=batch, counted from 1 after the upload checks) 400 invalid_request_error, as the provider refuses a file; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--refuse-batch-create <N>',
      'Batch API: answer the Nth POST /v1/batches (counted from 1) 400 invalid_request_error, as the provider refuses a batch; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--prompt-cache-ttl <D>',
      'prompt cache: a cached prefix unused this long may be evicted, and is after twice this (OpenAI: 5 to 10 minutes); scale it down to rehearse eviction, e.g. 20s',
      formatGoDuration(DEFAULT_OPTIONS.promptCacheTtlMs),
    )
    .option('--prompt-cache-machines <n>', 'prompt cache: machines that requests are routed over by a hash of their first 256 tokens and prompt_cache_key; each caches what it served', String(DEFAULT_OPTIONS.promptCacheMachines))
    .option('--boolean-false-rate <x>', 'Structured Outputs: share of boolean fields (0..1) drawn false, seeded per request so the same request gets the same answer (unset = half). Models a model that answers yes/no fields "no" at this rate, e.g. a judge failing that share of answers (rehearses `run --judge-model`)')
    .option('--prompt-cache-overflow-rpm <n>', 'prompt cache: requests a minute for one prefix and prompt_cache_key that its machine takes; the excess is spread over other machines (OpenAI: about 15)', String(DEFAULT_OPTIONS.promptCacheOverflowRpm))
    .option('--pack-drop-rate <x>', 'share of packed requests (several numbered requests in one call, answered as {results: [{id, answer}]}) whose answer leaves one id out, drawn from --seed and the request', String(DEFAULT_OPTIONS.packDropRate))
    .addHelpText(
      'after',
      '\nExamples:\n  llm-batch emulator --rpm 500 --tpm 200000\n  llm-batch emulator --error-rate 0.05 --outage 30s:20s --latency-ms 200 --jitter-ms 100\n  llm-batch emulator --batch-in-progress-ms 60000 --batch-line-error-rate 0.01 --batch-enqueued-token-limit 2000000\n  llm-batch emulator --refuse-upload 2         # the second batch input file is refused with 400\n  llm-batch emulator --prompt-cache-ttl 20s    # cached prefixes evicted after 20-40 s unused instead of 5-10 min\n',
    )
    .action(async function (this: Command) {
      let options: Partial<EmulatorOptions>;
      try {
        options = emulatorOptionsFromCli(this.opts());
      } catch (err) {
        this.error(`error: ${(err as Error).message}`, { exitCode: 2 });
      }
      let emu;
      try {
        emu = await startEmulator(options);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const hint = e.code === 'EADDRINUSE' ? ` (port ${options.port} is in use; pick another with --port, or --port 0)` : '';
        this.error(`error: cannot start the emulator: ${e.message}${hint}`, { exitCode: 1 });
      }
      const window = options.rpm || options.tpm ? `, enforced per ${formatGoDuration(options.limitWindowMs ?? DEFAULT_OPTIONS.limitWindowMs)}` : '';
      const limits = `rpm ${options.rpm ?? 'unlimited'}, tpm ${options.tpm ?? 'unlimited'}${window}`;
      process.stdout.write(
        `OpenAI emulator listening on ${emu.baseUrl} (${limits})\n` +
          `  export OPENAI_BASE_URL=${emu.baseUrl}\n` +
          `  export OPENAI_API_KEY=emulator\n` +
          `Stats: ${emu.baseUrl.replace(/\/v1$/, '')}/_emulator/stats   Ctrl-C to stop.\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void emu.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      const s = emu.stats();
      process.stdout.write(`Emulator stopped: ${s.requests} requests, ${s.served} served, ${s.rateLimited} rate-limited.\n`);
    });
}
