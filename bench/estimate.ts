// Estimate benchmark: `llm-batch estimate`'s pass over a file (validation, exact prompt
// tokens in both encodings of the bundled pricing table, exact-cache keys for duplicates)
// on the example file scaled to 200,000 lines, against the naive single-thread loop (the
// whole file in memory, the same validator, tokenizers and keys) measured in the same run.
// Each measurement runs in its own process (bench/estimate-child.ts); the sides are
// interleaved over ROUNDS rounds and the best of each counts.
//   npm run bench -- estimate
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { execFile, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './processes.ts';

type Result = { mode: string; lines: number; duplicates: number; ms: number; peakRssMiB: number; cpuS: number };

const LINES = 200_000;
const ROUNDS = 2;
/** The target, in lines/s, on a 2-core box. */
const TARGET_LINES_PER_S = 30_000;
const SIDES = [
  { key: 'naive', label: 'naive loop (1 thread, whole file)', args: ['naive'] },
  { key: 'inline', label: 'llm-batch, main thread only', args: ['llm-batch', '', '0'] },
  { key: 'pool', label: 'llm-batch (counting thread + main)', args: ['llm-batch'] },
] as const;

/**
 * The example file (examples/support-tickets.jsonl) repeated to `n` lines: each copy gets
 * its own custom_ids and a distinct last message, so bodies stay distinct as in the original.
 */
export async function writeScaledExample(path: string, n: number): Promise<void> {
  const source = readFileSync(join(REPO, 'examples/support-tickets.jsonl'), 'utf8').trim().split('\n');
  const out = createWriteStream(path);
  for (let i = 0; i < n; i++) {
    const copy = Math.floor(i / source.length);
    const line = JSON.parse(source[i % source.length]!) as { custom_id: string; body: { messages: { content: string }[] } };
    if (copy > 0) {
      line.custom_id += `-c${copy}`;
      line.body.messages[line.body.messages.length - 1]!.content += ` (ref ${copy})`;
    }
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

let current: ChildProcess | undefined;

function child(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    current = execFile(process.execPath, [join(import.meta.dirname, 'estimate-child.ts'), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      current = undefined;
      if (err) reject(new Error(`estimate-child ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Result);
    });
  });
}

const rate = (r: Result): number => r.lines / (r.ms / 1000);

export async function benchEstimate(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-estimate-'));
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`${sig}: stopping the measurement\n`);
    current?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const file = join(dir, `example-${LINES}.jsonl`);
    await writeScaledExample(file, LINES);
    const best = new Map<string, Result>();
    const peak = new Map<string, number>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const side of SIDES) {
        const args = side.args.map((a, i) => (i === 1 ? file : a));
        if (args.length === 1) args.push(file);
        const r = await child(args);
        process.stderr.write(`  round ${round}, ${side.label.padEnd(36)} ${(r.ms / 1000).toFixed(1)} s, ${Math.round(rate(r))} lines/s (CPU ${r.cpuS.toFixed(1)} s), ${r.peakRssMiB.toFixed(0)} MiB\n`);
        if (r.lines !== LINES) throw new Error(`${side.label} counted ${r.lines} lines, not ${LINES}`);
        if (!best.has(side.key) || r.ms < best.get(side.key)!.ms) best.set(side.key, r);
        peak.set(side.key, Math.max(peak.get(side.key) ?? 0, r.peakRssMiB));
      }
    }
    const naive = best.get('naive')!;
    console.log(`\nEstimate: the example file scaled to ${LINES.toLocaleString('en-US')} lines, both encodings counted (best of ${ROUNDS} interleaved rounds)`);
    console.log('side                                     time      lines/s   × naive   peak RSS   CPU time');
    for (const side of SIDES) {
      const r = best.get(side.key)!;
      console.log(`${side.label.padEnd(38)} ${(r.ms / 1000).toFixed(1).padStart(6)} s ${Math.round(rate(r)).toString().padStart(11)} ${(rate(r) / rate(naive)).toFixed(2).padStart(8)}× ${peak.get(side.key)!.toFixed(0).padStart(7)} MiB ${r.cpuS.toFixed(1).padStart(8)} s`);
    }
    const pool = best.get('pool')!;
    const verdicts = [
      { pass: rate(pool) >= TARGET_LINES_PER_S, text: `llm-batch estimate: ${Math.round(rate(pool)).toLocaleString('en-US')} lines/s (target ≥ ${TARGET_LINES_PER_S.toLocaleString('en-US')})` },
      { pass: rate(pool) >= rate(naive), text: `llm-batch estimate: ${(rate(pool) / rate(naive)).toFixed(2)}× the naive loop's lines/s (target ≥ 1×)` },
    ];
    console.log('');
    for (const v of verdicts) console.log(`${v.pass ? 'PASS' : 'FAIL'}  ${v.text}`);
    return verdicts.every((v) => v.pass) ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
}
