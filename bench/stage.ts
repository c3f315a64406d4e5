// Staging benchmark: llm-batch's streaming stage (validate, count exact tokens, write the
// items) into SQLite and into PostgreSQL, each against the naive reader (the whole file in
// memory) measured in the same run, on 100,000 and 1,000,000 lines. Each measurement runs in
// its own process; the sides are interleaved over ROUNDS rounds and the best of each counts,
// so a noisy neighbour on a shared machine weighs on both alike.
//   node bench/stage.ts            (also: npm run bench -- stage)
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { execFile, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgresServer } from '../src/dev/postgres-server.ts';
import type { RunningServer } from '../src/dev/executables.ts';

type Result = { mode: string; lines: number; ms: number; peakRssMiB: number; cpuS: number };
type Side = 'naive' | 'sqlite' | 'postgres';

const SIZES = [100_000, 1_000_000];
const ROUNDS = 2;
/** llm-batch's staging, in lines/s, against the naive reader's. */
const TARGET_RATIO = 0.6;

/** n ticket-triage chat lines in the OpenAI Batch input format. */
export async function writeInput(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 1; i <= n; i++) {
    const line = JSON.stringify({
      custom_id: `ticket-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', max_tokens: 80, messages: [{ role: 'system', content: 'Classify the support ticket.' }, { role: 'user', content: `Ticket ${i}: the export of invoice ${i % 9973} fails with error ${i % 503} since the last update.` }] },
      metadata: { feature: ['triage', 'summary', 'reply'][i % 3] },
    });
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

/** The measurement running now, stopped with the bench on Ctrl-C. */
let current: ChildProcess | undefined;

function child(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    current = execFile(process.execPath, [join(import.meta.dirname, 'stage-child.ts'), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      current = undefined;
      if (err) reject(new Error(`stage-child ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Result);
    });
  });
}

/** Runs fn on a connection to the server's maintenance database. */
async function admin(server: RunningServer, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const url = new URL(server.url);
  url.pathname = '/postgres';
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

/** One measurement of a side; llm-batch on PostgreSQL gets a database of its own, dropped after. */
async function measure(side: Side, file: string, server: RunningServer, n: number): Promise<Result> {
  if (side === 'naive') return child(['naive', file]);
  if (side === 'sqlite') return child(['llm-batch', file]);
  const db = `bench_stage_${n}`;
  await admin(server, (c) => c.query(`DROP DATABASE IF EXISTS ${db}`).then(() => c.query(`CREATE DATABASE ${db}`)));
  try {
    const url = new URL(server.url);
    url.pathname = `/${db}`;
    return await child(['llm-batch', file, url.toString()]);
  } finally {
    await admin(server, (c) => c.query(`DROP DATABASE IF EXISTS ${db}`));
  }
}

const rate = (r: Result): number => r.lines / (r.ms / 1000);

/** Prints the table and the verdicts; resolves with the exit code (0 when every ratio passes). */
export async function benchStage(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stage-input-'));
  let server: RunningServer | undefined;
  // Interrupted, the measurement and the PostgreSQL server go too (the server is a session leader: a Ctrl-C does not reach it).
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`${sig}: stopping the measurement and PostgreSQL\n`);
    current?.kill('SIGKILL');
    void (server?.stop() ?? Promise.resolve()).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    process.stderr.write('starting a throwaway PostgreSQL …\n');
    server = await startPostgresServer();
    // best[n][side]: the fastest of the rounds; peak: the highest peak RSS of the rounds.
    const best = new Map<string, Result>();
    const peak = new Map<string, number>();
    for (const n of SIZES) {
      const file = join(dir, `input-${n}.jsonl`);
      await writeInput(file, n);
      for (let round = 1; round <= ROUNDS; round++) {
        for (const side of ['naive', 'sqlite', 'postgres'] as const) {
          const r = await measure(side, file, server, n);
          process.stderr.write(`  ${n} lines, round ${round}, ${side.padEnd(8)} ${(r.ms / 1000).toFixed(1)} s (CPU ${r.cpuS.toFixed(1)} s), ${r.peakRssMiB.toFixed(0)} MiB\n`);
          const key = `${n} ${side}`;
          if (!best.has(key) || r.ms < best.get(key)!.ms) best.set(key, r);
          peak.set(key, Math.max(peak.get(key) ?? 0, r.peakRssMiB));
        }
      }
      rmSync(file, { force: true });
    }

    const label: Record<Side, string> = { naive: 'naive', sqlite: 'llm-batch → SQLite', postgres: 'llm-batch → PostgreSQL' };
    console.log(`\nStaging: llm-batch streams into the store; "naive" reads the whole file into memory (best of ${ROUNDS} interleaved rounds)`);
    console.log('side                       lines      time     lines/s    peak RSS   CPU time');
    for (const n of SIZES) {
      for (const side of ['naive', 'sqlite', 'postgres'] as const) {
        const r = best.get(`${n} ${side}`)!;
        console.log(`${label[side].padEnd(22)} ${String(n).padStart(9)} ${(r.ms / 1000).toFixed(1).padStart(7)} s ${Math.round(rate(r)).toString().padStart(10)} ${peak.get(`${n} ${side}`)!.toFixed(0).padStart(7)} MiB ${r.cpuS.toFixed(1).padStart(8)} s`);
      }
    }
    const [small, large] = SIZES as [number, number];
    for (const side of ['sqlite', 'postgres', 'naive'] as const) {
      console.log(`${label[side].padEnd(22)} peak RSS, 1M vs 100k lines: ×${(peak.get(`${large} ${side}`)! / peak.get(`${small} ${side}`)!).toFixed(2)}`);
    }
    const verdicts: { pass: boolean; text: string }[] = [];
    for (const side of ['sqlite', 'postgres'] as const) {
      for (const n of SIZES) {
        const ratio = rate(best.get(`${n} ${side}`)!) / rate(best.get(`${n} naive`)!);
        verdicts.push({ pass: ratio >= TARGET_RATIO, text: `${label[side]}, ${n.toLocaleString('en-US')} lines: ${ratio.toFixed(2)}× the naive reader's lines/s (target ≥ ${TARGET_RATIO}×)` });
      }
    }
    console.log('');
    for (const v of verdicts) console.log(`${v.pass ? 'PASS' : 'FAIL'}  ${v.text}`);
    return verdicts.every((v) => v.pass) ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) process.exitCode = await benchStage();
