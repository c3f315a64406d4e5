// `npm run bench -- scale`: a million-item realtime run on one box, the emulator unlimited at
// 0 latency, on two stacks:
// - embedded: one `llm-batch worker` on its SQLite data dir;
// - postgres: two `llm-batch worker` processes with data dirs of their own, one PostgreSQL
//   item store (a throwaway server started here).
// Each stack runs a small job (100k) and then the big one (1M) with fresh workers, so each
// job's peak RSS is its own and their ratio shows whether memory grows with the run.
// Printed per job: items/s, staging and export rates (from the run's history), each worker's
// RSS (at start, peak, and when a tenth and all of the items were done), the largest history
// of any execution, the store's size on disk, and whether output.jsonl holds every item in
// input order. Options: --items N (1000000), --small N (100000), --only embedded|postgres,
// --concurrency N (64).
import { createReadStream, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { DEFAULTS, startRun } from '../src/client.ts';
import { startPostgresServer } from '../src/dev/postgres-server.ts';
import type { RunConfig, RunStatus } from '../src/domain/run-types.ts';
import { cpuSecondsOf, readProcStatus, spawnEmulator, spawnWorker, trackOther, type EmulatorProcess, type WorkerProcess } from './processes.ts';
import { writeInput } from './stage.ts';
import { log, type Temporal } from './sides.ts';

const MIB = 1024 * 1024;
const RSS_TARGET_MIB = 512;
const HISTORY_TARGET = 10_000;
const GROWTH_TARGET = 1.2;

interface ScaleOptions {
  items: number;
  small: number;
  stacks: StackName[];
  concurrency: number;
}

type StackName = 'embedded' | 'postgres';

interface WorkerMemory {
  startMiB: number;
  peakMiB: number;
  /** RSS when a tenth of the items had been served, and at the end. */
  atTenthMiB?: number;
  endMiB: number;
  cpuSeconds: number;
}

interface JobResult {
  stack: StackName;
  items: number;
  wallMs: number;
  stageMs?: number;
  exportMs?: number;
  workers: WorkerMemory[];
  largestHistory: { events: number; workflowId: string };
  executions: number;
  storeBytes: number;
  outputLines: number;
  outputInOrder: boolean;
  succeeded: number;
}

export function parseScaleArgs(args: string[]): ScaleOptions {
  const o: ScaleOptions = { items: 1_000_000, small: 100_000, stacks: ['embedded', 'postgres'], concurrency: 64 };
  for (let i = 0; i < args.length; i++) {
    const [flag, value] = [args[i], args[i + 1]];
    const n = Number(value);
    if (flag === '--items' && Number.isInteger(n) && n > 0) o.items = n;
    else if (flag === '--small' && Number.isInteger(n) && n > 0) o.small = n;
    else if (flag === '--concurrency' && Number.isInteger(n) && n > 0) o.concurrency = n;
    else if (flag === '--only' && (value === 'embedded' || value === 'postgres')) o.stacks = [value];
    else throw new Error(`bench scale: unknown or bad option ${flag} ${value ?? ''} (use --items N, --small N, --only embedded|postgres, --concurrency N)`);
    i++;
  }
  return o;
}

/** Samples one worker's RSS every second; notes it when the emulator has served a tenth of the items. */
class RssTimeline {
  private readonly memory: WorkerMemory;
  private readonly timer: NodeJS.Timeout;
  private readonly cpu0: number;
  private readonly pid: number;
  private readonly emu: EmulatorProcess;
  private readonly tenth: number;
  constructor(pid: number, emu: EmulatorProcess, tenth: number) {
    this.pid = pid;
    this.emu = emu;
    this.tenth = tenth;
    this.cpu0 = cpuSecondsOf(pid) ?? 0;
    const now = rssMiB(pid) ?? 0;
    this.memory = { startMiB: now, peakMiB: now, endMiB: now, cpuSeconds: 0 };
    this.timer = setInterval(() => void this.sample(), 1000);
  }
  private async sample(): Promise<void> {
    const rss = rssMiB(this.pid);
    if (rss === undefined) return;
    this.memory.peakMiB = Math.max(this.memory.peakMiB, rss);
    this.memory.endMiB = rss;
    if (this.memory.atTenthMiB === undefined && (await servedBy(this.emu)) >= this.tenth) this.memory.atTenthMiB = rss;
  }
  read(): WorkerMemory {
    clearInterval(this.timer);
    const hwm = hwmMiB(this.pid);
    if (hwm !== undefined) this.memory.peakMiB = Math.max(this.memory.peakMiB, hwm);
    this.memory.endMiB = rssMiB(this.pid) ?? this.memory.endMiB;
    this.memory.cpuSeconds = (cpuSecondsOf(this.pid) ?? this.cpu0) - this.cpu0;
    return this.memory;
  }
}

const rssMiB = (pid: number): number | undefined => { const r = readProcStatus(pid); return r && r.rssKiB / 1024; };
const hwmMiB = (pid: number): number | undefined => { const r = readProcStatus(pid); return r && r.hwmKiB / 1024; };

async function servedBy(emu: EmulatorProcess): Promise<number> {
  try {
    const r = await fetch(`${emu.origin}/_emulator/stats`);
    return ((await r.json()) as { served: number }).served;
  } catch {
    return 0;
  }
}

/** Every execution the run started (itself across continue-as-new, and its chunks), from visibility. */
async function executionsOf(client: Client, taskQueue: string): Promise<{ workflowId: string; runId: string; type: string; historyLength: number }[]> {
  const out: { workflowId: string; runId: string; type: string; historyLength: number }[] = [];
  for await (const w of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) {
    out.push({ workflowId: w.workflowId, runId: w.runId, type: w.type, historyLength: w.historyLength });
  }
  return out;
}

/** How long an activity of `type` took in the run's histories (scheduled → completed), summed. */
async function activityMs(client: Client, runExecutions: { workflowId: string; runId: string }[], type: string): Promise<number | undefined> {
  let total: number | undefined;
  for (const e of runExecutions) {
    const history = await client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
    const scheduled = new Map<string, number>();
    for (const ev of history.events ?? []) {
      const at = Number(ev.eventTime?.seconds ?? 0) * 1000 + Math.floor((ev.eventTime?.nanos ?? 0) / 1e6);
      if (ev.activityTaskScheduledEventAttributes?.activityType?.name === type) scheduled.set(String(ev.eventId), at);
      const done = ev.activityTaskCompletedEventAttributes;
      if (done && scheduled.has(String(done.scheduledEventId))) total = (total ?? 0) + at - scheduled.get(String(done.scheduledEventId))!;
    }
  }
  return total;
}

/** Lines in output.jsonl, and whether their custom_ids are ticket-1, ticket-2, … in order. */
async function checkOutput(path: string): Promise<{ lines: number; inOrder: boolean }> {
  let lines = 0;
  let inOrder = true;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (line === '') continue;
    lines++;
    const id = /"custom_id":"([^"]*)"/.exec(line)?.[1];
    if (id !== `ticket-${lines}`) inOrder = false;
  }
  return { lines, inOrder };
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const c = new pg.Client(adminUrl);
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`).finally(() => c.end());
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function databaseBytes(url: string): Promise<number> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]!.n);
  } finally {
    await c.end();
  }
}

async function runJob(stack: StackName, items: number, inputPath: string, dir: string, temporal: Temporal, emu: EmulatorProcess, o: ScaleOptions, adminUrl?: string): Promise<JobResult> {
  const tag = `${stack}-${items}`;
  const taskQueue = `bench-scale-${tag}-${Date.now()}`;
  const databaseUrl = adminUrl ? await freshDatabase(adminUrl, `scale_${items}_${Date.now().toString(36)}`) : undefined;
  const homes = Array.from({ length: stack === 'postgres' ? 2 : 1 }, (_, i) => join(dir, `home-${tag}-${i + 1}`));
  homes.forEach((h) => mkdirSync(h, { recursive: true }));
  log(`scale ${tag}: starting ${homes.length} worker${homes.length > 1 ? 's' : ''} …`);
  const workers: WorkerProcess[] = await Promise.all(
    homes.map((home) => spawnWorker({ temporalAddress: temporal.address, home, baseURL: emu.baseUrl, taskQueue, ...(databaseUrl ? { extraEnv: { LLM_BATCH_DATABASE_URL: databaseUrl } } : {}) })),
  );
  const served0 = await servedBy(emu);
  const timelines = workers.map((w) => new RssTimeline(w.pid, emu, served0 + items / 10));
  const config: RunConfig = { mode: 'realtime', ...DEFAULTS, runId: `bench-scale-${tag}-${Date.now()}`, inputPath, concurrency: o.concurrency };
  log(`scale ${tag}: run ${config.runId} (${items.toLocaleString('en-US')} items, concurrency ${o.concurrency}, chunks of ${config.chunkSize}, ${config.maxChunksInFlight} in flight) …`);
  const t0 = Date.now();
  const handle = await startRun(temporal.client, config, taskQueue);
  const progress = setInterval(() => void servedBy(emu).then((n) => log(`scale ${tag}: ${(n - served0).toLocaleString('en-US')} served, ${((Date.now() - t0) / 1000).toFixed(0)} s`)), 60_000);
  const status = (await handle.result().finally(() => clearInterval(progress))) as RunStatus;
  const wallMs = Date.now() - t0;
  const memories = timelines.map((t) => t.read());
  await Promise.all(workers.map((w) => w.stop()));
  if (status.state !== 'completed') throw new Error(`scale ${tag}: the run ended ${status.state}: ${status.error ?? ''}`);

  const executions = await executionsOf(temporal.client, taskQueue);
  const largest = executions.reduce((a, e) => (e.historyLength > a.historyLength ? e : a), executions[0]!);
  const runChain = executions.filter((e) => e.workflowId === config.runId);
  const [stageMs, exportMs] = [await activityMs(temporal.client, runChain, 'stageRun'), await activityMs(temporal.client, runChain, 'exportRun')];
  const output = await checkOutput(status.outputPath!);
  const storeBytes = databaseUrl ? await databaseBytes(databaseUrl) : homes.reduce((a, h) => a + readdirSync(h).filter((f) => f.startsWith('items.sqlite')).reduce((b, f) => b + statSync(join(h, f)).size, 0), 0);
  const result: JobResult = {
    stack,
    items,
    wallMs,
    stageMs,
    exportMs,
    workers: memories,
    largestHistory: { events: largest.historyLength, workflowId: largest.workflowId },
    executions: executions.length,
    storeBytes,
    outputLines: output.lines,
    outputInOrder: output.inOrder,
    succeeded: status.counts.succeeded,
  };
  log(`scale ${tag}: done in ${(wallMs / 1000).toFixed(1)} s, ${Math.round(items / (wallMs / 1000))} items/s, peak RSS ${memories.map((m) => m.peakMiB.toFixed(0)).join(' / ')} MiB`);
  return result;
}

const f0 = (n: number | undefined): string => (n === undefined ? 'n/a' : Math.round(n).toLocaleString('en-US'));
const rate = (lines: number, ms: number | undefined): string => (ms ? f0(lines / (ms / 1000)) : 'n/a');

function table(results: JobResult[]): string {
  const cols = results.map((r) => `${r.stack} ${r.items.toLocaleString('en-US')}`);
  const rows: [string, (r: JobResult) => string][] = [
    ['items succeeded', (r) => f0(r.succeeded)],
    ['wall time (s)', (r) => (r.wallMs / 1000).toFixed(1)],
    ['items/s (whole run)', (r) => rate(r.items, r.wallMs)],
    ['staging lines/s', (r) => rate(r.items, r.stageMs)],
    ['export lines/s', (r) => rate(r.items, r.exportMs)],
    ['worker RSS at start (MiB)', (r) => r.workers.map((w) => f0(w.startMiB)).join(' / ')],
    ['worker RSS at 10% of items (MiB)', (r) => r.workers.map((w) => f0(w.atTenthMiB)).join(' / ')],
    ['worker peak RSS (MiB)', (r) => r.workers.map((w) => f0(w.peakMiB)).join(' / ')],
    ['worker CPU (s)', (r) => r.workers.map((w) => f0(w.cpuSeconds)).join(' / ')],
    ['largest history (events)', (r) => f0(r.largestHistory.events)],
    ['executions (run + chunks)', (r) => f0(r.executions)],
    ['store on disk (MiB)', (r) => (r.storeBytes / MIB).toFixed(0)],
    ['output lines, in input order', (r) => `${f0(r.outputLines)}, ${r.outputInOrder ? 'yes' : 'NO'}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const colW = Math.max(...cols.map((c) => c.length), ...results.flatMap((r) => rows.map(([, f]) => f(r).length)));
  const line = (k: string, vs: string[]) => `${k.padEnd(width)}  ${vs.map((v) => v.padStart(colW)).join('  ')}`;
  return [line('', cols), ...rows.map(([k, f]) => line(k, results.map(f)))].join('\n');
}

export async function benchScale(args: string[], temporal: Temporal, dir: string): Promise<number> {
  const o = parseScaleArgs(args);
  const inputs = new Map<number, string>();
  for (const n of [o.small, o.items]) {
    const path = join(dir, `scale-${n}.jsonl`);
    log(`scale: writing ${n.toLocaleString('en-US')} input lines …`);
    await writeInput(path, n);
    inputs.set(n, path);
  }
  const emu = await spawnEmulator(['--latency-ms', '0', '--jitter-ms', '0']);
  const results: JobResult[] = [];
  for (const stack of o.stacks) {
    const postgres = stack === 'postgres' ? await startPostgresServer() : undefined;
    const untrack = postgres ? trackOther(postgres) : () => {};
    try {
      for (const n of [o.small, o.items]) results.push(await runJob(stack, n, inputs.get(n)!, dir, temporal, emu, o, postgres?.url));
    } finally {
      await postgres?.stop();
      untrack();
    }
  }
  await emu.stop();

  console.log(`\nllm-batch scale benchmark: ${new Date().toISOString()}, Node ${process.version}, emulator unlimited, latency 0\n`);
  console.log(table(results));
  console.log('');
  const verdicts: { pass: boolean; text: string }[] = [];
  for (const r of results) {
    const name = `${r.stack} ${r.items.toLocaleString('en-US')}`;
    verdicts.push({ pass: r.outputLines === r.items && r.outputInOrder, text: `${name}: every item in output.jsonl, in input order (${f0(r.outputLines)} lines)` });
    const peak = Math.max(...r.workers.map((w) => w.peakMiB));
    verdicts.push({ pass: peak < RSS_TARGET_MIB, text: `${name}: every worker's peak RSS < ${RSS_TARGET_MIB} MiB (${f0(peak)} MiB)` });
    verdicts.push({ pass: r.largestHistory.events < HISTORY_TARGET, text: `${name}: no history over ${f0(HISTORY_TARGET)} events (largest ${f0(r.largestHistory.events)}, ${r.largestHistory.workflowId})` });
  }
  for (const stack of o.stacks) {
    const [small, big] = [o.small, o.items].map((n) => results.find((r) => r.stack === stack && r.items === n)!);
    if (!small || !big) continue;
    const growth = Math.max(...big.workers.map((w) => w.peakMiB)) / Math.max(...small.workers.map((w) => w.peakMiB));
    verdicts.push({ pass: growth <= GROWTH_TARGET, text: `${stack}: peak RSS at ${f0(o.items)} items / at ${f0(o.small)} = ${growth.toFixed(2)}× (flat: ≤ ${GROWTH_TARGET}×)` });
  }
  for (const v of verdicts) console.log(`${v.pass ? 'PASS' : 'FAIL'}  ${v.text}`);
  return verdicts.every((v) => v.pass) ? 0 : 1;
}
