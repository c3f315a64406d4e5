// One estimate measurement in its own process, so its peak RSS (VmHWM) and CPU time are its own.
//   node bench/estimate-child.ts llm-batch FILE [THREADS]   (estimateFile: streaming, counting threads)
//   node bench/estimate-child.ts naive FILE                 (the whole file in memory, one thread)
// Both count every line's prompt tokens in both encodings of the bundled pricing table
// (o200k_base and cl100k_base) and its exact-cache key for the duplicates; the time counts
// loading each side's own code (validator, tokenizers) and the work.
import { readFileSync } from 'node:fs';

const peakRssMiB = (): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

const [mode, file, threads] = process.argv.slice(2);
let lines = 0;
let duplicates = 0;
let ms = 0;
const t0 = performance.now();
if (mode === 'llm-batch') {
  const { estimateFile } = await import('../src/input/estimate-file.ts');
  const { loadDefaultPricing } = await import('../src/llm/pricing-file.ts');
  const r = await estimateFile(file!, { pricing: loadDefaultPricing(), defaults: {}, ...(threads === undefined ? {} : { threads: { threads: Number(threads) } }) });
  lines = r.lines;
  duplicates = r.levers.duplicates.available ? r.levers.duplicates.lines : 0;
} else if (mode === 'naive') {
  const { parseBatchLine } = await import('../src/domain/schemas.ts');
  const { countRequestPromptTokens } = await import('../src/llm/tokens.ts');
  const { exactCacheKey } = await import('../src/cache/exact-key.ts');
  // What a script does: the whole file in memory, every line parsed, counted for each
  // encoding, its key kept in a Set.
  const keys = new Set<string>();
  const items = readFileSync(file!, 'utf8').split('\n').filter((l) => l !== '').map((l) => parseBatchLine(l));
  for (const r of items) {
    if (!r.ok) continue;
    countRequestPromptTokens(r.line.url, r.line.body);
    countRequestPromptTokens(r.line.url, { ...r.line.body, model: 'gpt-3.5-turbo' });
    const key = exactCacheKey(r.line.url, r.line.body);
    if (keys.has(key)) duplicates++;
    else keys.add(key);
  }
  lines = items.length;
} else {
  throw new Error(`unknown mode "${mode}": use llm-batch or naive`);
}
ms = performance.now() - t0;
const { user, system } = process.cpuUsage();
console.log(JSON.stringify({ mode, lines, duplicates, ms, peakRssMiB: peakRssMiB(), cpuS: (user + system) / 1e6 }));
