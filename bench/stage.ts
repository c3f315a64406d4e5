// Staging benchmark: llm-batch's streaming stage (validate, count tokens, upsert into
// SQLite in 500-row transactions) against reading the whole file into memory, on
// 100,000 and 1,000,000 lines. Each measurement runs in its own process.
//   node bench/stage.ts            (also: npm run bench -- stage)
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Result = { mode: string; lines: number; ms: number; peakRssMiB: number };

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

const child = (mode: string, file: string): Result =>
  JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, 'stage-child.ts'), mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 }).trim().split('\n').pop()!) as Result;

export async function benchStage(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stage-input-'));
  try {
    const rows: Result[] = [];
    for (const n of [100_000, 1_000_000]) {
      const file = join(dir, `input-${n}.jsonl`);
      await writeInput(file, n);
      rows.push(child('llm-batch', file));
      rows.push(child('naive', file));
    }
    console.log('\nStaging: llm-batch streams into SQLite; "naive" reads the whole file into memory');
    console.log('mode       lines       time     lines/s    peak RSS');
    for (const r of rows) console.log(`${r.mode.padEnd(10)} ${String(r.lines).padStart(9)} ${(r.ms / 1000).toFixed(1).padStart(7)} s ${Math.round(r.lines / (r.ms / 1000)).toString().padStart(10)} ${r.peakRssMiB.toFixed(0).padStart(7)} MiB`);
    const [s100, n100, s1m, n1m] = rows as [Result, Result, Result, Result];
    console.log(`llm-batch peak RSS, 1M vs 100k lines: ×${(s1m.peakRssMiB / s100.peakRssMiB).toFixed(2)} (bounded: flat as the file grows ×10)`);
    console.log(`naive     peak RSS, 1M vs 100k lines: ×${(n1m.peakRssMiB / n100.peakRssMiB).toFixed(2)}`);
    console.log(`at 1M lines llm-batch uses ${(s1m.peakRssMiB / n1m.peakRssMiB * 100).toFixed(0)}% of the naive peak RSS`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await benchStage();
