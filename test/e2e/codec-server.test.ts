// `llm-batch codec-server` as a user runs it: usage errors exit 2 without echoing a key,
// and the running server decodes for the right bearer token and answers 401 to a wrong one.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec } from '../../src/codec/encryption-codec.ts';
import { parseKeySpec } from '../../src/codec/keys.ts';
import { freePort } from '../../src/dev/ports.ts';
import { waitFor } from '../support/harness.ts';

const exec = promisify(execFile);
const BIN = join(resolve(import.meta.dirname, '../..'), 'bin/llm-batch.js');
const KEY = `k1:${randomBytes(32).toString('base64')}`;
const clean = { ...process.env, LLM_BATCH_ENCRYPTION_KEY: '', LLM_BATCH_ENCRYPTION_KEY_FILE: '', LLM_BATCH_CODEC_AUTH_TOKEN: '' };

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: (err.stdout ?? '') + (err.stderr ?? '') };
  }
}

describe('llm-batch codec-server', () => {
  it('exits 2 with a clear message: no key, a bad key (not echoed), a public host without a token', async () => {
    const short = randomBytes(16).toString('base64');
    const [none, bad, open, help] = await Promise.all([
      cli(['codec-server'], {}),
      cli(['codec-server'], { LLM_BATCH_ENCRYPTION_KEY: `k1:${short}` }),
      cli(['codec-server', '--host', '0.0.0.0'], { LLM_BATCH_ENCRYPTION_KEY: KEY }),
      cli(['codec-server', '--help'], {}),
    ]);
    expect(none.code).toBe(2);
    expect(none.out).toMatch(/needs the keys: set LLM_BATCH_ENCRYPTION_KEY/);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/16 bytes, AES-256 needs 32/);
    expect(bad.out).not.toContain(short);
    expect(open.code).toBe(2);
    expect(open.out).toMatch(/--auth-token/);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--ui-codec-endpoint/);
  });

  it('serves /decode: 200 with the token, 401 without', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'codec-server', '--port', String(port)], {
      env: { ...clean, LLM_BATCH_ENCRYPTION_KEY: KEY, LLM_BATCH_CODEC_AUTH_TOKEN: 'sesame' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor(() => log.includes('codec-server: http://'), 30_000, 'the codec server to listen');
      expect(log).not.toContain(KEY.slice(3));
      const [sealed] = await new EncryptionCodec(parseKeySpec(KEY)).encode([defaultPayloadConverter.toPayload({ secret: 42 })]);
      const body = JSON.stringify({
        payloads: [{ metadata: Object.fromEntries(Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(sealed!.data!).toString('base64') }],
      });
      const url = `http://127.0.0.1:${port}/decode`;
      const ok = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer sesame' } });
      expect(ok.status).toBe(200);
      const data = ((await ok.json()) as { payloads: { data: string }[] }).payloads[0]!.data;
      expect(JSON.parse(Buffer.from(data, 'base64').toString())).toEqual({ secret: 42 });
      const denied = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer open' } });
      expect(denied.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
