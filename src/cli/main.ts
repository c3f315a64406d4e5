// The `llm-batch` command: one file per command group, wired here.
import { Command, CommanderError } from 'commander';
import { registerDevCommand } from './dev.ts';
import { registerWorkerCommand } from './worker.ts';
import { registerEmulatorCommand } from './emulator.ts';
import { registerRunCommand } from './run.ts';
import { registerStatusCommand } from './status.ts';
import { registerResultsCommand } from './results.ts';
import { registerDemoCommand } from './demo.ts';
import { CliError, EXIT } from './options.ts';

const program = new Command('llm-batch')
  .description('Run LLM requests at scale as a durable Temporal workflow: crash-safe, at the rate limit, priced to the cent.')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', `
Environment:
  LLM_BATCH_HOME      data dir: item store, run folders, dev-server state (default ./.llm-batch)
  TEMPORAL_ADDRESS    Temporal frontend (default localhost:7233); TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, profiles
  OPENAI_API_KEY      used by workers only; never sent to Temporal
  OPENAI_BASE_URL     an OpenAI-compatible server (default: OpenAI; the emulator under dev/demo)

Quick start:  npm run demo     then     npx llm-batch dev  +  npx llm-batch run FILE --wait`);

registerDemoCommand(program);
registerDevCommand(program);
registerWorkerCommand(program);
registerEmulatorCommand(program);
registerRunCommand(program);
registerStatusCommand(program);
registerResultsCommand(program);

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : EXIT.usage);
  if (e instanceof CliError) {
    console.error(`llm-batch: ${e.message}`);
    process.exit(e.exitCode);
  }
  console.error(`llm-batch: ${(e as Error).message ?? e}`);
  process.exit(EXIT.unavailable);
}
