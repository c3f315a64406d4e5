// `llm-batch dev`: the embedded stack in the foreground until Ctrl-C.
import type { Command } from 'commander';
import { startStack } from '../dev/stack.ts';
import { dataDir } from '../settings.ts';
import { port } from './options.ts';

export const DEFAULT_PORTS = { temporal: 7233, ui: 8233, emulator: 8090, codec: 8235 } as const;

export interface StackCliOptions {
  temporalPort: number;
  uiPort: number;
  emulatorPort: number;
  codecPort: number;
  worker: boolean;
  emulator: boolean;
  metricsPort?: number;
}

export function addStackOptions(cmd: Command): Command {
  return cmd
    .option('--temporal-port <port>', 'Temporal frontend (gRPC) port', port, DEFAULT_PORTS.temporal)
    .option('--ui-port <port>', 'Temporal Web UI port', port, DEFAULT_PORTS.ui)
    .option('--emulator-port <port>', 'OpenAI emulator port', port, DEFAULT_PORTS.emulator)
    .option('--codec-port <port>', 'with LLM_BATCH_ENCRYPTION_KEY set: the codec server the Web UI decrypts through', port, DEFAULT_PORTS.codec)
    .option('--no-worker', 'do not start a worker (run `llm-batch worker` elsewhere)')
    .option('--no-emulator', 'do not start the emulator (also skipped when OPENAI_BASE_URL is set)')
    .option('--metrics-port <port>', "serve the worker's Prometheus metrics at http://127.0.0.1:PORT/metrics (none by default)", port);
}

/** Resolves when the process is asked to stop (Ctrl-C, SIGTERM). */
export const untilSignal = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });

export function registerDevCommand(program: Command): void {
  addStackOptions(
    program
      .command('dev')
      .description('run the embedded stack in the foreground: Temporal dev server, OpenAI emulator and a worker (Ctrl-C stops all)'),
  ).action(async (opts: StackCliOptions) => {
    const log = (m: string): void => console.error(m);
    const stack = await startStack({
      home: dataDir(),
      temporalPort: opts.temporalPort,
      uiPort: opts.uiPort,
      emulatorPort: opts.emulatorPort,
      codecPort: opts.codecPort,
      emulator: opts.emulator,
      worker: opts.worker,
      ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
      log,
    });
    log(`ready. In another terminal: npx llm-batch run examples/support-tickets.jsonl --wait${stack.emulator ? `  (OPENAI_BASE_URL=${stack.emulator.baseUrl} for your own tools)` : ''}`);
    const signal = await untilSignal();
    log(`${signal}: stopping...`);
    await stack.stop();
    log('stopped');
  });
}
