// The two sides of a scenario, each against its own fresh emulator (full buckets, zeroed
// counters), measured on the emulator's side by bench/measure.ts:
// - the naive baseline: N scripts at once (bench/baseline.ts), each with 1/N of the input;
// - llm-batch: N `llm-batch worker` processes on one task queue and one data dir (sharing
//   one pacing budget through a real redis-server when N > 1), one run started with
//   startRun and awaited.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { DEFAULTS, startRun } from '../src/client.ts';
import { startRedisServer } from '../src/dev/redis-server.ts';
import type { RunConfig, RunStatus } from '../src/domain/run-types.ts';
import type { EmulatorStats } from '../src/emulator/server.ts';
import { MAX_TOKENS, type BenchInput } from './input.ts';
import { EmulatorSampler, servedSpan, steadyState, type LimitKind, type Sample, type SteadyState } from './measure.ts';
import { cpuSecondsOf, MemorySampler, runBaseline, spawnEmulator, spawnWorker, trackOther, type MemoryReading } from './processes.ts';
import { emulatorArgs, type Scenario } from './scenarios.ts';

export interface SideResult {
  wallMs: number;
  succeeded: number;
  failed: number;
  /** Baseline: its failures by kind (http_429, …). */
  errors?: Record<string, number>;
  stats: EmulatorStats;
  samples: Sample[];
  steady?: SteadyState;
  /** From the start of work to the first call the emulator served, and from the last one to the result. */
  firstCallMs?: number;
  tailMs?: number;
  /** From the first call served to the last, on the emulator's side. */
  servedSpanMs?: number;
  /** Summed over the side's processes. */
  memory: MemoryReading;
  /** CPU seconds of each process doing the work. */
  cpuPerProcess: number[];
  /** CPU time of the Temporal dev server during the run (llm-batch only). */
  serverCpuSeconds?: number;
}

export interface Temporal {
  address: string;
  client: Client;
  serverPid: number;
}

export const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

/** Lead-in (start → first served call), tail (last served call → result) and first → last served, from the emulator's samples. */
function edges(samples: Sample[], startedAt: number, endedAt: number): Pick<SideResult, 'firstCallMs' | 'tailMs' | 'servedSpanMs'> {
  const span = servedSpan(samples);
  return span ? { firstCallMs: span.first - startedAt, tailMs: endedAt - span.last, servedSpanMs: span.last - span.first } : {};
}

function sumMemory(ms: MemoryReading[]): MemoryReading {
  const sum = (f: (m: MemoryReading) => number) => ms.reduce((a, m) => a + f(m), 0);
  return { sampledPeakMiB: sum((m) => m.sampledPeakMiB), vmHwmMiB: sum((m) => m.vmHwmMiB), atStartMiB: sum((m) => m.atStartMiB), cpuSeconds: sum((m) => m.cpuSeconds) };
}

/** Splits the input into `n` contiguous parts (one per baseline script). */
function splitInput(input: BenchInput, n: number): string[] {
  if (n === 1) return [input.path];
  const lines = readFileSync(input.path, 'utf8').split('\n').filter((l) => l !== '');
  const per = Math.ceil(lines.length / n);
  return Array.from({ length: n }, (_, i) => {
    const path = input.path.replace(/\.jsonl$/, `-part${i + 1}.jsonl`);
    writeFileSync(path, `${lines.slice(i * per, (i + 1) * per).join('\n')}\n`);
    return path;
  });
}

const limitsOf = (s: Scenario) => ({ requests: s.rpm ?? 0, tokens: s.tpm ?? 0 });

/** (a) the naive baseline: `s.processes` scripts at once, each with its share of the input. */
export async function runBaselineSide(s: Scenario, input: BenchInput, dir: string, binding: LimitKind | undefined): Promise<SideResult> {
  const parts = splitInput(input, s.processes);
  const emu = await spawnEmulator(emulatorArgs(s));
  const sampler = new EmulatorSampler(emu.origin, MAX_TOKENS);
  log(`${s.name}: (a) baseline: ${parts.length > 1 ? `${parts.length} scripts at once, each ` : ''}openai SDK + p-limit(${s.baselineConcurrency}) …`);
  const runs = await Promise.all(parts.map((p, i) => runBaseline(p, join(dir, `${s.name}-baseline-output-${i + 1}.jsonl`), emu.baseUrl, s.baselineConcurrency)));
  const stats = await sampler.stop();
  await emu.stop();
  const startedAt = Math.min(...runs.map((r) => r.report.startedAt));
  const endedAt = Math.max(...runs.map((r) => r.report.endedAt));
  const errors: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.report.errors)) errors[k] = (errors[k] ?? 0) + v;
  const side: SideResult = {
    wallMs: endedAt - startedAt,
    succeeded: runs.reduce((a, r) => a + r.report.succeeded, 0),
    failed: runs.reduce((a, r) => a + r.report.failed, 0),
    errors,
    stats,
    samples: sampler.samples,
    memory: sumMemory(runs.map((r) => r.memory)),
    cpuPerProcess: runs.map((r) => r.memory.cpuSeconds),
    ...edges(sampler.samples, startedAt, endedAt),
  };
  if (binding) side.steady = steadyState(sampler.samples, limitsOf(s), binding);
  log(`${s.name}: (a) done in ${(side.wallMs / 1000).toFixed(1)} s: ${side.succeeded} succeeded, ${side.failed} failed ${JSON.stringify(errors)}`);
  return side;
}

/** (b) llm-batch through Temporal: `s.processes` workers (sharing pacing through Redis when more than one), one run. */
export async function runLlmBatchSide(s: Scenario, input: BenchInput, dir: string, temporal: Temporal, binding: LimitKind | undefined): Promise<SideResult> {
  const emu = await spawnEmulator(emulatorArgs(s));
  const shared = s.processes > 1;
  const redis = shared ? await startRedisServer({ dataDir: join(dir, `redis-${s.name}`) }) : undefined;
  const untrackRedis = redis ? trackOther(redis) : () => {};
  if (redis) log(`${s.name}: (b) redis-server at ${redis.url}`);
  const taskQueue = `bench-${s.name}-${Date.now()}`;
  // One data dir for all workers: the item store is one SQLite file per data dir (a shared PostgreSQL store is a later issue).
  const home = join(dir, `home-${s.name}`);
  log(`${s.name}: (b) llm-batch: starting ${s.processes} worker process${s.processes > 1 ? 'es' : ''} …`);
  const workers = await Promise.all(
    Array.from({ length: s.processes }, () =>
      spawnWorker({
        temporalAddress: temporal.address,
        home,
        baseURL: emu.baseUrl,
        taskQueue,
        ...(redis ? { extraEnv: { LLM_BATCH_REDIS_URL: redis.url }, expectOnStderr: /rate limits shared through Redis/ } : {}),
      }),
    ),
  );
  const mems = workers.map((w) => new MemorySampler(w.pid));
  const sampler = new EmulatorSampler(emu.origin, MAX_TOKENS);
  const config: RunConfig = {
    mode: 'realtime',
    ...DEFAULTS,
    runId: `bench-${s.name}-${Date.now()}`,
    inputPath: input.path,
    concurrency: s.concurrency,
    ...(s.chunkSize ? { chunkSize: s.chunkSize } : {}),
    ...(s.maxChunksInFlight ? { maxChunksInFlight: s.maxChunksInFlight } : {}),
  };
  log(
    `${s.name}: (b) llm-batch: run ${config.runId} (concurrency ${config.concurrency}, no --rpm/--tpm, chunks of ${config.chunkSize}, ${config.maxChunksInFlight} in flight) …`,
  );
  const serverCpu0 = cpuSecondsOf(temporal.serverPid) ?? 0;
  const t0 = Date.now();
  const handle = await startRun(temporal.client, config, taskQueue);
  const status = (await handle.result()) as RunStatus;
  const t1 = Date.now();
  const memories = mems.map((m) => m.read()); // before the workers exit: VmHWM is gone with the process
  const serverCpuSeconds = (cpuSecondsOf(temporal.serverPid) ?? 0) - serverCpu0;
  const stats = await sampler.stop();
  await Promise.all(workers.map((w) => w.stop()));
  if (redis) {
    await redis.stop();
    untrackRedis();
  }
  await emu.stop();
  if (status.state !== 'completed') throw new Error(`llm-batch run ended ${status.state}: ${status.error ?? ''}`);
  const side: SideResult = {
    wallMs: t1 - t0,
    succeeded: status.counts.succeeded,
    failed: status.counts.failed,
    stats,
    samples: sampler.samples,
    memory: sumMemory(memories),
    cpuPerProcess: memories.map((m) => m.cpuSeconds),
    serverCpuSeconds,
    ...edges(sampler.samples, t0, t1),
  };
  if (binding) side.steady = steadyState(sampler.samples, limitsOf(s), binding);
  log(`${s.name}: (b) done in ${(side.wallMs / 1000).toFixed(1)} s: ${side.succeeded} succeeded, ${side.failed} failed`);
  return side;
}
