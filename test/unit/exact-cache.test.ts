// The exact cache's pure rules: what each mode allows, which answers are remembered, the hit marker.
import { describe, expect, it } from 'vitest';
import { cachePolicy, hitMarker, uncacheableReason } from '../../src/domain/exact-cache.ts';

const choice = (finish: string | null, message: Record<string, unknown> = { role: 'assistant', content: 'ok', refusal: null }) => ({ index: 0, message, finish_reason: finish });
const completion = (...choices: unknown[]) => ({ id: 'chatcmpl-1', object: 'chat.completion', choices, usage: { prompt_tokens: 5, completion_tokens: 2 } });

describe('cachePolicy', () => {
  it('read-write uses and shares; read uses only; write shares only; off does nothing, not even dedupe', () => {
    expect(cachePolicy('read-write')).toEqual({ dedupe: true, useShared: true, share: true });
    expect(cachePolicy('read')).toEqual({ dedupe: true, useShared: true, share: false });
    expect(cachePolicy('write')).toEqual({ dedupe: true, useShared: false, share: true });
    expect(cachePolicy('off')).toEqual({ dedupe: false, useShared: false, share: false });
  });

  it('a run without a mode (started before the cache existed) is off', () => {
    expect(cachePolicy(undefined)).toEqual(cachePolicy('off'));
  });
});

describe('uncacheableReason', () => {
  it('remembers complete answers: stop, tool calls, several choices, embeddings', () => {
    expect(uncacheableReason(completion(choice('stop')))).toBeUndefined();
    expect(uncacheableReason(completion(choice('tool_calls', { role: 'assistant', content: null, tool_calls: [{ id: 't' }] })))).toBeUndefined();
    expect(uncacheableReason(completion(choice('stop'), { ...choice('stop'), index: 1 }))).toBeUndefined();
    expect(uncacheableReason({ object: 'list', data: [{ object: 'embedding', embedding: [0.1] }], usage: { prompt_tokens: 3 } })).toBeUndefined();
  });

  it('never remembers a truncated answer, on any choice', () => {
    expect(uncacheableReason(completion(choice('length')))).toBe('truncated');
    expect(uncacheableReason(completion(choice('stop'), { ...choice('length'), index: 1 }))).toBe('truncated');
  });

  it('never remembers a refusal or filtered content', () => {
    expect(uncacheableReason(completion(choice('stop', { role: 'assistant', content: null, refusal: "I can't help with that." })))).toBe('refusal');
    expect(uncacheableReason(completion(choice('content_filter')))).toBe('content_filter');
    // An empty refusal field is no refusal.
    expect(uncacheableReason(completion(choice('stop', { role: 'assistant', content: 'ok', refusal: '' })))).toBeUndefined();
  });

  it('never remembers what is not an answer: errors, empty or odd bodies, a choice without a finish reason', () => {
    for (const body of [undefined, null, 'text', [], {}, { error: { message: 'boom' } }, completion(), { choices: 'x' }, completion(choice(null)), completion(null), { data: [] }]) {
      expect(uncacheableReason(body), JSON.stringify(body)).toBe('not_an_answer');
    }
  });
});

describe('hitMarker', () => {
  it('names the source and the saving, rounded so JSON carries no float noise', () => {
    expect(hitMarker('run-a', 'c7', 0.1 + 0.2)).toEqual({ cache: 'exact', from_run: 'run-a', from_custom_id: 'c7', saved_usd: 0.3 });
  });
});
