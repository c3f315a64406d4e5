// The emulator through the real openai SDK over real HTTP.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildChatCompletion } from '../../src/emulator/chat.ts';
import type { OpenAIErrorBody } from '../../src/emulator/errors.ts';
import { DEFAULT_OPTIONS, type EmulatorOptions } from '../../src/emulator/options.ts';
import type { EmulatorStats } from '../../src/emulator/stats.ts';
import { parseGoDuration } from '../../src/domain/go-duration.ts';
import { MODEL_IDS } from '../../src/emulator/models.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { countChatPromptTokens, countEmbeddingInputTokens, countTextTokens } from '../../src/llm/tokens.ts';

let emu: RunningEmulator;
let client: OpenAI;

beforeAll(async () => {
  emu = await startEmulator();
  client = new OpenAI({ apiKey: 'test', baseURL: emu.baseUrl, maxRetries: 0 });
});

afterAll(async () => {
  await emu.close();
});

afterEach(() => {
  const { host: _h, port: _p, ...defaults } = DEFAULT_OPTIONS;
  emu.configure({ ...defaults, rpm: 0, tpm: 0 });
  emu.resetStats();
});

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

const user = (content: string) => [{ role: 'user' as const, content }];

describe('chat completions', () => {
  it('answers with the full OpenAI shape, usage and headers', async () => {
    const messages = [{ role: 'system' as const, content: 'You are terse.' }, ...user('Summarise ticket 42.')];
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('gpt-4o-mini');
    expect(Math.abs(data.created - Date.now() / 1000)).toBeLessThan(5);
    expect(data.service_tier).toBe('default');
    expect(data.system_fingerprint).toMatch(/^fp_/);
    expect(data.choices).toHaveLength(1);
    const choice = data.choices[0];
    expect(choice).toMatchObject({ index: 0, logprobs: null, finish_reason: 'stop' });
    expect(choice.message).toMatchObject({ role: 'assistant', refusal: null, annotations: [] });
    expect(choice.message.content!.length).toBeGreaterThan(20);
    const u = data.usage!;
    expect(u.prompt_tokens).toBe(countChatPromptTokens('gpt-4o-mini', messages));
    expect(u.completion_tokens).toBe(countTextTokens('gpt-4o-mini', choice.message.content!));
    expect(u.completion_tokens).toBeGreaterThanOrEqual(16);
    expect(u.completion_tokens).toBeLessThanOrEqual(120);
    expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
    expect(u.prompt_tokens_details).toEqual({ cached_tokens: 0, audio_tokens: 0 });
    expect(u.completion_tokens_details).toEqual({
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    });
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]+$/);
    expect(Number(response.headers.get('openai-processing-ms'))).toBeGreaterThanOrEqual(0);
  });

  it('is deterministic: same request same content (as the pure builder predicts), different request different content', async () => {
    const req = { model: 'gpt-4.1-mini', messages: user('Classify: my parcel never arrived'), max_tokens: 200 };
    const a = await client.chat.completions.create(req);
    const b = await client.chat.completions.create(req);
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
    expect(a.id).not.toBe(b.id);
    expect(a.choices[0].message.content).toBe(buildChatCompletion(req).choices[0].message.content);
    expect(a.usage).toEqual(buildChatCompletion(req).usage);

    const contents = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await client.chat.completions.create({ ...req, messages: user(`Classify: my parcel never arrived (#${i})`) });
      contents.add(r.choices[0].message.content!);
    }
    expect(contents.size).toBe(8);
    const otherModel = await client.chat.completions.create({ ...req, model: 'gpt-4o' });
    expect(otherModel.choices[0].message.content).not.toBe(a.choices[0].message.content);
  });

  it('keeps completion_tokens exact and within max_tokens / max_completion_tokens, with finish_reason length when cut', async () => {
    let cut = 0;
    let whole = 0;
    for (let i = 0; i < 30; i++) {
      const bound = 10 + i * 3;
      const params =
        i % 2 === 0
          ? { model: 'gpt-4o-mini', messages: user(`Question ${i}`), max_tokens: bound }
          : { model: 'gpt-4o-mini', messages: user(`Question ${i}`), max_completion_tokens: bound };
      const r = await client.chat.completions.create(params);
      const content = r.choices[0].message.content!;
      expect(r.usage!.completion_tokens).toBe(countTextTokens('gpt-4o-mini', content));
      expect(r.usage!.completion_tokens).toBeLessThanOrEqual(bound);
      if (r.choices[0].finish_reason === 'length') {
        cut++;
        // Cut means the answer was trimmed close to the bound, not arbitrarily short.
        expect(r.usage!.completion_tokens).toBeGreaterThanOrEqual(bound - 4);
      } else {
        whole++;
        expect(r.choices[0].finish_reason).toBe('stop');
        expect(content).toMatch(/\.$/);
      }
    }
    expect(cut).toBeGreaterThan(0);
    expect(whole).toBeGreaterThan(0);

    const tiny = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('Tell me everything'), max_tokens: 5 });
    expect(tiny.choices[0].finish_reason).toBe('length');
    expect(tiny.usage!.completion_tokens).toBe(countTextTokens('gpt-4o-mini', tiny.choices[0].message.content!));
    expect(tiny.usage!.completion_tokens).toBeLessThanOrEqual(5);
    expect(tiny.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('reports cached tokens when a long prompt prefix repeats', async () => {
    const longSystem = `Reference manual ${Date.now()}. ` + 'The warehouse ships orders within two business days of payment. '.repeat(120);
    const first = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: longSystem }, ...user('Where is order 1?')],
    });
    const pt1 = first.usage!.prompt_tokens;
    expect(pt1).toBeGreaterThanOrEqual(1024);
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);

    const second = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: longSystem }, ...user('And where is order 2, please?')],
    });
    // The longest prefix the two share (the system message, then the user message's framing and
    // role), in 128-token steps: the differing question is not cached.
    const shared = countChatPromptTokens('gpt-4o-mini', [{ role: 'system', content: longSystem }]) - 3 + 1 + countTextTokens('gpt-4o-mini', 'user') + 1;
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBe(Math.floor(shared / 128) * 128);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(1024);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeLessThan(second.usage!.prompt_tokens);

    // Short prompts are never cached, even when repeated.
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('short and repeated') });
    const short = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('short and repeated') });
    expect(short.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
  });

  it('counts reasoning tokens inside completion_tokens for reasoning models only', async () => {
    const r = await client.chat.completions.create({ model: 'o4-mini', messages: user('Plan a migration'), max_completion_tokens: 2000 });
    const u = r.usage!;
    const reasoning = u.completion_tokens_details!.reasoning_tokens!;
    expect(reasoning).toBeGreaterThan(0);
    expect(u.completion_tokens).toBe(reasoning + countTextTokens('o4-mini', r.choices[0].message.content!));
    expect(r.choices[0].finish_reason).toBe('stop');

    const starved = await client.chat.completions.create({ model: 'o4-mini', messages: user('Plan a migration'), max_completion_tokens: 4 });
    expect(starved.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: '' } });
    expect(starved.usage!.completion_tokens).toBe(4);
    expect(starved.usage!.completion_tokens_details!.reasoning_tokens).toBe(4);

    for (let bound = 20; bound <= 160; bound += 20) {
      const b = await client.chat.completions.create({ model: 'gpt-5-mini', messages: user(`Plan step ${bound}`), max_completion_tokens: bound });
      const bu = b.usage!;
      expect(bu.completion_tokens).toBeLessThanOrEqual(bound);
      expect(bu.completion_tokens).toBe(bu.completion_tokens_details!.reasoning_tokens! + countTextTokens('gpt-5-mini', b.choices[0].message.content!));
    }

    const plain = await client.chat.completions.create({ model: 'gpt-4.1', messages: user('Plan a migration') });
    expect(plain.usage!.completion_tokens_details!.reasoning_tokens).toBe(0);
  });

  it('rejects invalid requests with 400 and the parameter named', async () => {
    const missing = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini' } as never));
    expect(missing).toBeInstanceOf(OpenAI.BadRequestError);
    expect(missing.status).toBe(400);
    expect(missing.param).toBe('messages');
    expect(missing.type).toBe('invalid_request_error');
    expect(missing.code).toBe('missing_required_parameter');

    const empty = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }));
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
    expect(empty.param).toBe('messages');

    const noModel = await rejection(client.chat.completions.create({ messages: user('x') } as never));
    expect(noModel.param).toBe('model');

    const streaming = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x'), stream: true }));
    expect(streaming).toBeInstanceOf(OpenAI.BadRequestError);
    expect(streaming.param).toBe('stream');

    const badMax = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x'), max_tokens: -3 }));
    expect(badMax.param).toBe('max_tokens');

    expect(emu.stats()).toMatchObject({ badRequests: 5, served: 0 });
  });

  it('answers 400 to a body that is not JSON, and 404 with an error body to unknown paths', async () => {
    const bad = await fetch(`${emu.baseUrl}/chat/completions`, { method: 'POST', body: '{"model":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as OpenAIErrorBody).error.type).toBe('invalid_request_error');

    const nf = await fetch(`${emu.baseUrl}/nothing/here`);
    expect(nf.status).toBe(404);
    const body = (await nf.json()) as OpenAIErrorBody;
    expect(body).toEqual({ error: { message: expect.stringContaining('/v1/nothing/here'), type: 'invalid_request_error', param: null, code: null } });
    expect(nf.headers.get('x-ratelimit-limit-requests')).toBe('100000000');
  });
});

describe('embeddings and models', () => {
  it('returns deterministic unit vectors as float, and as base64 that the SDK decodes', async () => {
    const input = ['the first text', 'a second, longer text about refunds'];
    const asFloat = await client.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float', dimensions: 256 });
    expect(asFloat.object).toBe('list');
    expect(asFloat.model).toBe('text-embedding-3-small');
    expect(asFloat.data.map((d) => d.index)).toEqual([0, 1]);
    const tokens = countEmbeddingInputTokens('text-embedding-3-small', input);
    expect(asFloat.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    for (const d of asFloat.data) {
      expect(d.object).toBe('embedding');
      expect(d.embedding).toHaveLength(256);
      expect(Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0))).toBeCloseTo(1, 5);
    }
    expect(asFloat.data[0].embedding).not.toEqual(asFloat.data[1].embedding);

    // Default: the SDK asks for base64 and decodes Float32 LE itself.
    const decoded = await client.embeddings.create({ model: 'text-embedding-3-small', input, dimensions: 256 });
    expect(decoded.data[0].embedding).toEqual(asFloat.data[0].embedding);
    expect(decoded.data[1].embedding).toEqual(asFloat.data[1].embedding);

    const raw = await client.embeddings.create({ model: 'text-embedding-3-small', input: input[0], encoding_format: 'base64', dimensions: 256 });
    const b64 = raw.data[0].embedding as unknown as string;
    expect(typeof b64).toBe('string');
    const buf = Buffer.from(b64, 'base64');
    const fromB64 = Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4));
    expect(fromB64).toEqual(asFloat.data[0].embedding);
  });

  it('uses each model’s native dimensions by default', async () => {
    const small = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    const large = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'hello' });
    expect(small.data[0].embedding).toHaveLength(1536);
    expect(large.data[0].embedding).toHaveLength(3072);
    const tooMany = await rejection(client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', dimensions: 4096 }));
    expect(tooMany).toBeInstanceOf(OpenAI.BadRequestError);
    expect(tooMany.param).toBe('dimensions');
  });

  it('lists the models in OpenAI shape', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      expect(m.object).toBe('model');
      expect(typeof m.created).toBe('number');
      ids.push(m.id);
    }
    expect(ids).toEqual([...MODEL_IDS]);
    expect((await client.models.retrieve('gpt-5-mini')).id).toBe('gpt-5-mini');
    expect(await rejection(client.models.retrieve('gpt-nonexistent'))).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('rate limits', () => {
  it('answers 429 type requests with retry-after headers once RPM is spent, charging the rejected call a request', async () => {
    // The whole-minute bucket, so that "RPM spent" means both requests of the minute.
    emu.configure({ rpm: 2, limitWindowMs: 60_000 });
    const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('a') }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('b') });
    const err = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('c') }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.type).toBe('requests');
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.message).toMatch(/Rate limit reached for gpt-4o-mini .* on requests per min \(RPM\): Limit 2, Used 2, Requested 1\. Please try again in \d/);
    const retryMs = Number(err.headers.get('retry-after-ms'));
    // The rejected call took a request (level -1): two refill in 60 s at 2/min.
    expect(retryMs).toBeGreaterThan(59_000);
    expect(retryMs).toBeLessThanOrEqual(60_000);
    expect(err.headers.get('retry-after')).toBe(String(Math.ceil(retryMs / 1000)));
    expect(err.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(emu.stats()).toMatchObject({ served: 2, rateLimited: 1, requests: 3 });
  });

  it('answers 429 type tokens when prompt + max_tokens exceed the TPM left', async () => {
    // The whole-minute bucket: the remaining header then shows the exact charge of the first call.
    emu.configure({ tpm: 2000, limitWindowMs: 60_000 });
    const messages = user('count me');
    const prompt = countChatPromptTokens('gpt-4o-mini', messages);
    const ok = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 1500 }).withResponse();
    // Charged before serving: prompt + max_tokens, not the tokens actually produced.
    expect(ok.response.headers.get('x-ratelimit-remaining-tokens')).toBe(String(2000 - prompt - 1500));
    const err = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 1000 }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.type).toBe('tokens');
    expect(err.message).toContain('tokens per min (TPM): Limit 2000');
    expect(Number(err.headers.get('retry-after-ms'))).toBeGreaterThan(0);
    // A call that fits what is left still passes.
    const small = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 100 });
    expect(small.choices[0].finish_reason).toBeDefined();
  });

  it('sends x-ratelimit-* headers with Go durations on every answer', async () => {
    // The whole-minute bucket: remaining 59 of 60 and a reset of about 1 s after one call.
    emu.configure({ rpm: 60, tpm: 60_000, limitWindowMs: 60_000 });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hdr'), max_tokens: 100 }).withResponse();
    const h = (n: string) => response.headers.get(n)!;
    expect(h('x-ratelimit-limit-requests')).toBe('60');
    expect(h('x-ratelimit-limit-tokens')).toBe('60000');
    expect(h('x-ratelimit-remaining-requests')).toBe('59');
    const resetReq = parseGoDuration(h('x-ratelimit-reset-requests'))!;
    expect(h('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?(ms|s)$/);
    expect(resetReq).toBeGreaterThan(900);
    expect(resetReq).toBeLessThanOrEqual(1000);
    const charged = 60_000 - Number(h('x-ratelimit-remaining-tokens'));
    expect(parseGoDuration(h('x-ratelimit-reset-tokens'))).toBeGreaterThan(charged - 100); // 1 token/ms
    expect(parseGoDuration(h('x-ratelimit-reset-tokens'))).toBeLessThanOrEqual(charged + 1);

    emu.configure({ errorRate: 1 });
    const err = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hdr') }));
    expect(err.headers.get('x-ratelimit-limit-requests')).toBe('60');
    expect(parseGoDuration(err.headers.get('x-ratelimit-reset-tokens'))).toBeDefined();
  });
});

describe('rate limits enforced over a 1 s window (the default, as OpenAI does)', () => {
  it('at 600 RPM answers 10 immediate calls and rejects the 11th, with headers of the 1 s bucket', async () => {
    const e = await startEmulator({ limitWindowMs: 1000 });
    try {
      const c = new OpenAI({ apiKey: 'test', baseURL: e.baseUrl, maxRetries: 0 });
      const burst = () =>
        Promise.all(
          Array.from({ length: 11 }, (_, i) =>
            c.chat.completions
              .create({ model: 'gpt-4o-mini', messages: user(`w${i}`), max_tokens: 20 })
              .withResponse()
              .then(
                ({ response }) => ({ status: 200, headers: response.headers, err: undefined as any }),
                (err: any) => ({ status: err.status as number, headers: err.headers as Headers, err }),
              ),
          ),
        );
      // Warm up unlimited (tokenizer, 11 pooled connections, compiled paths): cold, the 11
      // calls arrive over ~100 ms, in which the bucket refills a whole request; warm, ~30 ms.
      await burst();
      e.configure({ rpm: 600 }); // fresh, full buckets: 10 requests
      e.resetStats();
      const answers = await burst();
      const ok = answers.filter((a) => a.status === 200);
      const limited = answers.filter((a) => a.status === 429);
      expect(ok).toHaveLength(10);
      expect(limited).toHaveLength(1);

      // Per-minute limit reported, remaining and reset of the 10-request bucket (one per 100 ms).
      const first = ok.map((a) => Number(a.headers.get('x-ratelimit-remaining-requests'))).sort((a, b) => b - a);
      expect(first[0]).toBe(9);
      for (const a of ok) expect(a.headers.get('x-ratelimit-limit-requests')).toBe('600');
      const afterFirst = ok.find((a) => a.headers.get('x-ratelimit-remaining-requests') === '9')!;
      const reset = parseGoDuration(afterFirst.headers.get('x-ratelimit-reset-requests')!)!;
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(100);

      const r = limited[0];
      expect(r.err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(r.err.type).toBe('requests');
      expect(r.err.message).toContain('requests per min (RPM): Limit 600');
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('600');
      expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      // The rejected call took a request too: the bucket is near -1, so about 1.1 s to full
      // and about 200 ms until one request is available.
      const resetAfter = parseGoDuration(r.headers.get('x-ratelimit-reset-requests')!)!;
      expect(resetAfter).toBeGreaterThan(900);
      expect(resetAfter).toBeLessThanOrEqual(1100);
      const retryMs = Number(r.headers.get('retry-after-ms'));
      expect(retryMs).toBeGreaterThan(0);
      expect(retryMs).toBeLessThanOrEqual(200);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(e.stats()).toMatchObject({ requests: 11, served: 10, rateLimited: 1 });

      // After the advertised wait, a call passes again.
      await new Promise((res) => setTimeout(res, retryMs + 5));
      await expect(c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('again'), max_tokens: 20 })).resolves.toBeDefined();
    } finally {
      await e.close();
    }
  });

  it('is the default, is changed over POST /_emulator/config, and is validated there', async () => {
    expect(emu.options().limitWindowMs).toBe(1000);
    const root = emu.baseUrl.replace(/\/v1$/, '');
    const cfg = await fetch(`${root}/_emulator/config`, { method: 'POST', body: JSON.stringify({ rpm: 120, limitWindowMs: 500 }) });
    expect(cfg.status).toBe(200);
    expect(((await cfg.json()) as EmulatorOptions).limitWindowMs).toBe(500);
    // 120 RPM over 500 ms: a bucket of exactly one request.
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('cfg') }).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('120');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('cfg') }))).toBeInstanceOf(OpenAI.RateLimitError);
    expect(emu.stats()).toMatchObject({ served: 1, rateLimited: 1 });

    const bad = await fetch(`${root}/_emulator/config`, { method: 'POST', body: JSON.stringify({ limitWindowMs: 120_000 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as OpenAIErrorBody).error.message).toContain('limitWindowMs');
  });
});

describe('faults', () => {
  it('quota mode answers 429 insufficient_quota with x-should-retry false, which the SDK obeys', async () => {
    emu.configure({ quotaExhausted: true });
    const retrying = new OpenAI({ apiKey: 'test', baseURL: emu.baseUrl, maxRetries: 3 });
    const err = await rejection(retrying.chat.completions.create({ model: 'gpt-4o-mini', messages: user('q') }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('insufficient_quota');
    expect(err.type).toBe('insufficient_quota');
    expect(err.message).toContain('You exceeded your current quota');
    expect(err.headers.get('x-should-retry')).toBe('false');
    expect(emu.stats()).toMatchObject({ requests: 1, quotaRejected: 1, served: 0 });
  });

  it('errorRate 1 answers 500 and 503 with OpenAI server_error bodies', async () => {
    emu.configure({ errorRate: 1, seed: 7 });
    const statuses = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const err = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user(`e${i}`) }));
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect(err.type).toBe('server_error');
      statuses.add(err.status);
    }
    expect([...statuses].sort()).toEqual([500, 503]);
    expect(emu.stats()).toMatchObject({ serverErrors: 20, served: 0 });
  });

  it('fails every call with 503 during an outage window set at runtime, and recovers after', async () => {
    emu.configure({ outages: [{ startMs: 0, durationMs: 3_600_000 }] });
    const err = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('o') }));
    expect(err.status).toBe(503);
    expect((await rejection(client.embeddings.create({ model: 'text-embedding-3-small', input: 'o' }))).status).toBe(503);
    expect(emu.stats()).toMatchObject({ outageErrors: 2, served: 0 });
    emu.configure({ outages: [] });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('o') })).resolves.toBeDefined();
  });

  it('honours outage windows relative to the emulator start', async () => {
    const e = await startEmulator({ outages: [{ startMs: 0, durationMs: 400 }] });
    try {
      const c = new OpenAI({ apiKey: 'test', baseURL: e.baseUrl, maxRetries: 0 });
      expect((await rejection(c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('w') }))).status).toBe(503);
      await new Promise((r) => setTimeout(r, 450));
      await expect(c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('w') })).resolves.toBeDefined();
    } finally {
      await e.close();
    }
  });

  it('malformed answers make the SDK throw', async () => {
    emu.configure({ malformedRate: 1 });
    const { response } = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('m') })).then((err) => {
      expect(err).toBeInstanceOf(Error);
      return { response: null };
    });
    expect(response).toBeNull();
    const raw = await fetch(`${emu.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('m') }),
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('application/json');
    const text = await raw.text();
    expect(text.startsWith('{"id":"chatcmpl-')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    expect(emu.stats()).toMatchObject({ malformed: 2, served: 0 });
  });

  it('hung calls time out in the SDK, and close() ends them', async () => {
    emu.configure({ hangRate: 1 });
    const t0 = Date.now();
    const err = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('h') }, { timeout: 300 }));
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(emu.stats()).toMatchObject({ hung: 1, served: 0 });

    const e = await startEmulator({ hangRate: 1 });
    const c = new OpenAI({ apiKey: 'test', baseURL: e.baseUrl, maxRetries: 0, timeout: 60_000 });
    const pending = rejection(c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('h') }));
    await new Promise((r) => setTimeout(r, 100));
    const closeStart = Date.now();
    await e.close();
    expect(Date.now() - closeStart).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('adds latency before answering', async () => {
    emu.configure({ latencyMs: 150 });
    const t0 = Date.now();
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('slow') });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
  });
});

describe('stats', () => {
  it('counts served calls per X-Client-Request-Id and flags duplicates', async () => {
    const call = (id: string) =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: user(`item ${id}`), max_tokens: 50 }, { headers: { 'X-Client-Request-Id': id } });
    const a1 = await call('item-a');
    const a2 = await call('item-a');
    const b = await call('item-b');
    expect(emu.stats()).toMatchObject({ served: 3, uniqueIds: 2, duplicateIds: 1, duplicateCalls: 1 });
    const a3 = await call('item-a');
    const c = await call('item-c');
    const b2 = await call('item-b');
    emu.configure({ errorRate: 1 });
    await rejection(call('item-d')); // failed calls are not served
    const s = emu.stats();
    expect(s).toMatchObject({ requests: 7, served: 6, serverErrors: 1, uniqueIds: 3, duplicateIds: 2, duplicateCalls: 3 });
    expect(s.byEndpoint).toEqual({ '/v1/chat/completions': 7 });
    const usages = [a1, a2, b, a3, c, b2].map((r) => r.usage!);
    expect(s.promptTokens).toBe(usages.reduce((n, u) => n + u.prompt_tokens, 0));
    expect(s.completionTokens).toBe(usages.reduce((n, u) => n + u.completion_tokens, 0));
  });

  it('exposes stats, reset and config over HTTP', async () => {
    const root = emu.baseUrl.replace(/\/v1$/, '');
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }, { headers: { 'X-Client-Request-Id': 'x' } });
    const stats = (await (await fetch(`${root}/_emulator/stats`)).json()) as EmulatorStats;
    expect(stats).toMatchObject({ served: 1, uniqueIds: 1 });

    const cfg = await fetch(`${root}/_emulator/config`, { method: 'POST', body: JSON.stringify({ quotaExhausted: true }) });
    expect(cfg.status).toBe(200);
    expect(((await cfg.json()) as EmulatorOptions).quotaExhausted).toBe(true);
    expect((await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }))).code).toBe('insufficient_quota');

    const bad = await fetch(`${root}/_emulator/config`, { method: 'POST', body: JSON.stringify({ errorRate: 3 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as OpenAIErrorBody).error.message).toContain('errorRate');

    expect((await fetch(`${root}/_emulator/reset`, { method: 'POST' })).status).toBe(200);
    expect(emu.stats()).toMatchObject({ requests: 0, served: 0, uniqueIds: 0, quotaRejected: 0 });
  });
});
