// Builds a worker from configuration: the workflows bundle, the activities with their
// real dependencies, a connection from the standard TEMPORAL_* environment.
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from './activities/index.ts';
import { openItemStore } from './store/open.ts';
import { createWorkerDeps, type WorkerDeps } from './worker-deps.ts';
import { databaseUrl, dataDir, providerEnv, redisUrl, taskQueue, type ProviderEnv } from './settings.ts';
import { LimiterRegistry } from './llm/limiter-registry.ts';
import { connectSharedPacing, type SharedPacing } from './llm/shared-pacing.ts';
import { connectionConfig } from './temporal-config.ts';
import { ensureWorkflowBundle } from './workflow-bundle.ts';
import { dataConverterFor, FAILURE_CONVERTER_PATH, resolveKeyRing } from './codec/data-converter.ts';
import type { KeyRing } from './codec/keys.ts';
import { meteredStore } from './observability/metered-store.ts';
import { startWorkerObservability, type ObservabilitySettings, type WorkerObservabilityHandle } from './observability/worker-observability.ts';


export interface WorkerSettings {
  home?: string;
  provider?: ProviderEnv;
  connection?: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** Redis for rate limits shared with every other worker; default $LLM_BATCH_REDIS_URL, none = in-process. */
  redisUrl?: string;
  /** PostgreSQL for the item store (migrated on start); default $LLM_BATCH_DATABASE_URL, none = SQLite in the data dir. */
  databaseUrl?: string;
  /** Where the worker says what it does (Redis reachable or not); default stderr. */
  log?: (message: string) => void;
  /** A prebuilt bundle (tests build it once); otherwise the cached one in the data dir. */
  workflowBundle?: WorkflowBundleOption;
  /**
   * Payload encryption keys; default from LLM_BATCH_ENCRYPTION_KEY(_FILE), `null` for none.
   * A prebuilt `workflowBundle` must then be built with the codec's failure converter.
   */
  keyRing?: KeyRing | null;
  /** Prometheus /metrics on a port (`--metrics-port`), and tracing (OTLP from the environment, or a test's span processor). */
  observability?: ObservabilitySettings;
}

export interface LlmBatchWorker {
  worker: Worker;
  /** Where the item store is: the SQLite file, or the PostgreSQL URL without its password. */
  storeWhere: string;
  /** The id of the key new payloads are encrypted with; undefined when payloads are plain. */
  encryptionKeyId?: string;
  /** Its metrics and the port of its /metrics, when `observability.metricsPort` was given. */
  observability: WorkerObservabilityHandle;
  /** Stops polling, lets running activities finish or be cancelled, closes the store. */
  shutdown(): Promise<void>;
  run(): Promise<void>;
}


export async function createWorker(settings: WorkerSettings = {}): Promise<LlmBatchWorker> {
  const home = settings.home ?? dataDir();
  // Before anything opens: a bad key configuration leaves nothing behind.
  const keyRing = resolveKeyRing(settings.keyRing);
  const { store, where } = await openItemStore(home, 'databaseUrl' in settings ? settings.databaseUrl : databaseUrl());
  const provider = settings.provider ?? providerEnv();
  const log = settings.log ?? ((m: string) => console.error(`worker: ${m}`));
  const url = 'redisUrl' in settings ? settings.redisUrl : redisUrl();
  let shared: SharedPacing | undefined;
  let ownConnection: NativeConnection | undefined;
  let worker: Worker;
  let deps: WorkerDeps | undefined;
  let observed: WorkerObservabilityHandle | undefined;
  try {
    observed = await startWorkerObservability(settings.observability ?? {});
    shared = url ? await connectSharedPacing(url, log) : undefined;
    // With metrics, every result recorded is counted (src/observability/metered-store.ts).
    const activityStore = observed.metrics ? meteredStore(store, observed.metrics) : store;
    deps = createWorkerDeps(activityStore, home, provider, new LimiterRegistry(provider, shared?.storeFor), observed.deps);
    let connection = settings.connection;
    let namespace = settings.namespace;
    if (!connection) {
      const cfg = connectionConfig();
      connection = ownConnection = await NativeConnection.connect(cfg.connectionOptions);
      namespace ??= cfg.namespace;
    }
    worker = await Worker.create({
      connection,
      namespace: namespace ?? 'default',
      taskQueue: settings.taskQueue ?? taskQueue(),
      activities: createActivities(deps),
      workflowBundle: settings.workflowBundle ?? { codePath: ensureWorkflowBundle(undefined, keyRing ? FAILURE_CONVERTER_PATH : undefined) },
      dataConverter: dataConverterFor(keyRing),
      // Chunks are I/O-bound: many may run at once; each holds at most its run's concurrency.
      maxConcurrentActivityTaskExecutions: 64,
      // Heartbeats carry live progress to `status`; without this they are throttled to 80% of the timeout.
      maxHeartbeatThrottleInterval: '2 seconds',
      // OpenTelemetry interceptors (activities, the worker's own client) and the workflow spans' sink.
      ...observed.workerOptions,
    });
  } catch (e) {
    // A worker that could not be built leaves no pool or connection open behind it.
    await store.close();
    await shared?.close();
    await ownConnection?.close();
    await observed?.close();
    throw e;
  }
  let running: Promise<void> | undefined;
  const observability = observed;
  return {
    worker,
    storeWhere: where,
    ...(keyRing ? { encryptionKeyId: keyRing.currentId } : {}),
    observability,
    run() {
      running ??= worker.run().finally(async () => {
        deps?.close();
        await store.close();
        await shared?.close();
        await ownConnection?.close();
        await observability.close();
      });
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
