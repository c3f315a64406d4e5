// `npm run bench -- spend`: the same realistic file (bench/spend-input.ts: 4,000 support-desk
// requests, 540 verbatim repeats, long shared prefixes, features) run four ways through the
// CLI, each on a fresh worker, data dir and emulator (so no cache carries over):
//   1. no levers           --cache off --prompt-cache off          (the baseline)
//   2. exact cache         --cache read-write --prompt-cache off
//   3. + prefix ordering   --cache read-write --prompt-cache on
//   4. + routing           ... --route bench/spend-routes.yaml
// The emulator enforces 10,000 RPM / 4M TPM per second and models OpenAI's prompt cache with
// its eviction scaled from 5–10 min down to 20–40 s, so a one-minute run outlasts it. Not
// lower: the cache's per-minute rates (15 requests a minute per prefix and key before the
// overflow, and the client's 12 a minute per key) are not scaled, and a key used every 5 s
// must stay warm between its uses as it does against the real 5–10 minutes. At a 5 s
// eviction, keyed dispatch lost its machines between uses: 37.8% of prompt tokens cached
// against 66.4% without keys. Printed: cost (from the run's status, priced from usage), the
// provider calls the emulator served, wall time, the prompt tokens served from the provider's
// cache, and each variant's cost and wall time as a ratio to the baseline measured in this run.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDevServer } from '../src/dev/dev-server.ts';
import { freePort } from '../src/dev/ports.ts';
import type { RunStatus } from '../src/domain/run-types.ts';
import { REPO, spawnEmulator, spawnWorker, stopAllChildren } from './processes.ts';
import { writeSpendInput } from './spend-input.ts';

const run = promisify(execFile);
const log = (m: string): void => void process.stderr.write(`[bench spend] ${m}\n`);
const EMULATOR_ARGS = ['--rpm', '10000', '--tpm', '4000000', '--limit-window', '1s', '--latency-ms', '300', '--jitter-ms', '100', '--prompt-cache-ttl', '20s'];

interface Variant {
  name: string;
  flags: string[];
}

const VARIANTS: Variant[] = [
  { name: 'no levers', flags: ['--cache', 'off', '--prompt-cache', 'off'] },
  { name: 'exact cache', flags: ['--cache', 'read-write', '--prompt-cache', 'off'] },
  { name: '+ prefix ordering', flags: ['--cache', 'read-write', '--prompt-cache', 'on'] },
  { name: '+ routing', flags: ['--cache', 'read-write', '--prompt-cache', 'on', '--route', join(REPO, 'bench/spend-routes.yaml')] },
];

interface Outcome {
  variant: Variant;
  costUsd: number;
  calls: number;
  wallMs: number;
  succeeded: number;
  promptTokens: number;
  cachedTokens: number;
  cacheHits: number;
  /** Answers cut at max_tokens (finish_reason "length"): never cached, so their repeats call again. */
  truncated: number;
  byModel: Record<string, number>;
}

/** Output lines whose answer was cut at max_tokens. */
function truncatedAnswers(outputPath: string | undefined): number {
  if (!outputPath) return 0;
  let n = 0;
  for (const text of readFileSync(outputPath, 'utf8').split('\n')) {
    if (text.includes('"finish_reason":"length"')) n++;
  }
  return n;
}

async function runVariant(v: Variant, i: number, dir: string, inputPath: string, temporalAddress: string): Promise<Outcome> {
  const home = join(dir, `home-${i}`);
  mkdirSync(home, { recursive: true });
  const taskQueue = `bench-spend-${i}`;
  const emulator = await spawnEmulator(EMULATOR_ARGS);
  const worker = await spawnWorker({ temporalAddress, home, baseURL: emulator.baseUrl, taskQueue });
  try {
    const t0 = Date.now();
    const { stdout } = await run(process.execPath, [join(REPO, 'bin/llm-batch.js'), 'run', inputPath, '--wait', '--json', '--run-id', `spend-${i}-${Date.now()}`, ...v.flags], {
      cwd: REPO,
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, LLM_BATCH_HOME: home, LLM_BATCH_TASK_QUEUE: taskQueue },
      maxBuffer: 64 * 1024 * 1024,
    });
    const wallMs = Date.now() - t0;
    const status = JSON.parse(stdout) as RunStatus;
    const stats = (await (await fetch(`${emulator.origin}/_emulator/stats`)).json()) as { served: number; byModel?: Record<string, { served: number }> };
    const byModel = Object.fromEntries(Object.entries(stats.byModel ?? {}).map(([m, s]) => [m, s.served]));
    const out: Outcome = {
      variant: v,
      costUsd: status.costUsd.spent,
      calls: stats.served,
      wallMs,
      succeeded: status.counts.succeeded,
      promptTokens: status.tokens.prompt,
      cachedTokens: status.tokens.cached,
      cacheHits: status.cache?.hits ?? 0,
      truncated: truncatedAnswers(status.outputPath),
      byModel,
    };
    log(`${v.name}: $${out.costUsd.toFixed(4)}, ${out.calls} calls, ${(wallMs / 1000).toFixed(1)} s, ${out.succeeded} succeeded, ${out.cacheHits} cache hits, ${out.truncated} answers cut at max_tokens, prompt tokens ${(100 * out.cachedTokens / Math.max(1, out.promptTokens)).toFixed(1)}% cached`);
    return out;
  } finally {
    await worker.stop();
    await emulator.stop();
  }
}

const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1e-12, b)).toFixed(1)}%`;

export async function benchSpend(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-batch-bench-spend-'));
  const server = await startDevServer({ dataDir: join(dir, 'temporal'), port: await freePort(), uiPort: 0, ui: false });
  try {
    const input = writeSpendInput(join(dir, 'tickets.jsonl'));
    log(`${input.lines} lines, ${input.distinctBodies} distinct bodies, features ${JSON.stringify(input.features)}`);
    const outcomes: Outcome[] = [];
    for (const [i, v] of VARIANTS.entries()) outcomes.push(await runVariant(v, i, dir, input.path, server.address));
    const base = outcomes[0]!;
    const rows = outcomes.map((o) => [
      o.variant.name,
      `$${o.costUsd.toFixed(4)}`,
      `${(o.costUsd / base.costUsd).toFixed(3)}×`,
      String(o.calls),
      `${(o.wallMs / 1000).toFixed(1)} s`,
      `${(o.wallMs / base.wallMs).toFixed(2)}×`,
      pct(o.cachedTokens, o.promptTokens),
      String(o.cacheHits),
      String(o.truncated),
      Object.entries(o.byModel).map(([m, n]) => `${m} ${n}`).join(', '),
    ]);
    const head = ['variant', 'cost', 'cost ÷ baseline', 'provider calls', 'wall', 'wall ÷ baseline', 'prompt tokens cached', 'exact-cache hits', 'answers cut at max_tokens', 'calls by model'];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
    const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c]!)).join(' | ')} |`;
    console.log([line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
    const complete = outcomes.every((o) => o.succeeded === input.lines);
    console.log(`\nevery variant answered all ${input.lines} lines: ${complete ? 'yes' : 'NO'}`);
    return complete ? 0 : 1;
  } finally {
    await stopAllChildren();
    await server.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
