// The emulator's Files and Batch APIs through the real openai SDK over real HTTP.
import { mkdtempSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { FileObject } from 'openai/resources/files';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildChatCompletion } from '../../src/emulator/chat.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { countChatPromptTokens, countEmbeddingInputTokens } from '../../src/llm/tokens.ts';

const FAST = { batchValidatingMs: 50, batchInProgressMs: 300, batchFinalizingMs: 50 };
const FINAL: readonly Batch['status'][] = ['completed', 'failed', 'expired', 'cancelled'];

let emu: RunningEmulator;
let client: OpenAI;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator(FAST);
  client = new OpenAI({ apiKey: 'test', baseURL: emu.baseUrl, maxRetries: 0 });
  dir = mkdtempSync(join(tmpdir(), 'emulator-batch-'));
});

afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  emu.configure({ ...FAST, batchLineErrorRate: 0, batchExpireAfter: null, batchEnqueuedTokenLimit: 0, outages: [] });
  emu.resetStats();
});

// ---- helpers ----------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

type Line = { custom_id: string; method: 'POST'; url: string; body: Record<string, unknown> };

const chatBody = (content: string, model = 'gpt-4o-mini', extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content }],
  ...extra,
});

const chatLine = (id: string, content = `Classify ticket ${id}: my parcel never arrived`, model = 'gpt-4o-mini', extra: Record<string, unknown> = {}): Line => ({
  custom_id: id,
  method: 'POST',
  url: '/v1/chat/completions',
  body: chatBody(content, model, extra),
});

const chatLines = (n: number, prefix: string, model = 'gpt-4o-mini'): Line[] => Array.from({ length: n }, (_, i) => chatLine(`${prefix}-${i}`, undefined, model));

const jsonl = (lines: readonly unknown[]): string => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';

async function upload(text: string | Buffer, name = 'input.jsonl'): Promise<FileObject> {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'batch' });
}

async function submit(lines: readonly unknown[], endpoint: '/v1/chat/completions' | '/v1/embeddings' = '/v1/chat/completions'): Promise<Batch> {
  const file = await upload(jsonl(lines));
  return client.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
}

/** Polls until `done` holds (by default: a final status). */
async function waitFor(id: string, done: (b: Batch) => boolean = (b) => FINAL.includes(b.status), timeoutMs = 10_000): Promise<Batch> {
  const start = Date.now();
  for (;;) {
    const b = await client.batches.retrieve(id);
    if (done(b)) return b;
    if (Date.now() - start > timeoutMs) throw new Error(`batch ${id} is still ${b.status} after ${timeoutMs} ms`);
    await sleep(15);
  }
}

async function fileLines(fileId: string | null | undefined): Promise<any[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

const sorted = (xs: readonly string[]) => [...xs].sort();

// ---- Files ------------------------------------------------------------------------------

describe('files', () => {
  it('uploads (from a stream), retrieves, lists, returns the content and deletes', async () => {
    const text = jsonl(chatLines(3, 'f'));
    const path = join(dir, 'requests.jsonl');
    writeFileSync(path, text);
    const file = await client.files.create({ file: createReadStream(path), purpose: 'batch' });
    expect(file.id).toMatch(/^file-[A-Za-z0-9]+$/);
    expect(file).toMatchObject({ object: 'file', bytes: Buffer.byteLength(text), filename: 'requests.jsonl', purpose: 'batch', status: 'processed' });
    expect(file.status_details).toBeNull();
    expect(file.expires_at).toBeNull();
    expect(Math.abs(file.created_at - Date.now() / 1000)).toBeLessThan(5);

    expect(await client.files.retrieve(file.id)).toEqual(file);
    expect(await (await client.files.content(file.id)).text()).toBe(text);

    // Streamed body, as a reader of a large output file would take it.
    const res = await client.files.content(file.id);
    const chunks: Buffer[] = [];
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).toString('utf8')).toBe(text);

    const other = await client.files.create({ file: await toFile(Buffer.from('notes'), 'notes.txt'), purpose: 'user_data' });
    const listed: string[] = [];
    for await (const f of client.files.list()) listed.push(f.id);
    expect(listed.slice(0, 2)).toEqual([other.id, file.id]); // newest first
    const batchOnly: string[] = [];
    for await (const f of client.files.list({ purpose: 'batch' })) batchOnly.push(f.id);
    expect(batchOnly).toContain(file.id);
    expect(batchOnly).not.toContain(other.id);

    expect(await client.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    const gone = await rejection(client.files.retrieve(file.id));
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    expect(gone.error).toMatchObject({ message: `No such File object: ${file.id}`, type: 'invalid_request_error' });
    expect(await rejection(client.files.content(file.id))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await rejection(client.files.delete(file.id))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(emu.stats().filesUploaded).toBe(2);
  });

  it('refuses a batch file that is not JSONL, and a bad or missing purpose, with 400 and the parameter', async () => {
    const cases: [Buffer, string][] = [
      [Buffer.alloc(0), 'input.jsonl'],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), 'input.jsonl'],
      [Buffer.from(jsonl(chatLines(1, 'x'))), 'input.json'],
      [Buffer.from('custom_id,body\nx,y\n'), 'input.jsonl'],
      [Buffer.from('[1, 2, 3]\n'), 'input.jsonl'],
    ];
    for (const [data, name] of cases) {
      const err = await rejection(client.files.create({ file: await toFile(data, name), purpose: 'batch' }));
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.param).toBe('file');
      expect(err.type).toBe('invalid_request_error');
      expect(err.message).toMatch(/empty|jsonl|UTF-8|JSON object/i);
    }
    // The same non-JSONL text is fine for another purpose; bad lines after the first are found later.
    await client.files.create({ file: await toFile(Buffer.from('custom_id,body\n'), 'notes.jsonl'), purpose: 'user_data' });
    await upload(jsonl([chatLine('ok'), 'not json']));

    const badPurpose = await rejection(client.files.create({ file: await toFile(Buffer.from('x'), 'x.jsonl'), purpose: 'training' as never }));
    expect(badPurpose).toBeInstanceOf(OpenAI.BadRequestError);
    expect(badPurpose.param).toBe('purpose');

    const form = new FormData();
    form.append('file', new File(['{}\n'], 'x.jsonl'));
    const res = await fetch(`${emu.baseUrl}/files`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({ param: 'purpose', code: 'missing_required_parameter', type: 'invalid_request_error' });
  });
});

// ---- Batches: creation ------------------------------------------------------------------

describe('batch creation', () => {
  it('validates the parameters synchronously with 400s naming the parameter', async () => {
    const file = await upload(jsonl(chatLines(2, 'v')));
    const ok = { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' } as const;

    const noFile = await rejection(client.batches.create({ ...ok, input_file_id: undefined } as never));
    expect(noFile).toBeInstanceOf(OpenAI.BadRequestError);
    expect(noFile.param).toBe('input_file_id');
    expect(noFile.code).toBe('missing_required_parameter');

    const endpoint = await rejection(client.batches.create({ ...ok, endpoint: '/v1/responses' }));
    expect(endpoint).toBeInstanceOf(OpenAI.BadRequestError);
    expect(endpoint.param).toBe('endpoint');
    expect(endpoint.code).toBe('invalid_value');

    const window = await rejection(client.batches.create({ ...ok, completion_window: '48h' as never }));
    expect(window).toBeInstanceOf(OpenAI.BadRequestError);
    expect(window.param).toBe('completion_window');

    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    for (const metadata of [many, { ['k'.repeat(65)]: 'v' }, { k: 'v'.repeat(513) }]) {
      const err = await rejection(client.batches.create({ ...ok, metadata }));
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.param).toBe('metadata');
    }

    const unknown = await rejection(client.batches.create({ ...ok, input_file_id: 'file-nope' }));
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.message).toContain('file-nope');

    const notBatch = await client.files.create({ file: await toFile(Buffer.from(jsonl(chatLines(1, 'u'))), 'u.jsonl'), purpose: 'user_data' });
    const purpose = await rejection(client.batches.create({ ...ok, input_file_id: notBatch.id }));
    expect(purpose).toBeInstanceOf(OpenAI.BadRequestError);
    expect(purpose.param).toBe('input_file_id');

    expect(await rejection(client.batches.retrieve('batch_nope'))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(emu.stats().batchesCreated).toBe(0);

    const created = await client.batches.create({ ...ok, metadata: { run: 'r1', chunk: '3.0' } });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', input_file_id: file.id, metadata: { run: 'r1', chunk: '3.0' } });
    await waitFor(created.id);
  });
});

// ---- Batches: lifecycle -----------------------------------------------------------------

describe('batch lifecycle', () => {
  it('goes validating → in_progress (counts growing) → finalizing → completed, serving every line once in a shuffled order', async () => {
    emu.configure({ batchInProgressMs: 800, batchFinalizingMs: 200 });
    const lines = chatLines(60, 'life');
    const created = await submit(lines);
    expect(created.id).toMatch(/^batch_[0-9a-f]+$/);
    expect(created).toMatchObject({
      object: 'batch',
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      completion_window: '24h',
      status: 'validating',
      errors: null,
      output_file_id: null,
      error_file_id: null,
      in_progress_at: null,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: null,
    });
    expect(created.expires_at).toBe(created.created_at + 24 * 3600);

    const seen = new Set<string>();
    let partial = false;
    const done = await waitFor(created.id, (b) => {
      seen.add(b.status);
      const c = b.request_counts!.completed;
      if (b.status === 'in_progress' && c > 0 && c < 60) partial = true;
      return FINAL.includes(b.status);
    });
    expect(done.status).toBe('completed');
    expect([...seen]).toEqual(expect.arrayContaining(['in_progress', 'finalizing', 'completed']));
    expect(partial).toBe(true);
    expect(done.request_counts).toEqual({ total: 60, completed: 60, failed: 0 });
    expect(done.error_file_id).toBeNull();
    expect(done.in_progress_at!).toBeGreaterThanOrEqual(done.created_at);
    expect(done.finalizing_at!).toBeGreaterThanOrEqual(done.in_progress_at!);
    expect(done.completed_at!).toBeGreaterThanOrEqual(done.finalizing_at!);

    const outFile = await client.files.retrieve(done.output_file_id!);
    expect(outFile).toMatchObject({ purpose: 'batch_output', filename: `batch_${done.id}_output.jsonl` });
    const out = await fileLines(done.output_file_id);
    const inIds = lines.map((l) => l.custom_id);
    const outIds = out.map((o) => o.custom_id);
    expect(sorted(outIds)).toEqual(sorted(inIds));
    expect(new Set(outIds).size).toBe(60);
    expect(outIds).not.toEqual(inIds);

    const byId = new Map(lines.map((l) => [l.custom_id, l]));
    let input = 0;
    let output = 0;
    for (const o of out) {
      expect(o.id).toMatch(/^batch_req_/);
      expect(o.error).toBeNull();
      expect(o.response.status_code).toBe(200);
      expect(o.response.request_id).toMatch(/^req_/);
      const body = o.response.body;
      const req = byId.get(o.custom_id)!.body as any;
      // The same deterministic answer the realtime endpoint gives.
      const expected = buildChatCompletion(req);
      expect(body.object).toBe('chat.completion');
      expect(body.choices[0].message.content).toBe(expected.choices[0].message.content);
      expect(body.usage).toEqual(expected.usage);
      expect(body.usage.prompt_tokens).toBe(countChatPromptTokens('gpt-4o-mini', req.messages));
      input += body.usage.prompt_tokens;
      output += body.usage.completion_tokens;
    }
    expect(done.usage).toEqual({
      input_tokens: input,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: input + output,
    });
    const realtime = await client.chat.completions.create(byId.get('life-7')!.body as never);
    expect(realtime.choices[0].message.content).toBe(out.find((o) => o.custom_id === 'life-7').response.body.choices[0].message.content);

    const s = emu.stats();
    expect(s).toMatchObject({ batchesCreated: 1, batchLinesServed: 60, batchLinesFailed: 0, filesUploaded: 1, uniqueIds: 60, duplicateIds: 0 });
    expect(s.promptTokens).toBe(input + realtime.usage!.prompt_tokens);
  });

  it('bills each item once across realtime calls and batch lines (stats by custom_id)', async () => {
    for (const id of ['mix-0', 'mix-1']) {
      await client.chat.completions.create(chatBody(`item ${id}`) as never, { headers: { 'X-Client-Request-Id': id } });
    }
    const b = await submit(['mix-2', 'mix-3', 'mix-4'].map((id) => chatLine(id, `item ${id}`)));
    expect((await waitFor(b.id)).status).toBe('completed');
    expect(emu.stats()).toMatchObject({ served: 5, uniqueIds: 5, duplicateIds: 0 });

    const again = await submit([chatLine('mix-1', 'item mix-1')]);
    await waitFor(again.id);
    expect(emu.stats()).toMatchObject({ served: 6, uniqueIds: 5, duplicateIds: 1 });
  });

  it('lists batches newest first with cursor pages the SDK walks', async () => {
    const file = await upload(jsonl(chatLines(1, 'list')));
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push((await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { i: String(i) } })).id);
    }
    const all = emu.batches().map((b) => b.id).reverse();
    expect(all.slice(0, 5)).toEqual([...made].reverse());

    const walked: string[] = [];
    for await (const b of client.batches.list({ limit: 2 })) walked.push(b.id);
    expect(walked).toEqual(all);

    const res = await fetch(`${emu.baseUrl}/batches?limit=2&after=${made[4]}`);
    const page = (await res.json()) as any;
    expect(page).toMatchObject({ object: 'list', first_id: made[3], last_id: made[2], has_more: true });
    expect(page.data.map((b: Batch) => b.id)).toEqual([made[3], made[2]]);

    const first = await client.batches.list({ limit: 100 });
    expect(first.data.map((b) => b.id)).toEqual(all);
    expect(first.hasNextPage()).toBe(false);

    expect(await rejection(client.batches.list({ limit: 0 }))).toBeInstanceOf(OpenAI.BadRequestError);
    expect(await rejection(client.batches.list({ after: 'batch_nope' }))).toBeInstanceOf(OpenAI.BadRequestError);

    const control = (await (await fetch(emu.baseUrl.replace(/\/v1$/, '/_emulator/batches'))).json()) as { data: Batch[] };
    expect(control.data.map((b) => b.id)).toEqual(emu.batches().map((b) => b.id));
    for (const id of made) await waitFor(id);
  });

  it('cancels: cancelling → cancelled with the partial output; 409 on a batch that already ended', async () => {
    emu.configure({ batchInProgressMs: 3000, batchFinalizingMs: 100 });
    const b = await submit(chatLines(300, 'cancel'));
    await waitFor(b.id, (x) => x.status === 'in_progress' && x.request_counts!.completed >= 10);
    const cancelling = await client.batches.cancel(b.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).not.toBeNull();
    expect((await client.batches.cancel(b.id)).status).toBe('cancelling');

    const cancelled = await waitFor(b.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.cancelled_at).not.toBeNull();
    expect(cancelled.completed_at).toBeNull();
    const { completed, failed, total } = cancelled.request_counts!;
    expect(total).toBe(300);
    expect(completed).toBeGreaterThanOrEqual(10);
    expect(completed).toBeLessThan(300);
    expect(failed).toBe(0);
    const out = await fileLines(cancelled.output_file_id);
    expect(out).toHaveLength(completed);
    expect(cancelled.error_file_id).toBeNull();

    const again = await rejection(client.batches.cancel(b.id));
    expect(again).toBeInstanceOf(OpenAI.ConflictError);
    expect(again.status).toBe(409);
    expect(again.error).toMatchObject({ message: "Cannot cancel a batch with status 'cancelled'.", type: 'invalid_request_error' });

    emu.configure(FAST);
    const quick = await submit(chatLines(3, 'quick'));
    expect((await waitFor(quick.id)).status).toBe('completed');
    const conflict = await rejection(client.batches.cancel(quick.id));
    expect(conflict).toBeInstanceOf(OpenAI.ConflictError);
    expect(conflict.message).toContain("Cannot cancel a batch with status 'completed'.");

    emu.configure({ batchValidatingMs: 1000 });
    const early = await submit(chatLines(3, 'early'));
    expect((await client.batches.cancel(early.id)).status).toBe('cancelling');
    const gone = await waitFor(early.id);
    expect(gone).toMatchObject({ status: 'cancelled', output_file_id: null, error_file_id: null, in_progress_at: null });
  });
});

// ---- Batches: failures ------------------------------------------------------------------

describe('batch failures', () => {
  it('fails validation asynchronously, listing every bad line with its code, param and 1-based line', async () => {
    const raw = [
      chatLine('ok-1'), // 1
      'this is not json', // 2
      '[1, 2]', // 3
      { method: 'POST', url: '/v1/chat/completions', body: chatBody('x') }, // 4
      { custom_id: 'no-body', method: 'POST', url: '/v1/chat/completions' }, // 5
      { ...chatLine('wrong-url'), url: '/v1/embeddings' }, // 6
      chatLine('streams', 'x', 'gpt-4o-mini', { stream: true }), // 7
      chatLine('other-model', 'x', 'gpt-4o'), // 8
      chatLine('ok-1', 'again'), // 9
      chatLine('two-choices', 'x', 'gpt-4o-mini', { n: 2 }), // 10
      { ...chatLine('no-messages'), body: { model: 'gpt-4o-mini', messages: [] } }, // 11
      { custom_id: 'no-method', url: '/v1/chat/completions', body: chatBody('x') }, // 12
      '', // 13: blank lines are skipped
      chatLine('ok-2'), // 14
    ];
    const b = await submit(raw);
    expect(b.status).toBe('validating');
    const failed = await waitFor(b.id);
    expect(failed.status).toBe('failed');
    expect(failed.failed_at).not.toBeNull();
    expect(failed.in_progress_at).toBeNull();
    expect(failed.output_file_id).toBeNull();
    expect(failed.error_file_id).toBeNull();
    expect(failed.errors!.object).toBe('list');
    const got = failed.errors!.data!.map((e) => [e.line, e.code, e.param]);
    expect(got).toEqual([
      [2, 'invalid_json_line', null],
      [3, 'invalid_json_line', null],
      [4, 'missing_required_parameter', 'custom_id'],
      [5, 'missing_required_parameter', 'body'],
      [6, 'invalid_url', 'url'],
      [7, 'streaming_unsupported', 'body.stream'],
      [8, 'mismatched_model', 'body.model'],
      [9, 'duplicate_custom_id', 'custom_id'],
      [10, 'invalid_value', 'body.n'],
      [11, 'empty_array', 'body.messages'],
      [12, 'missing_required_parameter', 'method'],
    ]);
    for (const e of failed.errors!.data!) expect(e.message!.length).toBeGreaterThan(10);

    // A body the realtime endpoint refuses is refused with the same code.
    const realtime = await rejection(client.chat.completions.create(chatBody('x', 'gpt-4o-mini', { n: 2 }) as never));
    expect(realtime).toBeInstanceOf(OpenAI.BadRequestError);
    expect(realtime.code).toBe('invalid_value');
    expect(realtime.param).toBe('n');
    expect(emu.stats().batchLinesServed).toBe(0);
  });

  it('answers a share of lines 500 in the error file; a new batch of the same lines gets fresh draws, and none fail at rate 0', async () => {
    emu.configure({ batchLineErrorRate: 0.25 });
    const lines = chatLines(200, 'err');
    const file = await upload(jsonl(lines));
    const create = () => client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });

    const first = await waitFor((await create()).id);
    expect(first.status).toBe('completed');
    const out = await fileLines(first.output_file_id);
    const errs = await fileLines(first.error_file_id);
    expect(errs.length).toBeGreaterThan(20);
    expect(errs.length).toBeLessThan(80);
    expect(first.request_counts).toEqual({ total: 200, completed: out.length, failed: errs.length });
    expect(sorted([...out, ...errs].map((o) => o.custom_id))).toEqual(sorted(lines.map((l) => l.custom_id)));
    for (const e of errs) {
      expect(e.id).toMatch(/^batch_req_/);
      expect(e.error).toBeNull();
      expect(e.response.status_code).toBe(500);
      expect(e.response.request_id).toMatch(/^req_/);
      expect(e.response.body.error).toMatchObject({ type: 'server_error', param: null, code: null });
    }
    expect((await client.files.retrieve(first.error_file_id!)).filename).toBe(`batch_${first.id}_error.jsonl`);
    expect(emu.stats()).toMatchObject({ batchLinesFailed: errs.length, batchLinesServed: out.length });

    const second = await waitFor((await create()).id);
    const errs2 = await fileLines(second.error_file_id);
    expect(sorted(errs2.map((e) => e.custom_id))).not.toEqual(sorted(errs.map((e) => e.custom_id)));

    emu.configure({ batchLineErrorRate: 0 });
    const retry = await submit(errs.map((e) => lines.find((l) => l.custom_id === e.custom_id)!));
    const ok = await waitFor(retry.id);
    expect(ok.request_counts).toEqual({ total: errs.length, completed: errs.length, failed: 0 });
    expect(ok.error_file_id).toBeNull();
  });

  it('expires once the configured share is done: completed lines stay, the rest are batch_expired', async () => {
    emu.configure({ batchExpireAfter: 0.5 });
    const lines = chatLines(40, 'exp');
    const b = await waitFor((await submit(lines)).id);
    expect(b.status).toBe('expired');
    expect(b.expired_at).not.toBeNull();
    expect(b.completed_at).toBeNull();
    expect(b.request_counts).toEqual({ total: 40, completed: 20, failed: 0 });
    const out = await fileLines(b.output_file_id);
    const errs = await fileLines(b.error_file_id);
    expect(out).toHaveLength(20);
    expect(errs).toHaveLength(20);
    for (const e of errs) {
      expect(e).toMatchObject({
        response: null,
        error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
      });
      expect(e.id).toMatch(/^batch_req_/);
    }
    expect(sorted([...out, ...errs].map((o) => o.custom_id))).toEqual(sorted(lines.map((l) => l.custom_id)));
    expect(b.usage!.input_tokens).toBe(out.reduce((n, o) => n + o.response.body.usage.prompt_tokens, 0));
  });

  it('fails a batch past the enqueued token limit with token_limit_exceeded, and accepts it once earlier batches finished', async () => {
    const lines = chatLines(30, 'tok');
    const tokens = lines.reduce((n, l) => n + countChatPromptTokens('gpt-4o-mini', (l.body as any).messages), 0);
    const limit = Math.floor(tokens * 1.5);
    emu.configure({ batchEnqueuedTokenLimit: limit, batchInProgressMs: 1500 });
    const file = await upload(jsonl(lines));
    const create = () => client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });

    const a = await create();
    await waitFor(a.id, (b) => b.status === 'in_progress');
    const other = await submit(chatLines(30, 'tok-other', 'gpt-4.1-mini')); // another model has its own queue
    const b = await waitFor((await create()).id);
    expect(b.status).toBe('failed');
    expect(b.failed_at).not.toBeNull();
    expect(b.errors!.data).toEqual([
      {
        code: 'token_limit_exceeded',
        message: `Enqueued token limit reached for gpt-4o-mini in organization org-emulator. Limit: ${limit.toLocaleString('en-US')} enqueued tokens. Please try submitting your batch again later.`,
        param: null,
        line: null,
      },
    ]);
    expect((await client.batches.retrieve(a.id)).status).toBe('in_progress');
    expect((await waitFor(other.id, (x) => x.status !== 'validating')).status).toBe('in_progress');

    expect((await waitFor(a.id)).status).toBe('completed');
    emu.configure({ batchInProgressMs: 300 });
    expect((await waitFor((await create()).id)).status).toBe('completed');
    expect((await waitFor(other.id)).status).toBe('completed');
  });

  it('refuses more than 50,000 requests in one batch (too_many_tasks)', async () => {
    const text = Array.from({ length: 50_001 }, (_, i) => `{"custom_id":"m${i}","method":"POST","url":"/v1/embeddings","body":{"model":"text-embedding-3-small","input":"x"}}`).join('\n');
    const file = await upload(text);
    const b = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    const failed = await waitFor(b.id);
    expect(failed.status).toBe('failed');
    expect(failed.errors!.data).toEqual([expect.objectContaining({ code: 'too_many_tasks', line: null })]);
  });

  it('close() stops the steps of batches still running', async () => {
    const e = await startEmulator({ batchValidatingMs: 0, batchInProgressMs: 60_000 });
    try {
      const c = new OpenAI({ apiKey: 'test', baseURL: e.baseUrl, maxRetries: 0 });
      const file = await c.files.create({ file: await toFile(Buffer.from(jsonl(chatLines(1000, 'close'))), 'in.jsonl'), purpose: 'batch' });
      const b = await c.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      for (let i = 0; i < 200 && (await c.batches.retrieve(b.id)).status !== 'in_progress'; i++) await sleep(10);
      expect(e.batches()[0].status).toBe('in_progress');
    } finally {
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      await e.close();
      expect(timers()).toBeLessThan(before);
    }
  });

  it('answers 503 to Files and Batches calls during an outage', async () => {
    emu.configure({ outages: [{ startMs: 0, durationMs: 1e9 }] });
    const files = await rejection(client.files.list());
    expect(files).toBeInstanceOf(OpenAI.InternalServerError);
    expect(files.status).toBe(503);
    expect((await rejection(client.batches.list())).status).toBe(503);
    emu.configure({ outages: [] });
    await client.batches.list();
  });
});

// ---- Embeddings and scale ---------------------------------------------------------------

describe('embeddings batches and scale', () => {
  it('runs /v1/embeddings batches (body.input) with the realtime vectors', async () => {
    const lines = Array.from({ length: 12 }, (_, i) => ({
      custom_id: `emb-${i}`,
      method: 'POST',
      url: '/v1/embeddings',
      body: { model: 'text-embedding-3-small', input: i % 3 === 0 ? [`first ${i}`, `second ${i}`] : `text number ${i}`, ...(i === 5 ? { dimensions: 256 } : {}) },
    }));
    const done = await waitFor((await submit(lines, '/v1/embeddings')).id);
    expect(done).toMatchObject({ status: 'completed', endpoint: '/v1/embeddings', model: 'text-embedding-3-small', request_counts: { total: 12, completed: 12, failed: 0 } });
    const out = await fileLines(done.output_file_id);
    const tokens = lines.reduce((n, l) => n + countEmbeddingInputTokens('text-embedding-3-small', l.body.input), 0);
    expect(done.usage).toMatchObject({ input_tokens: tokens, output_tokens: 0, total_tokens: tokens });
    const five = out.find((o) => o.custom_id === 'emb-5').response.body;
    expect(five.data[0].embedding).toHaveLength(256);
    const zero = out.find((o) => o.custom_id === 'emb-0').response.body;
    expect(zero).toMatchObject({ object: 'list', model: 'text-embedding-3-small' });
    expect(zero.data).toHaveLength(2);
    const realtime = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'text number 1' });
    expect(out.find((o) => o.custom_id === 'emb-1').response.body.data[0].embedding).toEqual(realtime.data[0].embedding);

    const bad = await waitFor((await submit([{ ...lines[1], body: { model: 'text-embedding-ada-002', input: 'x', dimensions: 8 } }], '/v1/embeddings')).id);
    expect(bad.errors!.data).toEqual([expect.objectContaining({ line: 1, code: 'invalid_value', param: 'body.dimensions' })]);
  });

  it('uploads a 50,000-line file in well under a second', async () => {
    const pad = 'x'.repeat(110);
    const text = Array.from({ length: 50_000 }, (_, i) => JSON.stringify(chatLine(`u-${i}`, `Ticket ${i}: ${pad}`))).join('\n') + '\n';
    const t0 = performance.now();
    const file = await upload(text);
    const ms = performance.now() - t0;
    console.log(`upload of 50,000 lines (${(text.length / 1e6).toFixed(1)} MB): ${ms.toFixed(0)} ms`);
    expect(file.bytes).toBe(Buffer.byteLength(text));
    expect(text.length).toBeGreaterThan(9_000_000);
    expect(ms).toBeLessThan(1000);
  });

  it('runs 120,000 lines in 3 batches within seconds without blocking the event loop for long', async () => {
    const texts = [0, 1, 2].map(
      (k) => Array.from({ length: 40_000 }, (_, i) => JSON.stringify(chatLine(`big${k}-${i}`, `Ticket ${k}-${i}: where is my parcel?`))).join('\n') + '\n',
    );
    const t0 = performance.now();
    const files = await Promise.all(texts.map((t) => upload(t)));
    const uploaded = performance.now();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const ids = await Promise.all(
      files.map(async (f) => (await client.batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id),
    );
    const done = await Promise.all(ids.map((id) => waitFor(id, undefined, 20_000)));
    const finished = performance.now();
    delay.disable();
    console.log(
      `120,000 lines: upload ${(uploaded - t0).toFixed(0)} ms, batches ${(finished - uploaded).toFixed(0)} ms, longest event-loop delay ${(delay.max / 1e6).toFixed(0)} ms`,
    );
    for (const b of done) expect(b).toMatchObject({ status: 'completed', request_counts: { total: 40_000, completed: 40_000, failed: 0 } });
    const out = await fileLines(done[0].output_file_id);
    expect(new Set(out.map((o) => o.custom_id)).size).toBe(40_000);
    expect(emu.stats()).toMatchObject({ batchLinesServed: 120_000, uniqueIds: 120_000, duplicateIds: 0 });
    expect(delay.max / 1e6).toBeLessThan(750);
  });
});
