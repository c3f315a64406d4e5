// The Temporal side of the CLI: a connection from the standard TEMPORAL_* environment,
// starting runs, and reading a run's status. Live progress inside chunks comes from
// the heartbeats of their activities, read through describe(), so no item-level event
// ever enters the run's history.
import { basename } from 'node:path';
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { dataConverterFor, resolveKeyRing } from './codec/data-converter.ts';
import type { KeyRing } from './codec/keys.ts';
import { FINAL_STATES, type BatchChunkView, type ChunkProgress, type RunConfig, type RunStatus, type StageResult } from './domain/run-types.ts';
import type { runWorkflow } from './workflows/run.ts';
import { batchChunkQuery, statusQuery } from './workflows/messages.ts';
import { LlmBatchPriority } from './workflows/search-attributes.ts';
import { DEFAULT_PRIORITY, isPriority, priorityOf, taskPriority } from './domain/priority.ts';
import { taskQueue as defaultTaskQueue } from './settings.ts';
import { connectionConfig } from './temporal-config.ts';
import { cliTracer, clientTracingInterceptors } from './observability/tracing.ts';

/**
 * `keyRing`: the payload encryption keys; default from LLM_BATCH_ENCRYPTION_KEY(_FILE),
 * `null` for none (see src/codec/).
 */
export async function connectClient(address?: string, opts: { keyRing?: KeyRing | null } = {}): Promise<Client> {
  const cfg = connectionConfig();
  const dataConverter = dataConverterFor(resolveKeyRing(opts.keyRing));
  const connectionOptions = address ? { ...cfg.connectionOptions, address } : cfg.connectionOptions;
  try {
    const connection = await Connection.connect({ ...connectionOptions, connectTimeout: 5000 } as never);
    return new Client({ connection, namespace: cfg.namespace, dataConverter, interceptors: { workflow: clientTracingInterceptors(cliTracer()) } });
  } catch (e) {
    throw new Error(
      `cannot reach Temporal at ${connectionOptions.address} (${(e as Error).message}).\n` +
        'Start the embedded stack with `npx llm-batch dev`, or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) to your cluster.',
    );
  }
}

export const DEFAULTS = {
  concurrency: 'auto',
  chunkSize: 500,
  maxChunksInFlight: 4,
  continueAsNewAfterEvents: 5000,
  maxAttemptsPerItem: 8,
  requestTimeoutMs: 120_000,
  heartbeatTimeoutMs: 30_000,
  budgetWarnAt: 0.8,
  chunkCapFactor: 1.5,
  outputMargin: 0.25,
  circuitFailureThreshold: 5,
  circuitInitialDelayMs: 30_000,
  circuitMaxDelayMs: 15 * 60_000,
  maxBatchLines: 50_000,
  maxBatchBytes: 200 * 1024 * 1024,
  maxBatchesInFlight: 20,
  maxBatchAttempts: 3,
  onBatchFailure: 'resubmit',
  batchPollInitialMs: 30_000,
  batchPollMaxMs: 10 * 60_000,
} as const satisfies Partial<RunConfig>;

export const newRunId = (): string => {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${t}-${Math.random().toString(36).slice(2, 6)}`;
};

/** The run's one-line static summary in the Temporal UI: "120,000 requests · gpt-4o-mini · realtime · budget $40" (· "priority 1" when not the default). */
export function runSummary(config: RunConfig, requests?: number): string {
  const limits = [config.rpm && `${config.rpm} rpm`, config.tpm && `${config.tpm} tpm`].filter(Boolean).join(', ');
  return [
    requests !== undefined ? `${requests.toLocaleString('en-US')} requests` : basename(config.inputPath),
    config.model ?? 'models from the file',
    config.mode === 'realtime' ? 'realtime' : `${config.mode}${config.deadlineMs !== undefined ? ` (deadline ${Math.round(config.deadlineMs / 60_000)} min)` : ''}`,
    config.budgetUsd !== undefined ? `budget $${config.budgetUsd}` : 'no budget',
    config.fallbackModel ? `fallback ${config.fallbackModel}` : undefined,
    config.sampleSize ? `sample ${config.sampleSize}${config.approve ? ' + approval' : ''}` : undefined,
    `concurrency ${config.concurrency}`,
    limits || undefined,
    priorityOf(config) !== DEFAULT_PRIORITY ? `priority ${priorityOf(config)}` : undefined,
  ].filter(Boolean).join(' · ');
}

/** The configuration as the memo shows it: never a secret (the alert webhook may hold a token). */
export function memoOf(config: RunConfig): Record<string, unknown> {
  const { alertWebhook, ...rest } = config;
  return alertWebhook === undefined ? rest : { ...rest, alertWebhook: alertWebhook.startsWith('env:') ? alertWebhook : '(set; not shown)' };
}

/**
 * Starts a run; `requests` (the input's line count, when the caller knows it) goes into the
 * summary. `staged`: the input is already in the shared store (the run skips its staging).
 */
export async function startRun(
  client: Client,
  config: RunConfig,
  taskQueue = defaultTaskQueue(),
  requests?: number,
  staged?: StageResult,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof runWorkflow>> {
  if (config.priority !== undefined && !isPriority(config.priority)) throw new RangeError(`RunConfig.priority must be a whole number from 1 (most urgent) to 5 (least), got ${config.priority}`);
  const summary = runSummary(config, requests);
  return client.workflow.start<typeof runWorkflow>('runWorkflow', {
    taskQueue,
    workflowId: config.runId,
    args: [staged ? { config, staged } : { config }],
    // The configuration, for the UI; it holds no secret (keys stay on the workers).
    memo: { config: memoOf(config) },
    staticSummary: summary,
    // Lower keys are served first from the task queue; chunks and activities carry the same.
    priority: taskPriority(config),
    typedSearchAttributes: [{ key: LlmBatchPriority, value: priorityOf(config) }],
  });
}

/** The run's status, with the progress of chunks still in flight added from their heartbeats. */
export async function getRunStatus(client: Client, runId: string): Promise<RunStatus> {
  const handle = client.workflow.getHandle<typeof runWorkflow>(runId);
  let status: RunStatus;
  try {
    status = await handle.query(statusQuery);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new Error(`no run with id ${runId}`);
    // A closed run answers queries too; a failed one may not: report what the server knows.
    const desc = await handle.describe();
    if (desc.status.name === 'COMPLETED') return (await handle.result()) as RunStatus;
    throw new Error(`run ${runId} is ${desc.status.name.toLowerCase()}: ${(e as Error).message}`);
  }
  const batchIds = new Set(status.chunks.batchInFlight ?? []);
  if (batchIds.size > 0) {
    const views = await Promise.all([...batchIds].map((id) => batchView(client, id)));
    status.batches = views.filter((v): v is BatchChunkView => v !== undefined);
  }
  const live = await Promise.all(status.chunks.inFlight.filter((id) => !batchIds.has(id)).map((id) => chunkProgress(client, id)));
  for (const p of live) {
    if (!p) continue;
    status.counts.succeeded += p.succeeded;
    status.counts.failed += p.failed;
    status.counts.pending -= p.succeeded + p.failed;
    status.costUsd.spent += p.costUsd;
  }
  return status;
}

/** A batch chunk's view of its batch (submission, provider status, request counts). */
async function batchView(client: Client, workflowId: string): Promise<BatchChunkView | undefined> {
  try {
    return { ...(await client.workflow.getHandle(workflowId).query(batchChunkQuery)), workflowId };
  } catch {
    return undefined; // it just finished: its results are in the run's status
  }
}

async function chunkProgress(client: Client, workflowId: string): Promise<ChunkProgress | undefined> {
  try {
    const desc = await client.workflow.getHandle(workflowId).describe();
    const payload = desc.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
    // Raw from describe(): decoded (and decrypted) with the client's own data converter.
    if (!payload) return undefined;
    const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
    let decoded = [payload as Payload];
    for (const codec of [...payloadCodecs].reverse()) decoded = await codec.decode(decoded);
    return payloadConverter.fromPayload(decoded[0]!) as ChunkProgress;
  } catch {
    return undefined; // the chunk just finished or has not started: its summary is in the run's status
  }
}

export const isFinished = (s: RunStatus): boolean => FINAL_STATES.includes(s.state);
