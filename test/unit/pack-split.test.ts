import { describe, expect, it } from 'vitest';
import { contentOfAnswer, packedItemBody, readPackAnswer, splitInteger, splitMoney, splitUsage } from '../../src/domain/pack-split.ts';

describe('splitting a pack call', () => {
  it('splits integers by largest remainder, summing exactly to the total', () => {
    expect(splitInteger(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(splitInteger(100, [30, 20, 50])).toEqual([30, 20, 50]);
    expect(splitInteger(7, [2, 3])).toEqual([3, 4]); // 2.8 and 4.2: the larger remainder gets the spare
    expect(splitInteger(0, [5, 9])).toEqual([0, 0]);
    expect(splitInteger(5, [0, 0])).toEqual([3, 2]); // no weights: equal shares
    expect(splitInteger(3, [])).toEqual([]);
    for (let seed = 1; seed < 200; seed++) {
      const weights = Array.from({ length: 1 + (seed % 17) }, (_, i) => ((seed * 7919 + i * 104729) % 97) + 1);
      const total = (seed * 6151) % 5000;
      const parts = splitInteger(total, weights);
      expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
      for (const [i, p] of parts.entries()) expect(Math.abs(p - (total * weights[i]!) / weights.reduce((a, b) => a + b, 0))).toBeLessThan(1);
    }
  });

  it('splits money in proportion, the last share taking the rounding', () => {
    const parts = splitMoney(0.000123456789, [11, 13, 17]);
    expect(parts[0]).toBeCloseTo((0.000123456789 * 11) / 41, 18);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(0.000123456789);
    const many = splitMoney(1 / 3, Array.from({ length: 20 }, (_, i) => i + 1));
    expect(Math.abs(many.reduce((a, b) => a + b, 0) - 1 / 3)).toBeLessThan(1e-15);
    expect(splitMoney(1, [])).toEqual([]);
  });

  it('splits each usage field', () => {
    const parts = splitUsage({ prompt: 301, cached: 0, completion: 97, reasoning: 5 }, [10, 20, 30]);
    expect(parts.reduce((a, p) => a + p.prompt, 0)).toBe(301);
    expect(parts.reduce((a, p) => a + p.completion, 0)).toBe(97);
    expect(parts.reduce((a, p) => a + p.reasoning, 0)).toBe(5);
    expect(parts[2]!.prompt).toBe(151);
  });

  it('reads a clean answer into answers by position', () => {
    const content = JSON.stringify({ results: [{ id: 2, answer: 'b' }, { id: 1, answer: { x: 1 } }, { id: 3, answer: 'c' }] });
    expect(readPackAnswer(content, 3)).toEqual({ ok: true, answers: [{ x: 1 }, 'b', 'c'] });
  });

  it('refuses an answer with a missing, duplicate or unknown id, or that is not JSON', () => {
    const r = (results: unknown): string => {
      const a = readPackAnswer(JSON.stringify({ results }), 3);
      return a.ok ? 'ok' : a.reason;
    };
    expect(r([{ id: 1, answer: 'a' }, { id: 3, answer: 'c' }])).toMatch(/no result for id 2/);
    expect(r([{ id: 1, answer: 'a' }, { id: 1, answer: 'a' }, { id: 2, answer: 'b' }, { id: 3, answer: 'c' }])).toMatch(/id 1 twice/);
    expect(r([{ id: 1, answer: 'a' }, { id: 2, answer: 'b' }, { id: 3, answer: 'c' }, { id: 4, answer: 'd' }])).toMatch(/unknown id 4/);
    expect(r([{ id: '1', answer: 'a' }])).toMatch(/unknown id "1"/);
    expect(r([{ id: 1 }, { id: 2, answer: 'b' }, { id: 3, answer: 'c' }])).toMatch(/answer of id 1 is missing/);
    expect(readPackAnswer('{"results": [{"id": 1, "ans', 3)).toEqual({ ok: false, reason: expect.stringMatching(/not valid JSON/) });
    expect(readPackAnswer('{"answers": []}', 3)).toEqual({ ok: false, reason: expect.stringMatching(/no results array/) });
    expect(readPackAnswer(null, 3)).toEqual({ ok: false, reason: expect.stringMatching(/no text content/) });
  });

  it('builds a chat.completion body per item', () => {
    const body = packedItemBody({ id: 'chatcmpl-1', created: 5, model: 'gpt-4o-mini', system_fingerprint: 'fp' }, contentOfAnswer({ label: 'x' }), { prompt: 10, cached: 0, completion: 4, reasoning: 0 });
    expect(body).toMatchObject({ id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o-mini', system_fingerprint: 'fp', choices: [{ index: 0, message: { role: 'assistant', content: '{"label":"x"}' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } });
    expect(contentOfAnswer('plain')).toBe('plain');
  });
});
