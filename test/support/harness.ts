// Shared pieces of the integration suites: a worker in this process against the test
// dev server, a worker in a child process (to kill for real), inputs, output readers.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import pg from 'pg';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { connectClient, DEFAULTS, startRun } from '../../src/client.ts';
import { createWorker, type LlmBatchWorker } from '../../src/worker.ts';
import type { RunConfig, RunStatus } from '../../src/domain/run-types.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { usageOf } from '../../src/llm/provider.ts';
import type { ObservabilitySettings } from '../../src/observability/worker-observability.ts';
import type { AlertPayload } from '../../src/domain/alerts.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// Workers in test processes log warnings only, so test output stays readable.
Runtime.install({ logger: new DefaultLogger('WARN') });

export const tempDir = (prefix = 'llm-batch-'): string => mkdtempSync(join(tmpdir(), prefix));

export const client = (): Promise<Client> => connectClient(inject('temporalAddress'));

/** A worker in this process; each test gets its own task queue so suites never share work. */
export async function startWorker(opts: { home: string; baseURL: string; taskQueue: string; observability?: ObservabilitySettings }): Promise<{ stop(): Promise<void>; worker: LlmBatchWorker }> {
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await createWorker({
    home: opts.home,
    provider: { baseURL: opts.baseURL },
    connection,
    taskQueue: opts.taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    ...(opts.observability ? { observability: opts.observability } : {}),
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      await worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

const REPO = resolve(import.meta.dirname, '../..');

/** `llm-batch worker` as a user runs it, in its own process, so a test can SIGKILL it. */
export function spawnWorker(opts: { home: string; baseURL: string; taskQueue: string; env?: Record<string, string> }): ChildProcess {
  const child = spawn(process.execPath, [join(REPO, 'bin/llm-batch.js'), 'worker'], {
    env: { ...process.env, ...opts.env, TEMPORAL_ADDRESS: inject('temporalAddress'), LLM_BATCH_HOME: opts.home, OPENAI_BASE_URL: opts.baseURL, LLM_BATCH_TASK_QUEUE: opts.taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

export function runConfig(partial: Partial<RunConfig> & { runId: string; inputPath: string }): RunConfig {
  return { mode: 'realtime', ...DEFAULTS, heartbeatTimeoutMs: 5000, ...partial };
}

export async function runToEnd(c: Client, config: RunConfig, taskQueue: string): Promise<RunStatus> {
  const handle = await startRun(c, config, taskQueue);
  return (await handle.result()) as RunStatus;
}

export interface ChatLineOptions {
  model?: string;
  maxTokens?: number;
  feature?: string;
}

/** An OpenAI Batch input line for a small chat request. */
export function chatLine(customId: string, text: string, o: ChatLineOptions = {}): string {
  return JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: o.model ?? 'gpt-4o-mini', messages: [{ role: 'user', content: text }], max_tokens: o.maxTokens ?? 40 },
    ...(o.feature ? { metadata: { feature: o.feature } } : {}),
  });
}

/** n chat lines with ids item-00001..., written to a file in dir. */
export function writeChatInput(dir: string, n: number, name = 'input.jsonl'): { path: string; ids: string[]; lines: string[] } {
  const ids = Array.from({ length: n }, (_, i) => `item-${String(i + 1).padStart(5, '0')}`);
  const lines = ids.map((id, i) => chatLine(id, `Ticket ${i + 1}: the export button fails with error ${1000 + (i % 97)}. What should I check?`));
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, ids, lines };
}

export const readJsonl = <T = Record<string, unknown>>(path: string): T[] =>
  readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What an output line cost, priced from its own usage with the bundled table (at the Batch discount when `batch`). */
export function outputLineCostUsd(line: { response: { body: unknown } | null }, batch: boolean): number {
  const body = line.response!.body as { model: string };
  const u = usageOf(body);
  return costOfUsage(loadDefaultPricing(), body.model, { promptTokens: u.prompt, cachedTokens: u.cached, completionTokens: u.completion, reasoningTokens: u.reasoning }, { batch });
}

/** The URL of a new, empty database on the test run's PostgreSQL (extra CREATE DATABASE clauses when given). */
export async function freshDatabase(clauses = ''): Promise<string> {
  const name = `t_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const c = new pg.Client(inject('databaseUrl'));
  await c.connect();
  await c.query(`CREATE DATABASE ${name} ${clauses}`).finally(() => c.end());
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

/** An alert webhook on loopback that keeps every alert it is sent in `alerts`; `path` is the URL's path. */
export async function startAlertReceiver(path: string, alerts: AlertPayload[] = []): Promise<{ url: string; alerts: AlertPayload[]; close(): void }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      alerts.push(JSON.parse(body) as AlertPayload);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, alerts, close: () => server.close() };
}
