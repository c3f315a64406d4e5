// `npm run bench [-- limits|unlimited|stage|batch]`: the same input against the same emulator
// settings, run (a) by the naive baseline (bench/baseline.ts: openai SDK + p-limit) and
// (b) by llm-batch through Temporal (dev server, `llm-batch worker` process, startRun).
// Prints a table per scenario with the ratio llm-batch / baseline and a verdict per target.
// How the figures are measured: bench/README.md.
import { freePort } from '../src/dev/ports.ts';
import { benchStage } from './stage.ts';
import { benchBatch } from './batch.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import type { Client } from '@temporalio/client';
import { connectClient, DEFAULTS, startRun } from '../src/client.ts';
import { startDevServer, type RunningDevServer } from '../src/dev/dev-server.ts';
import type { RunConfig, RunStatus } from '../src/domain/run-types.ts';
import type { EmulatorStats } from '../src/emulator/server.ts';
import { MAX_TOKENS, writeBenchInput, type BenchInput } from './input.ts';
import { EmulatorSampler, steadyState, type LimitKind, type Sample, type SteadyState } from './measure.ts';
import { cpuSecondsOf, killAllChildrenNow, MemorySampler, runBaseline, spawnEmulator, spawnWorker, stopAllChildren, type MemoryReading } from './processes.ts';

interface Scenario {
  name: 'limits' | 'unlimited';
  title: string;
  items: number;
  concurrency: number;
  rpm?: number;
  tpm?: number;
  latencyMs: number;
  jitterMs: number;
}

const SCENARIOS: Record<Scenario['name'], Scenario> = {
  // TPM binds: ~154 tokens charged per item → ~2,590 requests/min against 3,000 RPM.
  // The emulator's bucket starts full (a minute's worth, ~2,590 items), so the input must
  // be larger than that for the baseline to leave the burst and reach a steady state at
  // all: 3,600 items (~1,000 past the burst); llm-batch, pacing at the limit, takes ~85 s.
  limits: { name: 'limits', title: 'limits: RPM 3,000 / TPM 400,000, latency 100 ± 50 ms, concurrency 64', items: 3600, concurrency: 64, rpm: 3000, tpm: 400_000, latencyMs: 100, jitterMs: 50 },
  unlimited: { name: 'unlimited', title: 'unlimited: no limits, latency 0, concurrency 64', items: 5000, concurrency: 64, latencyMs: 0, jitterMs: 0 },
};

interface SideResult {
  wallMs: number;
  succeeded: number;
  failed: number;
  stats: EmulatorStats;
  steady?: SteadyState;
  /** From the start of work to the first call the emulator served, and from the last one to the result. */
  firstCallMs?: number;
  tailMs?: number;
  memory: MemoryReading;
  /** CPU time of the Temporal dev server during the run (llm-batch only). */
  serverCpuSeconds?: number;
}

/** Lead-in (start → first served call) and tail (last served call → result), from the emulator's samples. */
function edges(samples: Sample[], startedAt: number, endedAt: number): { firstCallMs?: number; tailMs?: number } {
  const final = samples[samples.length - 1]?.served ?? 0;
  const first = samples.find((x) => x.served > 0);
  const last = samples.find((x) => x.served === final);
  return first && last && final > 0 ? { firstCallMs: first.t - startedAt, tailMs: endedAt - last.t } : {};
}

interface ScenarioResult {
  scenario: Scenario;
  input: BenchInput;
  binding?: LimitKind;
  baseline: SideResult;
  llmBatch: SideResult;
}

const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

function emulatorArgs(s: Scenario): string[] {
  const args = ['--latency-ms', String(s.latencyMs), '--jitter-ms', String(s.jitterMs)];
  if (s.rpm) args.push('--rpm', String(s.rpm));
  if (s.tpm) args.push('--tpm', String(s.tpm));
  return args;
}

/** Which limit the input hits first: requests per minute, or tokens per minute at its average charge. */
function bindingLimit(s: Scenario, input: BenchInput): LimitKind | undefined {
  if (!s.rpm && !s.tpm) return undefined;
  const byRequests = s.rpm ?? Infinity;
  const byTokens = s.tpm ? s.tpm / (input.chargeTokens / input.items) : Infinity;
  return byTokens < byRequests ? 'tokens' : 'requests';
}

async function runScenario(s: Scenario, dir: string, temporal: { address: string; client: Client; serverPid: number }): Promise<ScenarioResult> {
  const input = writeBenchInput(join(dir, `${s.name}.jsonl`), s.items);
  const binding = bindingLimit(s, input);
  const limits = { requests: s.rpm ?? 0, tokens: s.tpm ?? 0 };
  log(`${s.name}: ${input.items} items, prompts ${input.minPrompt}–${input.maxPrompt} tokens (avg ${(input.promptTokens / input.items).toFixed(1)}), max_tokens ${MAX_TOKENS}${binding ? `, binding limit: ${binding}` : ''}`);

  // (a) the naive baseline, against a fresh emulator.
  let emu = await spawnEmulator(emulatorArgs(s));
  let sampler = new EmulatorSampler(emu.origin, MAX_TOKENS);
  log(`${s.name}: (a) baseline: openai SDK + p-limit(${s.concurrency}) …`);
  const base = await runBaseline(input.path, join(dir, `${s.name}-baseline-output.jsonl`), emu.baseUrl, s.concurrency);
  let stats = await sampler.stop();
  await emu.stop();
  const baseline: SideResult = {
    wallMs: base.report.endedAt - base.report.startedAt,
    succeeded: base.report.succeeded,
    failed: base.report.failed,
    stats,
    memory: base.memory,
    ...edges(sampler.samples, base.report.startedAt, base.report.endedAt),
  };
  if (binding) baseline.steady = steadyState(sampler.samples, limits, binding);
  log(`${s.name}: (a) done in ${(baseline.wallMs / 1000).toFixed(1)} s: ${baseline.succeeded} succeeded, ${baseline.failed} failed ${JSON.stringify(base.report.errors)}`);

  // (b) llm-batch through Temporal, against a fresh emulator (full buckets, zeroed stats).
  emu = await spawnEmulator(emulatorArgs(s));
  const taskQueue = `bench-${s.name}-${Date.now()}`;
  log(`${s.name}: (b) llm-batch: starting a worker process …`);
  const worker = await spawnWorker({ temporalAddress: temporal.address, home: join(dir, `home-${s.name}`), baseURL: emu.baseUrl, taskQueue });
  const mem = new MemorySampler(worker.pid);
  sampler = new EmulatorSampler(emu.origin, MAX_TOKENS);
  const config: RunConfig = {
    mode: 'realtime',
    ...DEFAULTS,
    runId: `bench-${s.name}-${Date.now()}`,
    inputPath: input.path,
    concurrency: s.concurrency,
    ...(s.rpm ? { rpm: s.rpm } : {}),
    ...(s.tpm ? { tpm: s.tpm } : {}),
  };
  log(`${s.name}: (b) llm-batch: run ${config.runId} (concurrency ${config.concurrency}${s.rpm ? `, --rpm ${s.rpm} --tpm ${s.tpm}` : ''}) …`);
  const serverCpu0 = cpuSecondsOf(temporal.serverPid) ?? 0;
  const t0 = Date.now();
  const handle = await startRun(temporal.client, config, taskQueue);
  const status = (await handle.result()) as RunStatus;
  const t1 = Date.now();
  const wallMs = t1 - t0;
  const memory = mem.read(); // before the worker exits: VmHWM is gone with the process
  const serverCpuSeconds = (cpuSecondsOf(temporal.serverPid) ?? 0) - serverCpu0;
  stats = await sampler.stop();
  await worker.stop();
  await emu.stop();
  if (status.state !== 'completed') throw new Error(`llm-batch run ended ${status.state}: ${status.error ?? ''}`);
  const llmBatch: SideResult = { wallMs, succeeded: status.counts.succeeded, failed: status.counts.failed, stats, memory, serverCpuSeconds, ...edges(sampler.samples, t0, t1) };
  if (binding) llmBatch.steady = steadyState(sampler.samples, limits, binding);
  log(`${s.name}: (b) done in ${(wallMs / 1000).toFixed(1)} s: ${llmBatch.succeeded} succeeded, ${llmBatch.failed} failed`);
  return { scenario: s, input, binding, baseline, llmBatch };
}

// ---- report ---------------------------------------------------------------------------

const f1 = (n: number): string => n.toFixed(1);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);
const itemsPerSec = (r: SideResult): number => r.succeeded / (r.wallMs / 1000);
const rate429 = (r: SideResult): number => (r.stats.requests ? r.stats.rateLimited / r.stats.requests : 0);

interface Verdict {
  pass: boolean;
  text: string;
}

function report(r: ScenarioResult): { table: string; verdicts: Verdict[] } {
  const { baseline: a, llmBatch: b, scenario: s } = r;
  const table = new Table({ head: [s.title, 'baseline', 'llm-batch', 'llm-batch / baseline'], style: { head: [], border: [] } });
  const row = (label: string, va: string, vb: string, ra = '') => table.push([label, va, vb, ra]);
  row('items succeeded / failed', `${int(a.succeeded)} / ${int(a.failed)}`, `${int(b.succeeded)} / ${int(b.failed)}`);
  row('wall time, start of work → last result', `${f1(a.wallMs / 1000)} s`, `${f1(b.wallMs / 1000)} s`, ratio(b.wallMs, a.wallMs));
  const sec = (ms?: number) => (ms === undefined ? 'n/a' : `${f1(Math.max(0, ms) / 1000)} s`);
  row('  of which: start → first call served', sec(a.firstCallMs), sec(b.firstCallMs));
  row('  of which: last call served → result', sec(a.tailMs), sec(b.tailMs));
  row('items/s (succeeded ÷ wall time)', f1(itemsPerSec(a)), f1(itemsPerSec(b)), ratio(itemsPerSec(b), itemsPerSec(a)));
  if (r.binding) {
    const steadyCell = (x: SideResult, k: 'requests' | 'tokens', limit: number) =>
      x.steady ? `${int(x.steady[k].perMinute)}/min = ${pct(x.steady[k].fraction)} of ${int(limit)}` : 'n/a (no steady state)';
    const window = (x: SideResult) => (x.steady ? `${f1(x.steady.fromMs / 1000)}–${f1(x.steady.toMs / 1000)} s` : 'n/a');
    row('steady-state window (after first admission)', window(a), window(b));
    const mark = (k: LimitKind) => (r.binding === k ? ' (binding)' : '');
    row(`achieved RPM, steady state${mark('requests')}`, steadyCell(a, 'requests', s.rpm!), steadyCell(b, 'requests', s.rpm!), ratio(b.steady?.requests.fraction, a.steady?.requests.fraction));
    row(`achieved TPM, steady state${mark('tokens')}`, steadyCell(a, 'tokens', s.tpm!), steadyCell(b, 'tokens', s.tpm!), ratio(b.steady?.tokens.fraction, a.steady?.tokens.fraction));
    row(
      'binding limit: share of capacity incl. initial full bucket',
      a.steady ? pct(a.steady.burstInclusiveFraction) : 'n/a',
      b.steady ? pct(b.steady.burstInclusiveFraction) : 'n/a',
      ratio(b.steady?.burstInclusiveFraction, a.steady?.burstInclusiveFraction),
    );
  }
  row('calls received by the emulator', int(a.stats.requests), int(b.stats.requests), ratio(b.stats.requests, a.stats.requests));
  row('429 answers (% of calls)', `${int(a.stats.rateLimited)} (${pct(rate429(a))})`, `${int(b.stats.rateLimited)} (${pct(rate429(b))})`);
  row('CPU time of the process doing the work (s)', f1(a.memory.cpuSeconds), f1(b.memory.cpuSeconds), ratio(b.memory.cpuSeconds, a.memory.cpuSeconds));
  row('  + CPU time of the Temporal dev server (s)', 'n/a', f1(b.serverCpuSeconds ?? 0));
  row('worker RSS when the run started, idle (MiB)', 'n/a', f1(b.memory.atStartMiB));
  row('peak RSS during the work, sampled (MiB)', f1(a.memory.sampledPeakMiB), f1(b.memory.sampledPeakMiB), ratio(b.memory.sampledPeakMiB, a.memory.sampledPeakMiB));
  row('VmHWM, whole process life (MiB)', f1(a.memory.vmHwmMiB), f1(b.memory.vmHwmMiB), ratio(b.memory.vmHwmMiB, a.memory.vmHwmMiB));

  const verdicts: Verdict[] = [];
  if (s.name === 'limits') {
    const k = r.binding!;
    const frac = b.steady?.[k].fraction ?? 0;
    const share429 = rate429(b);
    const pass = frac >= 0.95 && share429 < 0.01 && b.failed === 0;
    verdicts.push({
      pass,
      text: `limits: llm-batch reaches ${pct(frac)} of the binding ${k === 'tokens' ? 'TPM' : 'RPM'} limit (target ≥ 95%) with ${pct(share429)} of calls answered 429 (target < 1%), ${b.failed} failed`,
    });
  } else {
    const x = itemsPerSec(b) / itemsPerSec(a);
    verdicts.push({ pass: x >= 0.5 && b.failed === 0, text: `unlimited: llm-batch items/s is ${pct(x)} of the baseline's (target ≥ 50%)` });
  }
  return { table: table.toString(), verdicts };
}

// ---- main -----------------------------------------------------------------------------

/** Set on SIGINT/SIGTERM: the signal handler cleans up and exits; main's own failure is then expected. */
let interrupted = false;

async function main(): Promise<number> {
  const arg = process.argv[2];
  if (arg === 'stage') {
    await benchStage();
    return 0;
  }
  if (arg === 'batch') return benchBatch();
  if (arg !== undefined && !(arg in SCENARIOS)) {
    console.error(`unknown scenario "${arg}": use limits, unlimited, stage, batch, or nothing for limits + unlimited`);
    return 2;
  }
  const scenarios = arg ? [SCENARIOS[arg as Scenario['name']]] : [SCENARIOS.limits, SCENARIOS.unlimited];
  const dir = mkdtempSync(join(tmpdir(), 'llm-batch-bench-'));
  let server: RunningDevServer | undefined;
  let client: Client | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      // Interrupted, the client may still be long-polling the run's result: leave its
      // connection to process exit (closing it under a pending retry throws from a timer).
      if (!interrupted) await client?.connection.close().catch(() => {});
      await stopAllChildren();
      await server?.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    // What was in flight fails as its processes go away; that must not cut the cleanup short.
    process.on('uncaughtException', () => {});
    process.on('unhandledRejection', () => {});
    log(`${sig}: stopping every child process and removing ${dir}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => {
    killAllChildrenNow();
    server?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const t0 = Date.now();
  const results: ScenarioResult[] = [];
  try {
    log('starting a Temporal dev server …');
    server = await startDevServer({ dataDir: join(dir, 'temporal'), port: await freePort(), uiPort: 0, ui: false });
    client = await connectClient(server.address);
    for (const s of scenarios) results.push(await runScenario(s, dir, { address: server.address, client, serverPid: server.process.pid! }));
  } finally {
    await cleanup();
  }

  console.log(`\nllm-batch benchmark: ${new Date().toISOString()}, Node ${process.version}, total ${f1((Date.now() - t0) / 1000)} s\n`);
  const verdicts: Verdict[] = [];
  for (const r of results) {
    const { table, verdicts: v } = report(r);
    console.log(table);
    console.log('');
    verdicts.push(...v);
  }
  for (const v of verdicts) console.log(`${v.pass ? 'PASS' : 'FAIL'}  ${v.text}`);
  return verdicts.every((v) => v.pass) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (interrupted) return;
    console.error(`bench failed: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
