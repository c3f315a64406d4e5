// The emulator's batch refusal fault (--refuse-upload, --refuse-batch-create) through the real
// openai SDK over HTTP: the chosen upload or creation is answered 400 with OpenAI's
// ErrorResponse shape, the others go through, and the counts say so.
import OpenAI, { APIError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { emulatorOptionsFromCli } from '../../src/cli/emulator.ts';
import { checkBatchUpload, MAX_BATCH_FILE_BYTES } from '../../src/emulator/batch-input.ts';

let emu: RunningEmulator;
let client: OpenAI;

beforeAll(async () => {
  emu = await startEmulator({ batchValidatingMs: 10, batchInProgressMs: 50, batchFinalizingMs: 10 });
  client = new OpenAI({ apiKey: 'test', baseURL: emu.baseUrl, maxRetries: 0 });
});

afterAll(async () => {
  await emu.close();
});

const line = (id: string) => `${JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${id}` }] } })}\n`;

async function failure(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof APIError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('batch refusal fault', () => {
  it('refuses the chosen upload with a 400 ErrorResponse; the others are stored', async () => {
    emu.configure({ refuseUploads: [2] });
    emu.resetStats();
    const first = await client.files.create({ file: await toFile(Buffer.from(line('a')), 'a.jsonl'), purpose: 'batch' });
    const refused = await failure(client.files.create({ file: await toFile(Buffer.from(line('b')), 'b.jsonl'), purpose: 'batch' }));
    const third = await client.files.create({ file: await toFile(Buffer.from(line('c')), 'c.jsonl'), purpose: 'batch' });
    expect(first.id).toMatch(/^file-/);
    expect(third.id).toMatch(/^file-/);
    expect(refused.status).toBe(400);
    const body = refused.error as { message: string; type: string; param: string | null; code: string | null };
    expect(Object.keys(body).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.type).toBe('invalid_request_error');
    expect(body.param).toBe('file');
    expect(body.message).toContain('was refused');
    // Only the accepted files are stored.
    expect(emu.files().map((f) => f.filename).sort()).toEqual(['a.jsonl', 'c.jsonl']);
    expect(emu.stats()).toMatchObject({ uploadsRefused: 1, filesUploaded: 2 });
    // A file that fails the upload checks is not counted as one of the uploads to refuse.
    emu.configure({ refuseUploads: [1] });
    expect((await failure(client.files.create({ file: await toFile(Buffer.from(''), 'empty.jsonl'), purpose: 'batch' }))).status).toBe(400);
    expect((await failure(client.files.create({ file: await toFile(Buffer.from(line('d')), 'd.jsonl'), purpose: 'batch' }))).message).toContain('upload 1');
    emu.configure({ refuseUploads: [] });
  });

  it('refuses the chosen batch creation with 400; the next goes through', async () => {
    emu.configure({ refuseBatchCreates: [1] });
    emu.resetStats();
    const file = await client.files.create({ file: await toFile(Buffer.from(line('x')), 'x.jsonl'), purpose: 'batch' });
    const refused = await failure(client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain(file.id);
    expect((refused.error as { param: string }).param).toBe('input_file_id');
    const ok = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(ok.status).toBe('validating');
    expect(emu.batches()).toHaveLength(1);
    expect(emu.stats()).toMatchObject({ batchCreatesRefused: 1, batchesCreated: 1 });
  });

  it('llm-batch emulator takes --refuse-upload and --refuse-batch-create, repeatable, whole numbers from 1', () => {
    const raw = { port: '0', host: '127.0.0.1', latencyMs: '0', jitterMs: '0', errorRate: '0', outage: [], malformedRate: '0', hangRate: '0', quotaExhausted: false, seed: '1', batchValidatingMs: '1', batchInProgressMs: '1', batchFinalizingMs: '1', batchLineErrorRate: '0' };
    expect(emulatorOptionsFromCli({ ...raw, refuseUpload: ['2', '5'], refuseBatchCreate: ['1'] })).toMatchObject({ refuseUploads: [2, 5], refuseBatchCreates: [1] });
    expect(emulatorOptionsFromCli(raw)).toMatchObject({ refuseUploads: [], refuseBatchCreates: [] });
    expect(() => emulatorOptionsFromCli({ ...raw, refuseUpload: ['0'] })).toThrow(/--refuse-upload/);
    expect(() => emulatorOptionsFromCli({ ...raw, refuseBatchCreate: ['x'] })).toThrow(/--refuse-batch-create/);
  });
});

describe('batch input files over the provider\'s limit', () => {
  it('a batch input file over 200 MB is refused with 400 file_too_large, as OpenAI does', () => {
    expect(MAX_BATCH_FILE_BYTES).toBe(200 * 1024 * 1024);
    // Checked on the bytes alone: an uninitialised buffer of the limit plus one byte is enough.
    const over = checkBatchUpload('big.jsonl', Buffer.allocUnsafe(MAX_BATCH_FILE_BYTES + 1));
    expect(over?.status).toBe(400);
    expect(over?.body.error).toMatchObject({ type: 'invalid_request_error', param: 'file', code: 'file_too_large' });
    expect(checkBatchUpload('ok.jsonl', Buffer.from(line('ok')))).toBeUndefined();
  });
});
