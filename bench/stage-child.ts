// One staging measurement in its own process, so its peak RSS (VmHWM) is its own.
//   node bench/stage-child.ts llm-batch|naive FILE
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageInput } from '../src/input/stage-input.ts';
import { SqliteItemStore } from '../src/store/sqlite.ts';
import { loadDefaultPricing } from '../src/llm/pricing-file.ts';
import { parseBatchLine } from '../src/domain/schemas.ts';
import { countRequestPromptTokens } from '../src/llm/tokens.ts';
import { DEFAULTS } from '../src/client.ts';

const peakRssMiB = (): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

const [mode, file] = process.argv.slice(2);
const t0 = performance.now();
let lines = 0;
if (mode === 'llm-batch') {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stage-'));
  const store = new SqliteItemStore(join(dir, 'items.sqlite'));
  try {
    const r = await stageInput(
      { store, pricingFor: async () => loadDefaultPricing(), runDir: () => dir },
      { runId: 'bench', inputPath: file!, mode: 'realtime', ...DEFAULTS },
    );
    lines = r.lines;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  // What a script does without streaming: the whole file in memory, every line parsed and kept.
  const items = readFileSync(file!, 'utf8').split('\n').filter((l) => l !== '').map((l) => parseBatchLine(l));
  for (const r of items) if (r.ok) countRequestPromptTokens(r.line.url, r.line.body);
  lines = items.length;
}
console.log(JSON.stringify({ mode, lines, ms: performance.now() - t0, peakRssMiB: peakRssMiB() }));
