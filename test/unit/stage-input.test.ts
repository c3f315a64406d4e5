// Staging on staging threads (prepare-pool.ts) stores exactly what single-threaded staging
// stored: the same rows, token counts, routes, rejects (and their order in rejects.jsonl)
// and result, whatever the threads and batch sizes; a thread's failure fails staging clearly.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageInput } from '../../src/input/stage-input.ts';
import { preparedBatches, runningStageThreads } from '../../src/input/prepare-pool.ts';
import { prepareLine, type LineContext } from '../../src/input/prepare-line.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { countRequestPromptTokens } from '../../src/llm/tokens.ts';
import { DEFAULTS } from '../../src/client.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';
import { mixedInput, referenceStage, TEXTS } from '../support/reference-stage.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stage-input-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = (inputPath: string, extra: Partial<RunConfig> = {}): RunConfig => ({ runId: 'r', inputPath, mode: 'hybrid', urgentIf: 'feature=reply,custom_id^=t-1', ...DEFAULTS, ...extra });

/** Every stored column but the write time, in seq order, and every reject. */
function dump(storePath: string): { items: unknown[]; rejects: unknown[] } {
  const db = new DatabaseSync(storePath);
  try {
    const items = db.prepare('SELECT * FROM items ORDER BY seq').all().map(({ updated_at: _, ...row }) => row);
    return { items, rejects: db.prepare('SELECT * FROM rejects ORDER BY line').all() };
  } finally {
    db.close();
  }
}

async function stageBoth(file: string, cfg: RunConfig, threads: Parameters<typeof stageInput>[3]) {
  const ref = new SqliteItemStore(join(dir, 'ref', 'items.sqlite'));
  const expected = await referenceStage(ref, cfg, join(dir, 'ref'));
  await ref.close();
  const store = new SqliteItemStore(join(dir, 'new', 'items.sqlite'));
  const got = await stageInput({ store, pricingFor: async () => loadDefaultPricing(), runDir: () => join(dir, 'new') }, cfg, () => {}, threads);
  await store.close();
  return { expected, got };
}

describe('staging on staging threads', () => {
  // This thread alone; one staging thread and this one; threads alone; several threads in small batches.
  for (const threads of [{ threads: 0 }, { threads: 1 }, { threads: 1, help: false }, { threads: 3, batchLines: 37, depth: 2 }]) {
    it(`stores the same rows, tokens, routes and rejects as single-threaded staging (${JSON.stringify(threads)})`, async () => {
      const file = join(dir, 'input.jsonl');
      writeFileSync(file, mixedInput());
      const { expected, got } = await stageBoth(file, config(file), threads);
      expect(got).toMatchObject(expected);
      expect(got.rejected).toBeGreaterThan(100);
      expect(readFileSync(join(dir, 'new', 'rejects.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'ref', 'rejects.jsonl'), 'utf8'));
      const want = dump(join(dir, 'ref', 'items.sqlite'));
      expect(want.items.length).toBe(expected.accepted);
      expect(dump(join(dir, 'new', 'items.sqlite'))).toEqual(want);
    });
  }

  it('stages a prompts file (.txt) the same way, and a re-staging changes nothing', async () => {
    const file = join(dir, 'prompts.txt');
    writeFileSync(file, TEXTS.concat('', '  ', 'last line without newline').join('\n'));
    const cfg = config(file, { model: 'gpt-4o-mini', system: 'Be brief.', maxTokens: 64, mode: 'batch' });
    const { expected, got } = await stageBoth(file, cfg, { threads: 2, batchLines: 2 });
    expect(got).toMatchObject({ ...expected, accepted: 7, rejected: 2 });
    const want = dump(join(dir, 'ref', 'items.sqlite'));
    expect(dump(join(dir, 'new', 'items.sqlite'))).toEqual(want);
    const store = new SqliteItemStore(join(dir, 'new', 'items.sqlite'));
    expect(await stageInput({ store, pricingFor: async () => loadDefaultPricing(), runDir: () => join(dir, 'new') }, cfg)).toEqual(got);
    await store.close();
    expect(dump(join(dir, 'new', 'items.sqlite'))).toEqual(want);
  });
});

describe('preparedBatches', () => {
  const ctx: LineContext = { format: 'batch', json: true, defaults: {}, mode: 'realtime', rule: [] };
  async function* numbered(texts: string[]) {
    for (let i = 0; i < texts.length; i++) yield { lineNumber: i + 1, text: texts[i]! };
  }

  for (const help of [true, false]) {
    it(`gives every line back once, in order, prepared as on this thread (help: ${help})`, async () => {
      const texts = Array.from({ length: 250 }, (_, i) => (i % 9 === 0 ? 'nope' : JSON.stringify({ custom_id: `c${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: TEXTS[i % TEXTS.length] }] } })));
      const got = [];
      for await (const batch of preparedBatches(numbered(texts), ctx, { threads: 2, batchLines: 16, depth: 3, help })) got.push(...batch);
      expect(got).toEqual(texts.map((t, i) => prepareLine(ctx, t, i + 1)));
    });
  }

  it('surfaces a crashed thread as a clear error', async () => {
    const entry = new URL('../support/crashing-stage-thread.ts', import.meta.url);
    const run = async (): Promise<void> => {
      for await (const _ of preparedBatches(numbered(['exit']), ctx, { threads: 1, entry, help: false })) void _;
    };
    await expect(run()).rejects.toThrow('the staging thread exited unexpectedly (exit code 3)');
    const throwing = async (): Promise<void> => {
      for await (const _ of preparedBatches(numbered(['throw']), ctx, { threads: 1, entry, help: false })) void _;
    };
    await expect(throwing()).rejects.toThrow('the staging thread failed: boom');
    expect(runningStageThreads()).toBe(0);
  });

  it("fails with the line's own error when preparing a line throws on the thread", async () => {
    const entry = new URL('../support/crashing-stage-thread.ts', import.meta.url);
    const run = async (): Promise<void> => {
      for await (const _ of preparedBatches(numbered(['reply-error']), ctx, { threads: 1, entry, help: false })) void _;
    };
    await expect(run()).rejects.toMatchObject({ name: 'RangeError', message: 'line 1: cannot prepare this line' });
    expect(runningStageThreads()).toBe(0);
  });

  it('fails with the reading error when the source fails, and leaves no thread behind', async () => {
    async function* failing() {
      for (let i = 1; i <= 1200; i++) yield { lineNumber: i, text: '{}' };
      throw new Error('EIO: the disk went away');
    }
    const run = async (): Promise<void> => {
      for await (const _ of preparedBatches(failing(), ctx, { threads: 1, batchLines: 100 })) void _;
    };
    await expect(run()).rejects.toThrow('EIO: the disk went away');
    expect(runningStageThreads()).toBe(0);
  });

  it('stops its threads and source when the consumer stops early', async () => {
    let closed = false;
    async function* source() {
      try {
        for (let i = 1; ; i++) yield { lineNumber: i, text: '{}' };
      } finally {
        closed = true;
      }
    }
    for await (const _ of preparedBatches(source(), ctx, { threads: 1, batchLines: 10 })) break;
    expect(closed).toBe(true);
    expect(runningStageThreads()).toBe(0);
  });
});

describe('prepareLine', () => {
  const ctx: LineContext = { format: 'batch', json: true, defaults: {}, mode: 'hybrid', rule: [{ field: 'feature', equals: 'reply' }] };

  it('turns a valid line into the item staging stores, its body serialized', () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'café 🚀' }], max_completion_tokens: 30 };
    const text = JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/chat/completions', body, metadata: { feature: 'reply', priority: 'low' } });
    expect(prepareLine(ctx, text, 7)).toEqual({
      item: { customId: 'x', line: 7, url: '/v1/chat/completions', bodyJson: JSON.stringify(body), model: 'gpt-4o-mini', feature: 'reply', priority: 'low', route: 'realtime', promptTokens: countRequestPromptTokens('/v1/chat/completions', body), maxOutputTokens: 30 },
    });
  });

  it('turns an invalid line into its reject record', () => {
    expect(prepareLine(ctx, JSON.stringify({ custom_id: 'y', method: 'POST', url: '/v1/nope', body: { model: 'm' } }), 3)).toEqual({
      reject: { line: 3, custom_id: 'y', code: 'invalid_url', message: 'url "/v1/nope" is not supported; use one of /v1/chat/completions, /v1/embeddings' },
    });
    expect(prepareLine(ctx, '', 4)).toEqual({ reject: { line: 4, custom_id: null, code: 'empty_line', message: 'the line is empty' } });
  });
});
