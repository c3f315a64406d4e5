import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalRequest } from '../../src/domain/cache-key.ts';
import { exactCacheKey } from '../../src/cache/exact-key.ts';

const body = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], temperature: 0.2, max_tokens: 50 };
const url = '/v1/chat/completions';

describe('exact cache key', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });

  it('is the same for a reordered body and for answer-neutral fields', () => {
    const reordered = { max_tokens: 50, temperature: 0.2, messages: [{ content: 'Be brief.', role: 'system' }, { content: 'Hi', role: 'user' }], model: 'gpt-4o-mini' };
    expect(exactCacheKey(url, reordered)).toBe(exactCacheKey(url, body));
    expect(exactCacheKey(url, { ...body, metadata: { feature: 'x' }, user: 'u1', prompt_cache_key: 'k', store: true })).toBe(exactCacheKey(url, body));
  });

  it('misses on anything that can change the answer', () => {
    const base = exactCacheKey(url, body);
    const changed = [
      { ...body, temperature: 0.3 },
      { ...body, seed: 7 },
      { ...body, model: 'gpt-4o' },
      { ...body, max_tokens: 51 },
      { ...body, messages: [{ role: 'system', content: 'Be very brief.' }, body.messages[1]] },
      { ...body, response_format: { type: 'json_schema', json_schema: { name: 'a', strict: true, schema: { type: 'object' } } } },
      { ...body, messages: [...body.messages].reverse() },
    ];
    for (const c of changed) expect(exactCacheKey(url, c)).not.toBe(base);
    expect(exactCacheKey('/v1/embeddings', body)).not.toBe(base);
  });

  it('starts with a version so a change of meaning never matches old entries', () => {
    expect(canonicalRequest(url, body).startsWith('v1 /v1/chat/completions {')).toBe(true);
  });
});
