// The embedded stack of `dev` and `demo`: a Temporal dev server, the emulator (unless a
// real provider is configured), and a worker, started together and stopped together.
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startDevServer, type RunningDevServer } from './dev-server.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import type { EmulatorOptions } from '../emulator/options.ts';
import { createWorker, type LlmBatchWorker } from '../worker.ts';
import { providerEnv } from '../settings.ts';
import { keyRingFromEnv } from '../codec/keys.ts';
import { EncryptionCodec } from '../codec/encryption-codec.ts';
import { DEFAULT_CODEC_PORT, startCodecServer, type RunningCodecServer } from '../codec/server.ts';

export interface StackOptions {
  home: string;
  temporalPort: number;
  uiPort: number;
  ui?: boolean;
  emulatorPort: number;
  emulator: boolean;
  emulatorOptions?: Partial<EmulatorOptions>;
  worker: boolean;
  /** With an encryption key set: the codec server the Web UI decodes through (default 8235). */
  codecPort?: number;
  /** The worker's /metrics on 127.0.0.1 at this port; none when absent. */
  metricsPort?: number;
  log: (msg: string) => void;
}

export interface RunningStack {
  temporal: RunningDevServer;
  emulator?: RunningEmulator;
  worker?: LlmBatchWorker;
  codecServer?: RunningCodecServer;
  /** What the worker calls: the emulator, or OPENAI_BASE_URL / OpenAI. */
  providerUrl: string;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export async function startStack(opts: StackOptions): Promise<RunningStack> {
  if (!runtimeInstalled) {
    // The stack shares the terminal with a progress bar: only warnings from the worker.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  // With a key, payloads are encrypted (worker and clients read the same environment), and
  // the Web UI shows them through a codec server on loopback, started first.
  const keyRing = keyRingFromEnv();
  const ui = opts.ui ?? true;
  const uiOrigins = [`http://localhost:${opts.uiPort}`, `http://127.0.0.1:${opts.uiPort}`];
  const codecPort = opts.codecPort ?? DEFAULT_CODEC_PORT;
  const codecServer = keyRing && ui
    ? await startCodecServer({ codec: new EncryptionCodec(keyRing), port: codecPort, uiOrigins }).catch((e: unknown) => {
        throw new Error(`cannot start the codec server for the Web UI on port ${codecPort} (${(e as Error).message}); choose another with --codec-port`);
      })
    : undefined;
  let temporal: RunningDevServer;
  try {
    temporal = await startDevServer({ dataDir: opts.home, port: opts.temporalPort, uiPort: opts.uiPort, ui, log: opts.log, ...(codecServer ? { uiCodecEndpoint: codecServer.url } : {}) });
  } catch (e) {
    await codecServer?.close();
    throw e;
  }
  opts.log(`Temporal dev server on ${temporal.address}${temporal.uiUrl ? `, Web UI ${temporal.uiUrl}` : ''} (state in ${opts.home})`);
  if (keyRing) opts.log(`payloads encrypted with key ${keyRing.currentId}${codecServer ? `; the Web UI decrypts through the codec server ${codecServer.url}` : ''}`);
  const stoppers: (() => Promise<void>)[] = [...(codecServer ? [() => codecServer.close()] : []), () => temporal.stop()];
  const stop = async (): Promise<void> => {
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
  };
  try {
    const env = providerEnv();
    let emulator: RunningEmulator | undefined;
    if (opts.emulator && !env.baseURL) {
      emulator = await startEmulator({ ...opts.emulatorOptions, port: opts.emulatorPort });
      stoppers.push(() => emulator!.close());
      opts.log(`OpenAI emulator on ${emulator.baseUrl}`);
    } else if (env.baseURL) {
      opts.log(`OPENAI_BASE_URL is set: calls go to ${env.baseURL}, no emulator started`);
    }
    const provider = emulator ? { ...env, baseURL: emulator.baseUrl } : env;
    const providerUrl = provider.baseURL ?? 'https://api.openai.com/v1';
    let worker: LlmBatchWorker | undefined;
    if (opts.worker) {
      const connection = await NativeConnection.connect({ address: temporal.address });
      worker = await createWorker({ home: opts.home, provider, connection, ...(opts.metricsPort !== undefined ? { observability: { metricsPort: opts.metricsPort, metricsHost: '127.0.0.1' } } : {}) });
      const running = worker.run();
      stoppers.push(async () => {
        await worker!.shutdown();
        await running.catch(() => undefined);
        await connection.close();
      });
      opts.log(`worker polling task queue llm-batch, calling ${providerUrl}${worker.observability.metricsPort !== undefined ? `, metrics at http://127.0.0.1:${worker.observability.metricsPort}/metrics` : ''}`);
    }
    // Clients in this process (demo) find the dev server through the standard variable.
    process.env.TEMPORAL_ADDRESS = temporal.address;
    const stack: RunningStack = { temporal, providerUrl, stop };
    if (emulator) stack.emulator = emulator;
    if (worker) stack.worker = worker;
    if (codecServer) stack.codecServer = codecServer;
    return stack;
  } catch (e) {
    await stop();
    throw e;
  }
}
