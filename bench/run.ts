// `npm run bench [-- limits|limits-1s|limits-60s|limits-redis|unlimited|stage|batch|scale|estimate|spend|pack|dashboard]`: the
// same input against the same emulator settings, run (a) by the naive baseline
// (bench/baseline.ts: openai SDK + p-limit) and (b) by llm-batch through Temporal (dev
// server, `llm-batch worker` processes, startRun). `limits` runs the three limits
// sub-scenarios (bench/scenarios.ts); no argument runs them, then `unlimited`.
// Prints a table per scenario with the ratio llm-batch / baseline and a verdict per target.
// How the figures are measured: bench/README.md.
import { freePort } from '../src/dev/ports.ts';
import { benchStage } from './stage.ts';
import { benchBatch } from './batch.ts';
import { benchScale } from './scale.ts';
import { benchEstimate } from './estimate.ts';
import { benchSpend } from './spend.ts';
import { benchPack } from './pack.ts';
import { benchDashboard } from './dashboard.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { connectClient } from '../src/client.ts';
import { startDevServer, type RunningDevServer } from '../src/dev/dev-server.ts';
import { MAX_TOKENS, writeBenchInput } from './input.ts';
import { killAllChildrenNow, stopAllChildren } from './processes.ts';
import { profileText, report, type ScenarioResult, type Verdict } from './report.ts';
import { bindingLimit, GROUPS, SCENARIOS, type Scenario } from './scenarios.ts';
import { log, runBaselineSide, runLlmBatchSide, type Temporal } from './sides.ts';

async function runScenario(s: Scenario, dir: string, temporal: Temporal): Promise<ScenarioResult> {
  const input = writeBenchInput(join(dir, `${s.name}.jsonl`), s.items);
  const binding = bindingLimit(s, input);
  log(`${s.name}: ${input.items} items, prompts ${input.minPrompt}–${input.maxPrompt} tokens (avg ${(input.promptTokens / input.items).toFixed(1)}), max_tokens ${MAX_TOKENS}${binding ? `, binding limit: ${binding}` : ''}`);
  const baseline = await runBaselineSide(s, input, dir, binding);
  const llmBatch = await runLlmBatchSide(s, input, dir, temporal, binding);
  const result = { scenario: s, input, binding, baseline, llmBatch };
  if (process.env.BENCH_PROFILE) log(`per-second profile at the emulator\n${profileText(result)}`);
  return result;
}

// ---- main -----------------------------------------------------------------------------

/** Set on SIGINT/SIGTERM: the signal handler cleans up and exits; main's own failure is then expected. */
let interrupted = false;

async function main(): Promise<number> {
  const arg = process.argv[2];
  if (arg === 'stage') return benchStage();
  if (arg === 'batch') return benchBatch();
  if (arg === 'estimate') return benchEstimate();
  if (arg === 'spend') return benchSpend();
  if (arg === 'pack') return benchPack();
  if (arg === 'dashboard') return benchDashboard(process.argv[3] ? [process.argv[3]] : undefined);
  if (arg !== 'scale' && !Object.hasOwn(GROUPS, arg ?? '')) {
    console.error(`unknown scenario "${arg}": use limits (= limits-1s, limits-60s, limits-redis), one of those three, unlimited, stage, batch, scale, estimate, spend, pack, dashboard, or nothing for limits + unlimited`);
    return 2;
  }
  const scenarios = arg === 'scale' ? [] : GROUPS[arg ?? ''].map((name) => SCENARIOS[name]);
  const dir = mkdtempSync(join(tmpdir(), 'llm-batch-bench-'));
  let server: RunningDevServer | undefined;
  let client: Client | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      // Interrupted, the client may still be long-polling the run's result: leave its
      // connection to process exit (closing it under a pending retry throws from a timer).
      if (!interrupted) await client?.connection.close().catch(() => {});
      await stopAllChildren();
      await server?.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    // What was in flight fails as its processes go away; that must not cut the cleanup short.
    process.on('uncaughtException', () => {});
    process.on('unhandledRejection', () => {});
    log(`${sig}: stopping every child process and removing ${dir}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => {
    killAllChildrenNow();
    server?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const t0 = Date.now();
  const results: ScenarioResult[] = [];
  try {
    log('starting a Temporal dev server …');
    server = await startDevServer({ dataDir: join(dir, 'temporal'), port: await freePort(), uiPort: 0, ui: false });
    client = await connectClient(server.address);
    if (arg === 'scale') return await benchScale(process.argv.slice(3), { address: server.address, client, serverPid: server.process.pid! }, dir);
    log(`scenarios: ${scenarios.map((s) => s.name).join(', ')}`);
    for (const s of scenarios) results.push(await runScenario(s, dir, { address: server.address, client, serverPid: server.process.pid! }));
  } finally {
    await cleanup();
  }

  console.log(`\nllm-batch benchmark: ${new Date().toISOString()}, Node ${process.version}, total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const verdicts: Verdict[] = [];
  for (const r of results) {
    const { table, verdicts: v } = report(r);
    console.log(table);
    console.log('');
    verdicts.push(...v);
  }
  for (const v of verdicts) console.log(`${v.pass ? 'PASS' : 'FAIL'}  ${v.text}`);
  return verdicts.every((v) => v.pass) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (interrupted) return;
    console.error(`bench failed: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
