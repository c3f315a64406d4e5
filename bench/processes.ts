// The benchmark's child processes (emulator, llm-batch worker, naive baseline, redis-server),
// their peak memory read from /proc, and a registry that ends every one of them on exit,
// failure or Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');
const CLI = join(REPO, 'bin/llm-batch.js');

const live = new Set<ChildProcess>();
/** Processes started by someone else's helper (redis-server): stop() on cleanup, kill() on exit. */
const others = new Set<{ stop(): Promise<void>; kill(): void }>();

/** Registers a process the bench did not spawn itself; returns a function that unregisters it. */
export function trackOther(p: { stop(): Promise<void>; kill(): void }): () => void {
  others.add(p);
  return () => void others.delete(p);
}

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Ends every child still running (used by the runner's finally and signal handlers). */
export async function stopAllChildren(graceMs = 5000): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c, graceMs)));
  await Promise.all([...others].map((o) => o.stop().catch(() => {})));
  others.clear();
}

/** Last resort from process.on('exit'): synchronous SIGKILL of whatever is left. */
export function killAllChildrenNow(): void {
  for (const c of live) if (!exited(c)) c.kill('SIGKILL');
  for (const o of others) o.kill();
}

/** Resolves with the first match of `re` in the stream's text; rejects if the process exits first. */
function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, what: string, timeoutMs = 120_000): Promise<RegExpMatchArray> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    let other = '';
    const s = child[stream]!;
    const o = child[stream === 'stdout' ? 'stderr' : 'stdout']!;
    const onOther = (b: Buffer) => (other = (other + b.toString()).slice(-4000));
    const onData = (b: Buffer) => {
      text += b.toString();
      const m = re.exec(text);
      if (m) {
        done();
        resolvePromise(m);
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`${what} exited (code ${code}) before it was ready:\n${text}${other}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what} not ready after ${timeoutMs} ms:\n${text}${other}`));
    }, timeoutMs);
    function done() {
      clearTimeout(timer);
      s.off('data', onData);
      o.off('data', onOther);
      child.off('exit', onExit);
      // Keep draining so the child never blocks on a full pipe.
      s.resume();
      o.resume();
    }
    s.on('data', onData);
    o.on('data', onOther);
    child.once('exit', onExit);
  });
}

export interface EmulatorProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  stop(): Promise<void>;
}

/** `llm-batch emulator --port 0 <args>` in its own process. */
export async function spawnEmulator(args: string[]): Promise<EmulatorProcess> {
  const child = track(spawn(process.execPath, [CLI, 'emulator', '--port', '0', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));
  const m = await waitForLine(child, 'stdout', /listening on (http:\/\/\S+\/v1)/, 'emulator');
  const baseUrl = m[1];
  return { child, baseUrl, origin: baseUrl.replace(/\/v1$/, ''), stop: () => stopChild(child) };
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/**
 * `llm-batch worker` configured by its environment, as a user runs it; ready once it has
 * connected. `extraEnv` is added to its environment (e.g. LLM_BATCH_REDIS_URL), and
 * `expectOnStderr`, when given, must have appeared on its stderr by then (e.g. that it
 * reached Redis), or the worker is stopped and this throws with what it printed.
 */
export async function spawnWorker(env: { temporalAddress: string; home: string; baseURL: string; taskQueue: string; extraEnv?: Record<string, string>; expectOnStderr?: RegExp }): Promise<WorkerProcess> {
  const child = track(
    spawn(process.execPath, [CLI, 'worker'], {
      cwd: REPO,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.temporalAddress,
        LLM_BATCH_HOME: env.home,
        OPENAI_BASE_URL: env.baseURL,
        OPENAI_API_KEY: 'emulator',
        LLM_BATCH_TASK_QUEUE: env.taskQueue,
        ...env.extraEnv,
        // e.g. BENCH_WORKER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the worker alone.
        ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  // Not just /^worker: /: the worker logs other lines with that prefix (Redis) before it is ready.
  const ready = await waitForLine(child, 'stderr', /^worker: Temporal /m, 'llm-batch worker');
  const stop = () => stopChild(child, 15_000);
  // The match's input is everything the worker wrote on stderr up to its ready line.
  if (env.expectOnStderr && !env.expectOnStderr.test(ready.input ?? '')) {
    await stop();
    throw new Error(`llm-batch worker did not print ${env.expectOnStderr} before it was ready:\n${ready.input ?? ''}`);
  }
  return { child, pid: child.pid!, stop };
}

export interface MemoryReading {
  /** Peak resident set, sampled every interval while the sampler ran (MiB). */
  sampledPeakMiB: number;
  /** The kernel's high-water mark of the process's whole life so far (MiB). */
  vmHwmMiB: number;
  /** VmRSS when the sampler started (MiB). */
  atStartMiB: number;
  /** CPU time (user + system) the process used while the sampler ran (s). */
  cpuSeconds: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU time of a process so far, in seconds (undefined once it is gone). */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime (fields 14, 15 of stat)
  } catch {
    return undefined;
  }
}

/** VmRSS and VmHWM of a process (KiB), or undefined once it is gone. */
export function readProcStatus(pid: number): { rssKiB: number; hwmKiB: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rssKiB: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0), hwmKiB: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) };
  } catch {
    return undefined; // the process is gone
  }
}

/** Samples VmRSS of one process; `read()` also takes VmHWM, so call it before the process exits. */
export class MemorySampler {
  private peakKiB = 0;
  private hwmKiB = 0;
  private startKiB: number | undefined;
  private readonly cpuAtStart: number;
  private cpuLast: number;
  private readonly timer: NodeJS.Timeout;
  private readonly pid: number;

  constructor(pid: number, intervalMs = 200) {
    this.pid = pid;
    this.cpuAtStart = this.cpuLast = cpuSecondsOf(pid) ?? 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const r = readProcStatus(this.pid);
    if (!r) return;
    this.startKiB ??= r.rssKiB;
    this.cpuLast = cpuSecondsOf(this.pid) ?? this.cpuLast;
    this.peakKiB = Math.max(this.peakKiB, r.rssKiB);
    this.hwmKiB = Math.max(this.hwmKiB, r.hwmKiB);
  }

  read(): MemoryReading {
    clearInterval(this.timer);
    this.sample();
    return { sampledPeakMiB: this.peakKiB / 1024, vmHwmMiB: this.hwmKiB / 1024, atStartMiB: (this.startKiB ?? 0) / 1024, cpuSeconds: this.cpuLast - this.cpuAtStart };
  }
}

export interface BaselineReport {
  startedAt: number;
  endedAt: number;
  items: number;
  succeeded: number;
  failed: number;
  errors: Record<string, number>;
  vmHwmKiB: number | null;
}

/** Runs bench/baseline.ts to the end in its own process (several can run at once, each with its own input). */
export async function runBaseline(inputPath: string, outputPath: string, baseURL: string, concurrency: number): Promise<{ report: BaselineReport; memory: MemoryReading }> {
  const child = track(
    spawn(process.execPath, [join(REPO, 'bench/baseline.ts'), inputPath, outputPath, baseURL, String(concurrency)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const mem = new MemorySampler(child.pid!);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const sampled = mem.read();
  if (code !== 0) throw new Error(`baseline exited with code ${code}:\n${err}`);
  const report = JSON.parse(out.trim().split('\n').pop()!) as BaselineReport;
  // The script reads its own VmHWM as its last act: exact, where sampling may miss a spike.
  const hwm = report.vmHwmKiB !== null ? report.vmHwmKiB / 1024 : sampled.vmHwmMiB;
  return { report, memory: { ...sampled, vmHwmMiB: Math.max(hwm, sampled.vmHwmMiB) } };
}
