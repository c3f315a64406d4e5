// One staging measurement in its own process, so its peak RSS (VmHWM) is its own.
//   node bench/stage-child.ts llm-batch FILE [DATABASE_URL]   (SQLite in a temp dir, or PostgreSQL)
//   node bench/stage-child.ts naive FILE
// The time counts loading each side's own code (its validator and tokenizer) and the work;
// opening and closing the store (a fresh database's migrations) is not staging and is not counted.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ItemStore } from '../src/store/item-store.ts';
import { DEFAULTS } from '../src/client.ts';

const peakRssMiB = (): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

const [mode, file, databaseUrl] = process.argv.slice(2);
let lines = 0;
let ms = 0;
if (mode === 'llm-batch') {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stage-'));
  let store: ItemStore;
  if (databaseUrl) {
    const { PostgresItemStore } = await import('../src/store/postgres.ts');
    store = await PostgresItemStore.open(databaseUrl);
  } else {
    const { SqliteItemStore } = await import('../src/store/sqlite.ts');
    store = new SqliteItemStore(join(dir, 'items.sqlite'));
  }
  try {
    const t0 = performance.now();
    const { stageInput } = await import('../src/input/stage-input.ts');
    const { loadDefaultPricing } = await import('../src/llm/pricing-file.ts');
    const r = await stageInput(
      { store, pricingFor: async () => loadDefaultPricing(), runDir: () => dir },
      { runId: 'bench', inputPath: file!, mode: 'realtime', ...DEFAULTS },
    );
    ms = performance.now() - t0;
    lines = r.lines;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
} else if (mode === 'naive') {
  const t0 = performance.now();
  const { parseBatchLine } = await import('../src/domain/schemas.ts');
  const { countRequestPromptTokens } = await import('../src/llm/tokens.ts');
  // What a script does without streaming: the whole file in memory, every line parsed and kept.
  const items = readFileSync(file!, 'utf8').split('\n').filter((l) => l !== '').map((l) => parseBatchLine(l));
  for (const r of items) if (r.ok) countRequestPromptTokens(r.line.url, r.line.body);
  lines = items.length;
  ms = performance.now() - t0;
} else {
  throw new Error(`unknown mode "${mode}": use llm-batch or naive`);
}
// CPU time of the whole process (every thread), from its start: what the work costs on a busy machine.
const { user, system } = process.cpuUsage();
console.log(JSON.stringify({ mode, lines, ms, peakRssMiB: peakRssMiB(), cpuS: (user + system) / 1e6 }));
