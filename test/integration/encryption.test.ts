// Encrypted payloads against the real dev server, the emulator and the real Temporal CLI:
// a run's history holds no readable configuration, the codec server decodes it, a worker
// without the key stalls the run (nothing lost) until one with the key finishes it, and a
// rotated key file still reads histories written with the old key.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { NativeConnection } from '@temporalio/worker';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { connectClient, getRunStatus, isFinished, startRun } from '../../src/client.ts';
import { createWorker } from '../../src/worker.ts';
import { EncryptionCodec } from '../../src/codec/encryption-codec.ts';
import { keyRingFromEnv, parseKeySpec, type KeyRing } from '../../src/codec/keys.ts';
import { startCodecServer, type RunningCodecServer } from '../../src/codec/server.ts';
import { findTemporalCli } from '../../src/dev/temporal-cli.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { chatLine, readJsonl, runConfig, tempDir, waitFor, writeChatInput } from '../support/harness.ts';

const run = promisify(execFile);
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const TOKEN = `tok-${randomBytes(8).toString('hex')}`;

/** `temporal workflow show|describe` as an operator runs it, JSON out. */
async function temporal(args: string[]): Promise<{ out: string; code: number }> {
  const cli = findTemporalCli()!.path;
  try {
    const { stdout } = await run(cli, [...args, '--address', inject('temporalAddress'), '--namespace', 'default', '-o', 'json'], { maxBuffer: 64 * 1024 * 1024 });
    return { out: stdout, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    return { out: `${err.stdout ?? ''}${err.stderr ?? ''}`, code: err.code ?? 1 };
  }
}

/**
 * The CLI's JSON with every payload's data decoded from base64 appended: what a reader of the
 * history can read (json/plain payloads are base64 in -o json, so the raw text proves nothing).
 * Search attributes are left out: they stay plain by design (checked apart).
 */
function readable(out: string, { searchAttributes = false } = {}): string {
  const texts: string[] = [out];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.data === 'string' && o.metadata && typeof o.metadata === 'object') texts.push(Buffer.from(o.data, 'base64').toString('utf8'));
      for (const [k, x] of Object.entries(o)) if (searchAttributes || k !== 'searchAttributes') walk(x);
    }
  };
  try {
    walk(JSON.parse(out));
  } catch {
    // not JSON (an error message): the text alone
  }
  return texts.join('\n');
}

/** A worker in this process with the given keys (null: none), the bundle built as `llm-batch worker` builds it. */
async function startKeyedWorker(o: { home: string; baseURL: string; taskQueue: string; keyRing: KeyRing | null }) {
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await createWorker({
    home: o.home,
    provider: { baseURL: o.baseURL },
    connection,
    taskQueue: o.taskQueue,
    keyRing: o.keyRing,
    // Without a key, the tests' shared plain bundle; with one, the codec's variant from the host cache.
    ...(o.keyRing === null ? { workflowBundle: { codePath: inject('workflowBundlePath') } } : {}),
  });
  const running = worker.run();
  return {
    async stop() {
      await worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

describe('encrypted payloads', () => {
  const home = tempDir('llm-batch-enc-');
  const secretDir = join(home, 'confidential-q3-tickets');
  mkdirSync(secretDir);
  const ring1 = parseKeySpec(`k1:${K1}`);
  let emu: RunningEmulator;
  let c1: Client;
  let worker1: Awaited<ReturnType<typeof startKeyedWorker>> | undefined;
  let codec: RunningCodecServer | undefined;
  const queueA = `enc-a-${Date.now()}`;
  let firstRunId = '';
  let firstInput = '';

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    c1 = await connectClient(inject('temporalAddress'), { keyRing: ring1 });
    worker1 = await startKeyedWorker({ home, baseURL: emu.baseUrl, taskQueue: queueA, keyRing: ring1 });
  });
  afterAll(async () => {
    await worker1?.stop();
    await codec?.close();
    await emu?.close();
  });

  it('completes a run whose history shows no readable config; the codec server decodes it for the Temporal CLI', async () => {
    const { path } = writeChatInput(secretDir, 12, 'input.jsonl');
    firstInput = path;
    firstRunId = `enc-${Date.now()}`;
    // Slow enough that `status` sees a chunk in flight: its progress comes from the chunk's
    // heartbeats, which describe() returns raw (encrypted) and the client decrypts.
    emu.configure({ latencyMs: 300 });
    const handle = await startRun(c1, runConfig({ runId: firstRunId, inputPath: path, budgetUsd: 17.25, fallbackModel: 'gpt-4.1-nano', chunkSize: 12, concurrency: 1 }), queueA);
    let liveProgress = 0;
    await waitFor(async () => {
      const s = await getRunStatus(c1, firstRunId);
      if (s.chunks.inFlight.length > 0) liveProgress = Math.max(liveProgress, s.counts.succeeded);
      return liveProgress > 0 || isFinished(s);
    }, 60_000, 'live progress from heartbeats');
    emu.configure({ latencyMs: 0 });
    expect(liveProgress).toBeGreaterThan(0);
    const status = (await handle.result()) as RunStatus;
    expect(status.state).toBe('completed');
    expect(status.counts.succeeded).toBe(12);
    expect(readJsonl(status.outputPath!)).toHaveLength(12);

    const shown = await temporal(['workflow', 'show', '-w', firstRunId]);
    const described = await temporal(['workflow', 'describe', '-w', firstRunId]);
    expect(shown.code).toBe(0);
    expect(described.code).toBe(0);
    for (const out of [readable(shown.out), readable(described.out)]) {
      expect(out).not.toContain('confidential-q3-tickets');
      expect(out).not.toContain('gpt-4.1-nano');
      expect(out).not.toContain('gpt-4o-mini');
      expect(out).not.toContain('17.25');
    }
    expect(shown.out).toContain(Buffer.from('binary/encrypted').toString('base64'));
    expect(readable(shown.out, { searchAttributes: true })).not.toContain(K1); // the key itself never travels
    // Search attributes stay plain: Temporal indexes them to list runs (the README says which).
    expect(readable(shown.out, { searchAttributes: true })).toContain('"gpt-4o-mini"');
    expect(described.out).toContain('LlmBatchPriority');

    codec = await startCodecServer({ codec: new EncryptionCodec(ring1), port: 0, authToken: TOKEN });
    const decoded = await temporal(['workflow', 'show', '-w', firstRunId, '--codec-endpoint', codec.url, '--codec-auth', `Bearer ${TOKEN}`]);
    expect(decoded.code).toBe(0);
    expect(readable(decoded.out)).toContain(path);
    expect(readable(decoded.out)).toContain('gpt-4.1-nano');
    const wrongToken = await temporal(['workflow', 'show', '-w', firstRunId, '--codec-endpoint', codec.url, '--codec-auth', 'Bearer nope']);
    expect(readable(wrongToken.out)).not.toContain(path);
  });

  it('encrypts failures too: the client reads the reason, the history does not show it', async () => {
    const path = join(secretDir, 'unpriced.jsonl');
    writeFileSync(path, `${chatLine('a', 'x', { model: 'acme-private-llm' })}\n`);
    const runId = `enc-fail-${Date.now()}`;
    const handle = await startRun(c1, runConfig({ runId, inputPath: path }), queueA);
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as Error & { cause?: Error }).cause?.message)).toMatch(/acme-private-llm/);
    const shown = await temporal(['workflow', 'show', '-w', runId]);
    expect(shown.out).toContain('Encoded failure');
    expect(readable(shown.out)).not.toContain('acme-private-llm');
  });

  it('a worker without the key fails the workflow task saying so; a worker with it then completes the run, nothing lost', async () => {
    const queueB = `enc-b-${Date.now()}`;
    const { path, ids } = writeChatInput(secretDir, 10, 'stalled.jsonl');
    const runId = `enc-nokey-${Date.now()}`;
    emu.resetStats();
    const handle = await startRun(c1, runConfig({ runId, inputPath: path }), queueB);
    const keyless = await startKeyedWorker({ home, baseURL: emu.baseUrl, taskQueue: queueB, keyRing: null });
    let failure = '';
    try {
      await waitFor(async () => {
        for (const e of (await handle.fetchHistory()).events ?? []) {
          const msg = e.workflowTaskFailedEventAttributes?.failure?.message;
          if (msg) failure = msg;
        }
        return failure !== '';
      }, 60_000, 'a failed workflow task');
    } finally {
      await keyless.stop();
    }
    expect(failure).toMatch(/encrypted \(key "k1"\) and this process has no key: set LLM_BATCH_ENCRYPTION_KEY/);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(emu.stats().served).toBe(0);

    const keyed = await startKeyedWorker({ home, baseURL: emu.baseUrl, taskQueue: queueB, keyRing: ring1 });
    try {
      const status = (await handle.result()) as RunStatus;
      expect(status.state).toBe('completed');
      expect(status.counts.succeeded).toBe(10);
      expect(readJsonl<{ custom_id: string }>(status.outputPath!).map((l) => l.custom_id)).toEqual(ids);
      expect(emu.stats().served).toBe(10);
      expect(emu.stats().duplicateCalls).toBe(0);
    } finally {
      await keyed.stop();
    }
  });

  it('after rotation (a key file whose current key is new), histories written with the old key stay readable', async () => {
    const file = join(home, 'keys.json');
    writeFileSync(file, JSON.stringify({ current: 'k2', keys: { k1: K1, k2: K2 } }), { mode: 0o600 });
    const rotated = keyRingFromEnv({ LLM_BATCH_ENCRYPTION_KEY_FILE: file })!;
    // The queue's worker now holds the rotated keys: it replays the k1 history to answer a query in k2.
    await worker1!.stop();
    worker1 = await startKeyedWorker({ home, baseURL: emu.baseUrl, taskQueue: queueA, keyRing: rotated });
    const c2 = await connectClient(inject('temporalAddress'), { keyRing: rotated });
    const status = await getRunStatus(c2, firstRunId);
    expect(status.state).toBe('completed');
    expect(status.counts.succeeded).toBe(12);

    await codec!.close();
    codec = await startCodecServer({ codec: new EncryptionCodec(rotated), port: 0 });
    const decoded = await temporal(['workflow', 'show', '-w', firstRunId, '--codec-endpoint', codec.url]);
    expect(decoded.code).toBe(0);
    expect(readable(decoded.out)).toContain(firstInput);
  });
});
