// Builds a worker from configuration: the workflows bundle, the activities with their
// real dependencies, a connection from the standard TEMPORAL_* environment.
import { createRequire } from 'node:module';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from './activities/index.ts';
import { SqliteItemStore, storePath } from './store/sqlite.ts';
import { createWorkerDeps } from './worker-deps.ts';
import { dataDir, providerEnv, taskQueue, type ProviderEnv } from './settings.ts';
import { connectionConfig } from './temporal-config.ts';

const require = createRequire(import.meta.url);
export const WORKFLOWS_PATH = require.resolve('./workflows/index.ts');

export interface WorkerSettings {
  home?: string;
  provider?: ProviderEnv;
  connection?: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** A prebuilt bundle (tests build it once); otherwise the worker bundles at start. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

export interface LlmBatchWorker {
  worker: Worker;
  /** Stops polling, lets running activities finish or be cancelled, closes the store. */
  shutdown(): Promise<void>;
  run(): Promise<void>;
}

export const bundleWorkflows = (): Promise<WorkflowBundleWithSourceMap> =>
  bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never });

export async function createWorker(settings: WorkerSettings = {}): Promise<LlmBatchWorker> {
  const home = settings.home ?? dataDir();
  const store = new SqliteItemStore(storePath(home));
  const deps = createWorkerDeps(store, home, settings.provider ?? providerEnv());
  let ownConnection: NativeConnection | undefined;
  let connection = settings.connection;
  let namespace = settings.namespace;
  if (!connection) {
    const cfg = connectionConfig();
    connection = ownConnection = await NativeConnection.connect(cfg.connectionOptions);
    namespace ??= cfg.namespace;
  }
  const worker = await Worker.create({
    connection,
    namespace: namespace ?? 'default',
    taskQueue: settings.taskQueue ?? taskQueue(),
    activities: createActivities(deps),
    ...(settings.workflowBundle ? { workflowBundle: settings.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Chunks are I/O-bound: many may run at once; each holds at most its run's concurrency.
    maxConcurrentActivityTaskExecutions: 64,
    // Heartbeats carry live progress to `status`; without this they are throttled to 80% of the timeout.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
  let running: Promise<void> | undefined;
  return {
    worker,
    run() {
      running ??= worker.run().finally(async () => {
        await store.close();
        await ownConnection?.close();
      });
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
