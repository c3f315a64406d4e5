// The `llm-batch` command: one file per command group, wired here.
import { Command, CommanderError } from 'commander';
import { registerDevCommand } from './dev.ts';
import { registerWorkerCommand } from './worker.ts';
import { registerEmulatorCommand } from './emulator.ts';
import { registerDashboardCommand } from './dashboard.ts';
import { registerRunCommand } from './run.ts';
import { registerEstimateCommand } from './estimate.ts';
import { registerStatusCommand } from './status.ts';
import { registerResultsCommand } from './results.ts';
import { registerControlCommands } from './control.ts';
import { registerDemoCommand } from './demo.ts';
import { registerCodecServerCommand } from './codec-server.ts';
import { CliError, EXIT } from './options.ts';
import { KeyConfigError } from '../codec/keys.ts';
import { flushCliTracing } from '../observability/tracing.ts';

const program = new Command('llm-batch')
  .description('Run LLM requests at scale as a durable Temporal workflow: crash-safe, at the rate limit, priced to the cent.')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', `
Environment:
  LLM_BATCH_HOME      data dir: item store, run folders, dev-server state (default ./.llm-batch)
  TEMPORAL_ADDRESS    Temporal frontend (default localhost:7233); TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, profiles
  OPENAI_API_KEY      used by workers only; never sent to Temporal
  OPENAI_BASE_URL     an OpenAI-compatible server (default: OpenAI; the emulator under dev/demo)
  LLM_BATCH_ENCRYPTION_KEY       ID:BASE64 (32 bytes): encrypt Temporal payloads (CLI and workers alike);
                                 or LLM_BATCH_ENCRYPTION_KEY_FILE with several keys; see codec-server --help

Operating a run (each sends a signal to the run's workflow; also possible from the Temporal UI):
  llm-batch run FILE --budget 40 --fallback-model gpt-4o-mini --sample 50 --approve
  llm-batch status RUN --watch          live view: spent/reserved/budget, rate, ETA, circuit
  llm-batch approve RUN | reject RUN    after the sample (state awaiting_approval)
  llm-batch pause RUN | resume RUN      chunks in flight stop at their next item; nothing is lost
  llm-batch budget RUN --raise 25       or --set 100; a run in budget_exhausted goes on
  llm-batch cancel RUN                  stop and export; items not done go to errors.jsonl as cancelled
  llm-batch probe RUN                   while the circuit is open: probe the provider now

Before a run:  llm-batch estimate FILE   every model × mode, and what each lever saves (--sample N measures outputs)

Quick start:  npm run demo     then     npx llm-batch dev  +  npx llm-batch run FILE --wait`);

// Before the commands are added, so that they inherit it: a bad option value on a
// subcommand is then a usage error (exit 2) too, not commander's own exit 1.
program.exitOverride();

registerDemoCommand(program);
registerDevCommand(program);
registerWorkerCommand(program);
registerEmulatorCommand(program);
registerDashboardCommand(program);
registerRunCommand(program);
registerEstimateCommand(program);
registerStatusCommand(program);
registerResultsCommand(program);
registerControlCommands(program);
registerCodecServerCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  await flushCliTracing(); // spans of a failed command still go out before the exit
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : EXIT.usage);
  if (e instanceof KeyConfigError) {
    console.error(`llm-batch: ${e.message}`);
    process.exit(EXIT.usage);
  }
  if (e instanceof CliError) {
    console.error(`llm-batch: ${e.message}`);
    process.exit(e.exitCode);
  }
  console.error(`llm-batch: ${(e as Error).message ?? e}`);
  process.exit(EXIT.unavailable);
}
