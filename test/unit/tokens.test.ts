// Exact prompt tokens: special-token text in a user's prompt ("<|endoftext|>") is plain text
// to the API, so it is counted as plain text, and a line holding it stages like any other.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countChatPromptTokens, countTextTokens } from '../../src/llm/tokens.ts';
import { stageInput } from '../../src/input/stage-input.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { DEFAULTS } from '../../src/client.ts';

describe('token counts', () => {
  it('count special-token text as the plain text it is, in both encodings', () => {
    for (const model of ['gpt-4o-mini', 'gpt-4']) {
      const special = countTextTokens(model, '<|endoftext|>');
      // "<|" "endo" … spelled out: several ordinary tokens, never the one special token.
      expect(special).toBeGreaterThan(1);
      expect(countTextTokens(model, 'a <|endoftext|> b')).toBe(countTextTokens(model, 'a <|') + countTextTokens(model, 'endoftext|> b'));
    }
    expect(countChatPromptTokens('gpt-4o-mini', [{ role: 'user', content: 'stop at <|endoftext|> please' }])).toBeGreaterThan(7);
  });

  it('a prompt holding "<|endoftext|>" is staged, not a failure of the whole file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokens-test-'));
    try {
      const file = join(dir, 'in.jsonl');
      const line = (id: string, text: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] } });
      writeFileSync(file, `${line('a', 'plain')}\n${line('b', 'the doc ends here <|endoftext|> and goes on')}\n`);
      const store = new SqliteItemStore(join(dir, 'items.sqlite'));
      try {
        const r = await stageInput({ store, pricingFor: async () => loadDefaultPricing(), runDir: () => dir }, { runId: 'r', inputPath: file, mode: 'realtime', ...DEFAULTS });
        expect(r).toMatchObject({ accepted: 2, rejected: 0 });
        const [b] = await store.pendingItems('r', { seqStart: 1, seqEnd: 2 });
        expect(b?.customId).toBe('b');
        expect(b?.promptTokens).toBe(countChatPromptTokens('gpt-4o-mini', [{ role: 'user', content: 'the doc ends here <|endoftext|> and goes on' }]));
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
