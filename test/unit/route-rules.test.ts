// Model routing rules (src/domain/route-rules.ts): each condition, first match, the canary's
// determinism and share, the path in hybrid mode, and what makes rules unusable for a run.
import { describe, expect, it } from 'vitest';
import { canaryBucket, evaluateRoute, lastUserText, modelsOf, pathOf, routeRulesProblem, routeRulesSchema, type RouteRules, type RouteSubject } from '../../src/domain/route-rules.ts';
import { hash32 } from '../../src/domain/hash32.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';

const rules = (r: unknown): RouteRules => routeRulesSchema.parse(r);
const subject = (s: Partial<RouteSubject> = {}): RouteSubject => ({ customId: 'item-1', promptTokens: 100, lastUserMessage: 'hello', ...s });

describe('route rules: conditions', () => {
  it('metadata.feature: one name or a list; an item without a feature never matches', () => {
    const r = rules({ rules: [{ name: 'sum', match: { feature: 'summary' }, model: 'gpt-4.1-mini' }, { name: 'two', match: { feature: ['triage', 'reply-draft'] }, model: 'gpt-4.1-nano' }] });
    expect(evaluateRoute(r, subject({ feature: 'summary' }))).toEqual({ rule: 'sum', ruleIndex: 0, reason: 'feature=summary', model: 'gpt-4.1-mini' });
    expect(evaluateRoute(r, subject({ feature: 'reply-draft' }))).toMatchObject({ rule: 'two', model: 'gpt-4.1-nano', reason: 'feature=reply-draft' });
    expect(evaluateRoute(r, subject({ feature: 'summaryx' })).rule).toBeNull();
    expect(evaluateRoute(r, subject()).rule).toBeNull();
  });

  it('prompt tokens: min and max are inclusive, alone or together', () => {
    const r = rules({ rules: [{ name: 'mid', match: { min_prompt_tokens: 100, max_prompt_tokens: 200 }, model: 'a' }, { name: 'long', match: { min_prompt_tokens: 201 }, model: 'b' }, { name: 'short', match: { max_prompt_tokens: 99 }, model: 'c' }] });
    expect(evaluateRoute(r, subject({ promptTokens: 100 })).rule).toBe('mid');
    expect(evaluateRoute(r, subject({ promptTokens: 200 })).reason).toBe('prompt 200 tokens ≥ 100 and ≤ 200');
    expect(evaluateRoute(r, subject({ promptTokens: 201 })).rule).toBe('long');
    expect(evaluateRoute(r, subject({ promptTokens: 5000 })).reason).toBe('prompt 5,000 tokens ≥ 201');
    expect(evaluateRoute(r, subject({ promptTokens: 99 })).rule).toBe('short');
  });

  it('regex on the last user message, with flags', () => {
    const r = rules({ rules: [{ name: 'refund', match: { regex: '\\b(refund|chargeback)s?\\b', regex_flags: 'i' }, model: 'gpt-4.1' }] });
    expect(evaluateRoute(r, subject({ lastUserMessage: 'I want a REFUND now' }))).toMatchObject({ rule: 'refund', reason: 'last user message ~ /\\b(refund|chargeback)s?\\b/i' });
    expect(evaluateRoute(r, subject({ lastUserMessage: 'refunded?' })).rule).toBeNull();
    // Tested again and again, the same answer (no g/y flags, no lastIndex state).
    for (let i = 0; i < 3; i++) expect(evaluateRoute(r, subject({ lastUserMessage: 'refund' })).rule).toBe('refund');
  });

  it('custom_id prefix', () => {
    const r = rules({ rules: [{ name: 'vip', match: { custom_id_prefix: 'vip-' }, route: 'realtime' }] });
    expect(evaluateRoute(r, subject({ customId: 'vip-7' }))).toEqual({ rule: 'vip', ruleIndex: 0, reason: 'custom_id^=vip-', route: 'realtime' });
    expect(evaluateRoute(r, subject({ customId: 'x-vip-7' })).rule).toBeNull();
  });

  it('all conditions of a rule must hold; no match is a catch-all', () => {
    const r = rules({ rules: [{ name: 'both', match: { feature: 'summary', min_prompt_tokens: 500 }, model: 'gpt-4.1' }, { name: 'rest', model: 'gpt-4.1-nano' }] });
    expect(evaluateRoute(r, subject({ feature: 'summary', promptTokens: 600 })).rule).toBe('both');
    expect(evaluateRoute(r, subject({ feature: 'summary', promptTokens: 400 }))).toMatchObject({ rule: 'rest', reason: 'every item' });
  });

  it('the first matching rule wins; an unnamed rule is named by its place', () => {
    const r = rules({ rules: [{ match: { feature: 'summary' }, model: 'first' }, { match: { feature: 'summary' }, model: 'second' }] });
    expect(evaluateRoute(r, subject({ feature: 'summary' }))).toMatchObject({ rule: 'rules[0]', ruleIndex: 0, model: 'first' });
    expect(evaluateRoute(r, subject({ feature: 'other' }))).toEqual({ rule: null, ruleIndex: null, reason: "no rule matched: the line's own model" });
  });
});

describe('route rules: canary split', () => {
  const ids = Array.from({ length: 100_000 }, (_, i) => `ticket-${String(i + 1).padStart(6, '0')}`);

  it('is deterministic: the same custom_id and rule always land in the same bucket', () => {
    expect(canaryBucket('ticket-000001', 'canary')).toBe(canaryBucket('ticket-000001', 'canary'));
    // Known values (FNV-1a 32, whose published vector for "a" is 0xe40c292c, then murmur3's
    // fmix32; computed by an independent Python reference): a change of the hash would
    // re-route every rerun, so it is pinned.
    expect(hash32('')).toBe(2872998923);
    expect(hash32('a')).toBe(444641715);
    expect(hash32('ticket-000001\u0000canary')).toBe(222815950);
    const r = rules({ rules: [{ name: 'canary', match: { percent: 5 }, model: 'gpt-4.1-mini' }] });
    const first = ids.slice(0, 2000).map((id) => evaluateRoute(r, subject({ customId: id })).rule);
    const again = ids.slice(0, 2000).map((id) => evaluateRoute(r, subject({ customId: id })).rule);
    expect(again).toEqual(first);
  });

  it.each([1, 5, 20, 50])('sends %d%% of sequential ids, within ±0.5 points on 100,000', (percent) => {
    const share = ids.filter((id) => canaryBucket(id, 'canary') < percent).length / ids.length;
    expect(Math.abs(share * 100 - percent)).toBeLessThan(0.5);
  });

  it('buckets are independent between rules, and the reason names the bucket', () => {
    const both = ids.filter((id) => canaryBucket(id, 'a') < 10 && canaryBucket(id, 'b') < 10).length / ids.length;
    expect(Math.abs(both - 0.01)).toBeLessThan(0.002);
    const r = rules({ rules: [{ name: 'canary', match: { feature: 'summary', percent: 5 }, model: 'gpt-4.1-mini' }, { name: 'summary', match: { feature: 'summary' }, model: 'gpt-4o-mini' }] });
    const inCanary = ids.find((id) => canaryBucket(id, 'canary') < 5)!;
    const d = evaluateRoute(r, subject({ customId: inCanary, feature: 'summary' }));
    expect(d.rule).toBe('canary');
    expect(d.reason).toBe(`feature=summary · canary 5% (bucket ${canaryBucket(inCanary, 'canary').toFixed(2)})`);
    // Outside the canary, the item falls through to the next rule.
    const outside = ids.find((id) => canaryBucket(id, 'canary') >= 5)!;
    expect(evaluateRoute(r, subject({ customId: outside, feature: 'summary' })).rule).toBe('summary');
  });
});

describe('route rules: the path and the run', () => {
  const r = rules({ rules: [{ name: 'vip', match: { custom_id_prefix: 'vip-' }, route: 'realtime' }, { name: 'bulk', match: { feature: 'bulk' }, model: 'gpt-4.1-nano', route: 'batch' }, { name: 'triage', match: { feature: 'triage' }, classifier: { model: 'gpt-4.1-nano', answers: { simple: 'gpt-4.1-mini', complex: 'gpt-4.1' } } }] });
  const urgent = (): 'realtime' => 'realtime';
  const normal = (): 'batch' => 'batch';

  it('hybrid: a rule that names a route decides; a classifier rule goes realtime; otherwise urgency decides', () => {
    expect(pathOf('hybrid', evaluateRoute(r, subject({ customId: 'vip-1' })), normal)).toBe('realtime');
    expect(pathOf('hybrid', evaluateRoute(r, subject({ feature: 'bulk' })), urgent)).toBe('batch');
    expect(pathOf('hybrid', evaluateRoute(r, subject({ feature: 'triage' })), normal)).toBe('realtime');
    expect(pathOf('hybrid', evaluateRoute(r, subject()), urgent)).toBe('realtime');
    expect(pathOf('hybrid', evaluateRoute(r, subject()), normal)).toBe('batch');
  });

  it('realtime and batch mode: the mode decides', () => {
    expect(pathOf('realtime', evaluateRoute(r, subject({ feature: 'bulk' })), normal)).toBe('realtime');
    expect(pathOf('batch', evaluateRoute(r, subject({ customId: 'vip-1' })), urgent)).toBe('batch');
  });

  it('a classifier rule cannot run in batch mode, and every model needs a price', () => {
    const pricing = loadDefaultPricing();
    expect(routeRulesProblem(r, 'batch', pricing)).toMatch(/triage is a classifier rule: .* Use --mode hybrid/);
    expect(routeRulesProblem(r, 'hybrid', pricing)).toBeUndefined();
    expect(modelsOf(r)).toEqual(['gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano']);
    const unpriced = rules({ rules: [{ model: 'gpt-9' }, { classifier: { model: 'nano-x', answers: { a: 'gpt-4.1', b: 'gpt-4o' } } }] });
    expect(routeRulesProblem(unpriced, 'realtime', pricing)).toMatch(/no price for "gpt-9", "nano-x" in pricing table/);
  });

  it('the last user message is what the regex sees', () => {
    expect(lastUserText([{ role: 'user', content: 'first' }, { role: 'assistant', content: 'x' }, { role: 'user', content: [{ type: 'text', text: 'la' }, { type: 'text', text: 'st' }] }])).toBe('last');
    expect(lastUserText([{ role: 'system', content: 'sys' }])).toBe('');
    expect(lastUserText(undefined)).toBe('');
  });
});
