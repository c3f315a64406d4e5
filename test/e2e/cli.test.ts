// The CLI as a user runs it: --help everywhere, --strict, run/status/results against a
// real dev server, and the README's Quick start (`npm run demo`) from start to finish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { freePort } from '../../src/dev/ports.ts';
import { chatLine, readJsonl, startWorker, tempDir, writeChatInput } from '../support/harness.ts';

const exec = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/llm-batch.js');

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const COMMANDS = ['demo', 'dev', 'worker', 'emulator', 'run', 'status', 'results'];

describe('llm-batch CLI', () => {
  it('--help lists every command, and each has its own --help', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const helps = await Promise.all(COMMANDS.map((c) => cli([c, '--help'])));
    for (const [i, h] of helps.entries()) {
      expect(h.code, COMMANDS[i]).toBe(0);
      expect(h.stdout).toContain(`Usage: llm-batch ${COMMANDS[i]}`);
    }
  });

  it('run --strict refuses a file with bad lines, naming file and line, before contacting anything', async () => {
    const dir = tempDir();
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, `${chatLine('a', 'x')}\n{"nope"\n${chatLine('a', 'y')}\n`);
    const r = await cli(['run', path, '--strict'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:2: not valid JSON`);
    expect(r.stderr).toContain(`${path}:3: custom_id "a" was already used on line 1`);
    expect(r.stderr).toContain('2 invalid lines');
  });

  it('says clearly when Temporal cannot be reached', async () => {
    const dir = tempDir();
    const { path } = writeChatInput(dir, 3);
    const r = await cli(['run', path], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  });

  describe('run, status and results against a dev server', () => {
    let emu: RunningEmulator;
    let worker: Awaited<ReturnType<typeof startWorker>>;
    const home = tempDir();
    const taskQueue = `e2e-${Date.now()}`;
    const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), LLM_BATCH_HOME: home, LLM_BATCH_TASK_QUEUE: taskQueue };
    beforeAll(async () => {
      emu = await startEmulator({ port: 0 });
      worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    });
    afterAll(async () => {
      await worker?.stop();
      await emu?.close();
    });

    it('run --wait --json, then status --json and results', async () => {
      const dir = tempDir();
      const prompts = join(dir, 'prompts.txt');
      writeFileSync(prompts, 'Name three rivers.\nWhat is a durable workflow?\n\nSay hi.\n');
      const run = await cli(['run', prompts, '--model', 'gpt-4o-mini', '--system', 'Be brief.', '--max-tokens', '30', '--run-id', `e2e-${Date.now()}`, '--wait', '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const final = JSON.parse(run.stdout);
      expect(final).toMatchObject({ state: 'completed', counts: { total: 3, succeeded: 3, failed: 0, rejected: 1, pending: 0 } });

      const status = await cli(['status', final.runId, '--json'], env);
      expect(status.code).toBe(0);
      const s = JSON.parse(status.stdout);
      for (const k of ['runId', 'state', 'counts', 'costUsd', 'tokens', 'startedAt', 'updatedAt']) expect(s).toHaveProperty(k);
      expect(s.costUsd.spent).toBeGreaterThan(0);
      expect(s.tokens.prompt).toBeGreaterThan(0);

      const out = join(dir, 'out.jsonl');
      const errors = join(dir, 'errs.jsonl');
      const res = await cli(['results', final.runId, '--out', out, '--errors', errors], env);
      expect(res.code, res.stderr).toBe(0);
      const lines = readJsonl<{ custom_id: string; response: { status_code: number } }>(out);
      expect(lines.map((l) => l.custom_id)).toEqual(['line-1', 'line-2', 'line-4']);
      expect(lines.every((l) => l.response.status_code === 200)).toBe(true);
      expect(readJsonl(errors)).toEqual([]);
    });
  });

  it('Quick start: `npm run demo` runs the 2,400-request example to completion', async () => {
    const home = tempDir();
    const [tp, up, ep] = [await freePort(), await freePort(), await freePort()];
    const { stdout, stderr } = await exec('npm', ['run', 'demo', '--', '--no-keep-running', '--temporal-port', String(tp), '--ui-port', String(up), '--emulator-port', String(ep)], {
      cwd: REPO,
      env: { ...process.env, LLM_BATCH_HOME: home },
      timeout: 240_000,
    });
    expect(stdout).toMatch(/state\s+│ completed/);
    expect(stdout).toMatch(/items ok\s+│ 2,400/);
    expect(stdout).toContain(`Temporal UI http://127.0.0.1:${up}/namespaces/default/workflows/`);
    const outputPath = /output\s+(\S+output\.jsonl)/.exec(stdout)?.[1];
    expect(outputPath, stderr).toBeDefined();
    expect(existsSync(outputPath!)).toBe(true);
    expect(readJsonl(outputPath!)).toHaveLength(2400);
  }, 300_000);
});
