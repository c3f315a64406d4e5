import { describe, expect, it } from 'vitest';
import { isUrgent, parseUrgentRule, routeOf, type UrgentClause } from '../../src/domain/routing.ts';

describe('hybrid routing', () => {
  it('parses feature and custom_id prefix clauses, and says what is wrong otherwise', () => {
    expect(parseUrgentRule('feature=support')).toEqual([{ field: 'feature', equals: 'support' }]);
    expect(parseUrgentRule('feature=support, custom_id^=vip-')).toEqual([
      { field: 'feature', equals: 'support' },
      { field: 'custom_id', prefix: 'vip-' },
    ]);
    expect(parseUrgentRule('priority=high')).toMatch(/"priority=high" is not a rule clause; use feature=NAME or custom_id\^=PREFIX/);
    expect(parseUrgentRule('feature=')).toMatch(/not a rule clause/);
  });

  it('metadata.priority "urgent" or any clause makes an item urgent', () => {
    const rule = parseUrgentRule('feature=support,custom_id^=vip-') as UrgentClause[];
    expect(isUrgent({ customId: 'a', priority: 'urgent' }, [])).toBe(true);
    expect(isUrgent({ customId: 'a', priority: 'low' }, [])).toBe(false);
    expect(isUrgent({ customId: 'a', feature: 'support' }, rule)).toBe(true);
    expect(isUrgent({ customId: 'a', feature: 'supportive' }, rule)).toBe(false);
    expect(isUrgent({ customId: 'vip-7' }, rule)).toBe(true);
    expect(isUrgent({ customId: 'x-vip-7' }, rule)).toBe(false);
  });

  it('routes by mode: realtime never batches, batch always does, hybrid splits on urgency', () => {
    const urgent = { customId: 'a', priority: 'urgent' };
    const normal = { customId: 'b' };
    expect([routeOf('realtime', urgent, []), routeOf('realtime', normal, [])]).toEqual(['realtime', 'realtime']);
    expect([routeOf('batch', urgent, []), routeOf('batch', normal, [])]).toEqual(['batch', 'batch']);
    expect([routeOf('hybrid', urgent, []), routeOf('hybrid', normal, [])]).toEqual(['realtime', 'batch']);
  });
});
