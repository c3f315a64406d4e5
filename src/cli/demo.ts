// `llm-batch demo` (npm run demo): the whole stack, a realistic 2,400-request job against
// the emulator, a progress bar, a summary table, and where to look next.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { startStack } from '../dev/stack.ts';
import { connectClient } from '../client.ts';
import { dataDir } from '../settings.ts';
import { addStackOptions, untilSignal, type StackCliOptions } from './dev.ts';
import { addRunOptions, followRun, preflight, printOutcome, startRunFromFile, type RunOptions } from './run.ts';
import { bold, isTty } from './format.ts';
import { EXIT } from './options.ts';

export const DEMO_INPUT = fileURLToPath(new URL('../../examples/support-tickets.jsonl', import.meta.url));

export function registerDemoCommand(program: Command): void {
  addRunOptions(
    addStackOptions(
      program
        .command('demo')
        .description('start the embedded stack and run examples/support-tickets.jsonl (2,400 requests) against the emulator')
        .option('--input <file>', 'the input to run', DEMO_INPUT)
        .option('--keep-running', 'keep the stack up afterwards for the Web UI (default on a terminal)')
        .option('--no-keep-running', 'stop the stack as soon as the run ends'),
    ),
  )
    .action(async (opts: StackCliOptions & RunOptions & { input: string; keepRunning?: boolean }) => {
      const log = (m: string): void => console.error(m);
      const home = dataDir();
      const stack = await startStack({
        home,
        temporalPort: opts.temporalPort,
        uiPort: opts.uiPort,
        emulatorPort: opts.emulatorPort,
        codecPort: opts.codecPort,
        emulator: opts.emulator,
        // A provider that behaves like a real one: latency, jitter and a few 5xx to retry.
        emulatorOptions: { latencyMs: 250, jitterMs: 150, errorRate: 0.02 },
        worker: opts.worker,
        ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
        log,
      });
      let code: number = EXIT.ok;
      try {
        const client = await connectClient(stack.temporal.address);
        const t0 = Date.now();
        await preflight(resolve(opts.input), opts);
        const config = await startRunFromFile(client, resolve(opts.input), opts);
        console.log(`run ${bold(config.runId)}: ${opts.input}`);
        const final = await followRun(client, config.runId);
        printOutcome(final, Date.now() - t0);
        if (stack.temporal.uiUrl) console.log(`${bold('Temporal UI')} ${stack.temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(config.runId)}`);
        if (final.state !== 'completed') code = EXIT.runNotCompleted;
        const keep = opts.keepRunning ?? isTty();
        if (keep) {
          console.log('The stack stays up so you can look around in the Web UI. Ctrl-C stops it.');
          await untilSignal();
        }
      } finally {
        await stack.stop();
      }
      process.exitCode = code;
      // The worker's native runtime can hold the loop open briefly; the run is over.
      setTimeout(() => process.exit(code), 100).unref();
    });
}
