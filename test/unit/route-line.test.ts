// Static routing of one line (src/input/route-line.ts) and at staging (prepare-line.ts): the
// routed model's body, its tokens counted with its tokenizer, the path, the reason; and the
// by-model / by-rule spend built from the store's groups (src/domain/route-spend.ts).
import { describe, expect, it } from 'vitest';
import { routeRulesSchema } from '../../src/domain/route-rules.ts';
import { parseBatchLine, type ParsedLine } from '../../src/domain/schemas.ts';
import { routeParsedLine } from '../../src/input/route-line.ts';
import { prepareLine, type LineContext } from '../../src/input/prepare-line.ts';
import { countChatPromptTokens, countRequestPromptTokens } from '../../src/llm/tokens.ts';
import { classifierRequest } from '../../src/domain/route-classifier.ts';
import { routeSpend } from '../../src/domain/route-spend.ts';

const rules = routeRulesSchema.parse({
  rules: [
    { name: 'legacy', match: { custom_id_prefix: 'old-' }, model: 'gpt-3.5-turbo' },
    { name: 'summary', match: { feature: 'summary' }, model: 'gpt-4.1-mini', route: 'batch' },
    { name: 'triage', match: { feature: 'triage' }, classifier: { model: 'gpt-4.1-nano', answers: { simple: 'gpt-4.1-mini', complex: 'gpt-4.1' } } },
  ],
});

const text = (customId: string, feature?: string, content = 'Summarise: the export button fails with error 1042 since Tuesday.'): string =>
  JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content }], max_tokens: 50 }, ...(feature ? { metadata: { feature } } : {}) });
const parsed = (t: string): ParsedLine => {
  const r = parseBatchLine(t);
  if (!r.ok) throw new Error(r.reject.message);
  return r.line;
};

describe('routing one line', () => {
  it('rewrites body.model and counts tokens with the routed model\'s tokenizer', () => {
    const line = parsed(text('old-1', undefined, 'Zusammenfassung: Die Exportfunktion schlägt seit Dienstag fehl.'));
    const r = routeParsedLine(rules, line);
    expect(r).toMatchObject({ model: 'gpt-3.5-turbo', rule: 'legacy', reason: 'custom_id^=old-' });
    expect(r.body).toEqual({ ...line.body, model: 'gpt-3.5-turbo' });
    expect(line.body.model).toBe('gpt-4o-mini'); // the parsed line is left as it was
    // gpt-3.5-turbo counts with cl100k_base, gpt-4o-mini with o200k_base: the counts differ here.
    expect(r.promptTokens).toBe(countRequestPromptTokens(line.url, r.body));
    expect(r.promptTokens).not.toBe(countRequestPromptTokens(line.url, line.body));
  });

  it('a line no rule matches keeps its model, body and tokens', () => {
    const line = parsed(text('a-1', 'reply'));
    expect(routeParsedLine(rules, line)).toEqual({ model: 'gpt-4o-mini', body: line.body, promptTokens: countRequestPromptTokens(line.url, line.body), rule: null, reason: "no rule matched: the line's own model" });
  });

  it('a classifier rule waits with its otherwise model and carries the rating call\'s size', () => {
    const line = parsed(text('t-1', 'triage', 'Is this a bug?'));
    const r = routeParsedLine(rules, line);
    expect(r).toMatchObject({ model: 'gpt-4.1', rule: 'triage', reason: 'feature=triage → classifier pending' });
    const req = classifierRequest(rules.rules[2]!.classifier!, 'Is this a bug?');
    expect(r.classifier).toEqual({ model: 'gpt-4.1-nano', promptTokens: countChatPromptTokens('gpt-4.1-nano', req.messages), outputTokens: 20 });
  });

  it('embeddings are not routed', () => {
    const line = parsed(JSON.stringify({ custom_id: 'old-e', method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: 'hello' } }));
    expect(routeParsedLine(rules, line)).toMatchObject({ model: 'text-embedding-3-small', rule: null, reason: 'embeddings are not routed' });
  });
});

describe('routing at staging', () => {
  const ctx = (mode: LineContext['mode'], routes = rules): LineContext => ({ format: 'batch', json: true, defaults: {}, mode, rule: [], routes });

  it('stores the routed body, model, tokens and reason; in hybrid the rule\'s route decides', () => {
    const p = prepareLine(ctx('hybrid'), text('s-1', 'summary'), 7);
    if (!('item' in p)) throw new Error('rejected');
    expect(p.item).toMatchObject({ customId: 's-1', line: 7, model: 'gpt-4.1-mini', route: 'batch', routing: { rule: 'summary', reason: 'feature=summary' } });
    expect(JSON.parse(p.item.bodyJson).model).toBe('gpt-4.1-mini');
    // A classifier rule's item goes realtime (where it is rated), an unmatched one by urgency (here: batch).
    const t = prepareLine(ctx('hybrid'), text('t-1', 'triage'), 8);
    const u = prepareLine(ctx('hybrid'), text('u-1'), 9);
    expect('item' in t && t.item.route).toBe('realtime');
    expect('item' in t && t.item.routing?.classifier?.model).toBe('gpt-4.1-nano');
    expect('item' in u && [u.item.route, u.item.routing]).toEqual(['batch', { rule: null, reason: "no rule matched: the line's own model" }]);
  });

  it('realtime mode ignores the rule\'s route; without rules nothing is recorded', () => {
    const p = prepareLine(ctx('realtime'), text('s-1', 'summary'), 1);
    expect('item' in p && [p.item.route, p.item.model]).toEqual(['realtime', 'gpt-4.1-mini']);
    const plain = prepareLine({ format: 'batch', json: true, defaults: {}, mode: 'realtime', rule: [] }, text('s-1', 'summary'), 1);
    expect('item' in plain && [plain.item.model, plain.item.routing]).toEqual(['gpt-4o-mini', undefined]);
  });
});

describe('spend by model and rule', () => {
  it('puts rating calls under the classifier model and under the rule that asked for them', () => {
    const s = routeSpend([
      { model: 'gpt-4.1-mini', rule: 'triage', classifierModel: 'gpt-4.1-nano', items: 30, succeeded: 30, failed: 0, pending: 0, costUsd: 0.031, classifierCostUsd: 0.001, classified: 30, routed: 30 },
      { model: 'gpt-4.1', rule: 'triage', classifierModel: 'gpt-4.1-nano', items: 20, succeeded: 19, failed: 1, pending: 0, costUsd: 0.2007, classifierCostUsd: 0.0007, classified: 20, routed: 20 },
      { model: 'gpt-4o-mini', rule: null, classifierModel: null, items: 50, succeeded: 45, failed: 0, pending: 5, costUsd: 0.01, classifierCostUsd: 0, classified: 0, routed: 50 },
    ]);
    expect(s.routed).toBe(true);
    const byModel = Object.fromEntries(s.byModel.map((m) => [m.model, m]));
    expect(byModel['gpt-4.1']).toMatchObject({ items: 20, classifierCalls: 0, failed: 1 });
    expect(byModel['gpt-4.1']!.costUsd).toBeCloseTo(0.2, 12);
    expect(byModel['gpt-4.1-nano']).toMatchObject({ items: 0, classifierCalls: 50 });
    expect(byModel['gpt-4.1-nano']!.costUsd).toBeCloseTo(0.0017, 12);
    expect(s.byModel.reduce((n, m) => n + m.costUsd, 0)).toBeCloseTo(0.031 + 0.2007 + 0.01, 12);
    expect(s.byRule.map((r) => r.rule)).toEqual(['triage', null]);
    expect(s.byRule[0]).toMatchObject({ items: 50, models: { 'gpt-4.1-mini': 30, 'gpt-4.1': 20 } });
    expect(s.byRule[0]!.costUsd).toBeCloseTo(0.2317, 12);
    expect(s.byRule[0]!.classifierCostUsd).toBeCloseTo(0.0017, 12);
    expect(routeSpend([{ model: 'gpt-4o-mini', rule: null, classifierModel: null, items: 3, succeeded: 3, failed: 0, pending: 0, costUsd: 1, classifierCostUsd: 0, classified: 0, routed: 0 }]).routed).toBe(false);
  });
});
