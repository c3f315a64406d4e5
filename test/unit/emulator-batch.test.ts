// The emulator's Batch API pieces that need no server: upload checks, line validation,
// output lines, the seeded order and draws, metadata, pages, options and CLI flags.
import { describe, expect, it } from 'vitest';
import { BatchLineValidator, checkBatchUpload, firstLineModel } from '../../src/emulator/batch-input.ts';
import { expiredLine, lineFails, outputLine, serverErrorLine, shuffledOrder } from '../../src/emulator/batch-lines.ts';
import { checkMetadata } from '../../src/emulator/batches.ts';
import { buildChatCompletion, countWordsTokens } from '../../src/emulator/chat.ts';
import { DEFAULT_PROMPT_CACHE, PromptCacheModel } from '../../src/emulator/prompt-cache.ts';
import { createEndpoints } from '../../src/emulator/inference.ts';
import { pageOf, pageQuery } from '../../src/emulator/list-page.ts';
import { resolveOptions } from '../../src/emulator/options.ts';
import { emulatorOptionsFromCli } from '../../src/cli/emulator.ts';
import { countTextTokens } from '../../src/llm/tokens.ts';

const endpoints = createEndpoints(new PromptCacheModel(() => DEFAULT_PROMPT_CACHE, Math.random));
const line = (o: unknown) => JSON.stringify(o);
const chat = (id: string, body: Record<string, unknown> = {}) =>
  line({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: id }], ...body } });

describe('checkBatchUpload', () => {
  it('accepts JSONL whose first line is an object, whatever the later lines hold', () => {
    expect(checkBatchUpload('a.jsonl', Buffer.from(`${chat('a')}\nnot json\n`))).toBeUndefined();
    expect(checkBatchUpload('A.JSONL', Buffer.from(`\uFEFF${chat('a')}\r\n`))).toBeUndefined();
  });

  it.each([
    ['empty', 'a.jsonl', Buffer.alloc(0), /empty/],
    ['not .jsonl', 'a.csv', Buffer.from(chat('a')), /\.jsonl/],
    ['not UTF-8', 'a.jsonl', Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), /UTF-8/],
    ['first line not JSON', 'a.jsonl', Buffer.from('id,body\n'), /first line/],
    ['first line an array', 'a.jsonl', Buffer.from('[{}]\n'), /first line/],
  ])('refuses a file that is %s', (_, name, data, message) => {
    const e = checkBatchUpload(name, data)!;
    expect(e.status).toBe(400);
    expect(e.body.error).toMatchObject({ type: 'invalid_request_error', param: 'file' });
    expect(e.body.error.message).toMatch(message);
  });

  it('reads the first line model', () => {
    expect(firstLineModel(Buffer.from(`${chat('a')}\n`))).toBe('gpt-4o-mini');
    expect(firstLineModel(Buffer.from('{"custom_id":"x"}\n'))).toBeUndefined();
  });
});

describe('BatchLineValidator', () => {
  it('validates lines in order, with the realtime validators for bodies', () => {
    const v = new BatchLineValidator('/v1/chat/completions', endpoints['/v1/chat/completions']);
    const ok = v.check(chat('a'), 1);
    expect(ok).toMatchObject({ line: 1, customId: 'a', prepared: { ok: true, model: 'gpt-4o-mini' } });
    expect(v.model).toBe('gpt-4o-mini');
    const code = (text: string, n: number) => {
      const r = v.check(text, n);
      return 'code' in r ? [r.code, r.param, r.line] : ['ok'];
    };
    expect(code('{', 2)).toEqual(['invalid_json_line', null, 2]);
    expect(code('"text"', 3)).toEqual(['invalid_json_line', null, 3]);
    expect(code(line({ custom_id: 'b', method: 'POST', body: {} }), 4)).toEqual(['missing_required_parameter', 'url', 4]);
    expect(code(line({ custom_id: 'c', method: 'GET', url: '/v1/chat/completions', body: {} }), 5)).toEqual(['invalid_value', 'method', 5]);
    expect(code(chat('a'), 6)).toEqual(['duplicate_custom_id', 'custom_id', 6]);
    expect(code(chat('d', { stream: true }), 7)).toEqual(['streaming_unsupported', 'body.stream', 7]);
    expect(code(chat('e', { model: 'gpt-4.1' }), 8)).toEqual(['mismatched_model', 'body.model', 8]);
    expect(code(chat('f', { max_tokens: -1 }), 9)).toEqual(['invalid_value', 'body.max_tokens', 9]);
    expect(code(chat('g', { messages: 'hi' }), 10)).toEqual(['invalid_type', 'body.messages', 10]);
    expect(code(line({ custom_id: 'h', method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x' }] } }), 11)).toEqual([
      'missing_required_parameter',
      'body.model',
      11,
    ]);
    expect(code(chat('i'), 12)).toEqual(['ok']);
  });

  it('validates embeddings lines against the embeddings endpoint', () => {
    const v = new BatchLineValidator('/v1/embeddings', endpoints['/v1/embeddings']);
    const emb = (id: string, body: Record<string, unknown>) => line({ custom_id: id, method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', ...body } });
    expect(v.check(emb('a', { input: 'hello' }), 1)).toMatchObject({ prepared: { ok: true } });
    expect(v.check(emb('b', {}), 2)).toMatchObject({ code: 'missing_required_parameter', param: 'body.input' });
    expect(v.check(chat('c'), 3)).toMatchObject({ code: 'invalid_url', param: 'url' });
  });
});

describe('output lines', () => {
  it('are one JSON object per line in OpenAI shapes', () => {
    const ok = JSON.parse(outputLine('a"b', '{"x":1}'));
    expect(ok).toMatchObject({ custom_id: 'a"b', response: { status_code: 200, body: { x: 1 } }, error: null });
    expect(ok.id).toMatch(/^batch_req_/);
    expect(ok.response.request_id).toMatch(/^req_/);
    expect(JSON.parse(serverErrorLine('a')).response).toMatchObject({ status_code: 500, body: { error: { type: 'server_error', param: null, code: null } } });
    expect(JSON.parse(expiredLine('a'))).toMatchObject({ response: null, error: { code: 'batch_expired' } });
    for (const l of [outputLine('a', '{}'), serverErrorLine('a'), expiredLine('a')]) expect(l.indexOf('\n')).toBe(l.length - 1);
  });

  it('come in a seeded shuffled order, and lines fail by a fresh draw per batch', () => {
    const a = shuffledOrder(1000, 'k1');
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(1000).keys()]);
    expect([...a]).toEqual([...shuffledOrder(1000, 'k1')]);
    expect([...a]).not.toEqual([...shuffledOrder(1000, 'k2')]);
    expect([...a]).not.toEqual([...Array(1000).keys()]);

    const ids = Array.from({ length: 2000 }, (_, i) => `id-${i}`);
    const failing = (batch: string) => ids.filter((id) => lineFails(0.1, 1, batch, id));
    expect(failing('batch_1')).toEqual(failing('batch_1'));
    expect(failing('batch_1')).not.toEqual(failing('batch_2'));
    expect(failing('batch_1').length).toBeGreaterThan(150);
    expect(failing('batch_1').length).toBeLessThan(250);
    expect(ids.some((id) => lineFails(0, 1, 'b', id))).toBe(false);
    expect(ids.every((id) => lineFails(1, 1, 'b', id))).toBe(true);
  });
});

describe('checkMetadata', () => {
  it('allows 16 keys of ≤64 characters with string values of ≤512', () => {
    expect(checkMetadata(undefined)).toBeUndefined();
    expect(checkMetadata(null)).toBeUndefined();
    expect(checkMetadata(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`.padEnd(64, 'x'), 'v'.repeat(512)])))).toBeUndefined();
    for (const bad of [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])), { ['k'.repeat(65)]: 'v' }, { k: 'v'.repeat(513) }, { k: 1 }, 'x']) {
      expect(checkMetadata(bad)?.body.error.param).toBe('metadata');
    }
  });
});

describe('list pages', () => {
  const items = Array.from({ length: 5 }, (_, i) => ({ id: `b${i}` }));
  it('pages after a cursor with first_id, last_id and has_more', () => {
    const p1 = pageOf(items, 2);
    expect(p1).toEqual({ ok: true, page: { object: 'list', data: [{ id: 'b0' }, { id: 'b1' }], first_id: 'b0', last_id: 'b1', has_more: true } });
    const p3 = pageOf(items, 2, 'b3');
    expect(p3.ok && p3.page).toMatchObject({ data: [{ id: 'b4' }], has_more: false });
    expect(pageOf([], 2).ok && pageOf([], 2)).toMatchObject({ page: { data: [], first_id: null, last_id: null, has_more: false } });
    expect(pageOf(items, 2, 'nope').ok).toBe(false);
  });

  it('reads limit and after from the query', () => {
    expect(pageQuery(new URLSearchParams(''), 20, 100)).toEqual({ ok: true, limit: 20, after: undefined });
    expect(pageQuery(new URLSearchParams('limit=7&after=b1'), 20, 100)).toEqual({ ok: true, limit: 7, after: 'b1' });
    for (const bad of ['limit=0', 'limit=101', 'limit=x', 'limit=2.5']) expect(pageQuery(new URLSearchParams(bad), 20, 100).ok).toBe(false);
  });
});

describe('countWordsTokens', () => {
  it('equals the full tokenizer count on generated answers, for both encodings', () => {
    for (const model of ['gpt-4o-mini', 'gpt-4', 'o3']) {
      for (let i = 0; i < 150; i++) {
        const content = buildChatCompletion({ model, messages: [{ role: 'user', content: `question ${i}` }], max_tokens: i % 2 ? 10 + i : undefined }).choices[0].message.content;
        const words = content.split(' ').filter(Boolean);
        expect(countWordsTokens(model, words)).toBe(countTextTokens(model, content));
      }
      const odd = ['Hello,', 'world!', "it's", 'fine.'];
      expect(countWordsTokens(model, odd)).toBe(countTextTokens(model, odd.join(' ')));
    }
  });
});

describe('batch options', () => {
  it('defaults, null for "never expire", and range checks', () => {
    const d = resolveOptions();
    expect(d).toMatchObject({ batchValidatingMs: 1000, batchInProgressMs: 5000, batchFinalizingMs: 500, batchLineErrorRate: 0 });
    expect(d.batchExpireAfter).toBeUndefined();
    expect(d.batchEnqueuedTokenLimit).toBeUndefined();
    expect(resolveOptions({ batchExpireAfter: null }).batchExpireAfter).toBeUndefined();
    expect(resolveOptions({ batchExpireAfter: 0.5 }).batchExpireAfter).toBe(0.5);
    expect(() => resolveOptions({ batchLineErrorRate: 1.5 })).toThrow(/batchLineErrorRate/);
    expect(() => resolveOptions({ batchEnqueuedTokenLimit: -1 })).toThrow(/batchEnqueuedTokenLimit/);
  });

  it('come from the CLI flags', () => {
    const raw = {
      port: '0',
      host: '127.0.0.1',
      latencyMs: '0',
      jitterMs: '0',
      errorRate: '0',
      outage: [],
      malformedRate: '0',
      hangRate: '0',
      quotaExhausted: false,
      seed: '1',
      batchValidatingMs: '10',
      batchInProgressMs: '20',
      batchFinalizingMs: '30',
      batchLineErrorRate: '0.05',
    };
    expect(emulatorOptionsFromCli(raw)).toMatchObject({
      batchValidatingMs: 10,
      batchInProgressMs: 20,
      batchFinalizingMs: 30,
      batchLineErrorRate: 0.05,
      batchExpireAfter: undefined,
      batchEnqueuedTokenLimit: undefined,
    });
    expect(emulatorOptionsFromCli({ ...raw, batchExpireAfter: '0.5', batchEnqueuedTokenLimit: '90000' })).toMatchObject({
      batchExpireAfter: 0.5,
      batchEnqueuedTokenLimit: 90000,
    });
    expect(() => emulatorOptionsFromCli({ ...raw, batchExpireAfter: '2' })).toThrow(/--batch-expire-after/);
    expect(() => emulatorOptionsFromCli({ ...raw, batchInProgressMs: 'soon' })).toThrow(/--batch-in-progress-ms/);
  });
});
