// The estimate's prompt-prefix and routing levers as pure accumulators
// (src/domain/estimate-prefix.ts, estimate-routing.ts): what each counts per model and per
// path of a hybrid run, on hand-made fingerprints and choices whose figures are known.
import { describe, expect, it } from 'vitest';
import { PrefixEligibilityByModel } from '../../src/domain/estimate-prefix.ts';
import { NO_RULE, RoutingCount, type RoutableLine } from '../../src/domain/estimate-routing.ts';
import type { PrefixRequest } from '../../src/domain/estimate-levers.ts';
import { checkpointTokens } from '../../src/domain/prompt-prefix.ts';

const fp = (...checkpoints: string[]) => ({ checkpoints });
const encodingOf = (m: string): string => (m === 'old' ? 'B' : 'A');
const line = (model: string, o: Partial<RoutableLine> = {}): RoutableLine => ({ model, kind: 'chat', tokens: { A: 1500, B: 1600 }, output: 10, urgent: false, ...o });

describe('PrefixEligibilityByModel', () => {
  it('counts (n − 1) × the common prefix per group, per model, and apart for the two paths of a hybrid run', () => {
    const lever = new PrefixEligibilityByModel();
    // m1: three prompts sharing 1,152 tokens (checkpoints 0 and 1), one urgent; m2: two sharing 1,024.
    lever.add({ model: 'm1', urgent: true, prefix: fp('g', 'x', 'p') });
    lever.add({ model: 'm1', urgent: false, prefix: fp('g', 'x', 'q') });
    lever.add({ model: 'm1', urgent: false, prefix: fp('g', 'x') });
    lever.add({ model: 'm2', urgent: false, prefix: fp('h', 'y') });
    lever.add({ model: 'm2', urgent: false, prefix: fp('h', 'z') });
    lever.add({ model: 'm2', urgent: false }); // a short prompt: in no group
    const r = lever.result();
    expect(r.byModel.get('m1')).toEqual({ together: 2 * checkpointTokens(1), urgent: 0, regular: checkpointTokens(1) });
    expect(r.byModel.get('m2')).toEqual({ together: checkpointTokens(0), urgent: 0, regular: checkpointTokens(0) });
    // Lines that can read from the cache: all but the first of each group.
    expect(r.lines).toBe(3);
    expect(r.approximate).toBe(false);
  });

  it('says when memory bounds made its count a lower bound', () => {
    const lever = new PrefixEligibilityByModel(2);
    for (const g of ['a', 'b', 'c', 'a']) lever.add({ model: 'm', urgent: false, prefix: fp(g) });
    expect(lever.result().approximate).toBe(true);
  });
});

describe('RoutingCount', () => {
  it('adds each line at its routed model, rating calls apart and realtime, and the mix by rule', () => {
    const count = new RoutingCount(encodingOf);
    count.add(line('m1', { routed: { model: 'old', rule: 'legacy' } }));
    count.add(line('m1', { routed: { model: 'm2', rule: 'rate', classifier: { model: 'm1', promptTokens: 90, outputTokens: 20 } } }));
    count.add(line('m1', { routed: { model: 'm1', rule: null } }));
    count.add(line('m1', { routed: { model: 'm1', rule: 'later', route: 'batch' } }));
    const r = count.result();
    expect(r.moved).toBe(3);
    expect(r.mix).toEqual([
      { rule: 'legacy', model: 'old', lines: 1 },
      { rule: 'rate', model: 'm2', classifier: 'm1', lines: 1 },
      { rule: NO_RULE, model: 'm1', lines: 1 },
      { rule: 'later', model: 'm1', route: 'batch', lines: 1 },
    ]);
    expect(r.routed.entries().map((g) => [g.model, g.route, g.realtimeOnly, g.regular.lines])).toEqual([
      ['old', undefined, undefined, 1],
      ['m2', undefined, true, 1],
      ['m1', undefined, undefined, 1],
      ['m1', 'batch', undefined, 1],
    ]);
    // The rating call in the rating model's encoding, at its output cap.
    expect(r.ratings.entries()).toEqual([{ model: 'm1', kind: 'chat', realtimeOnly: true, regular: { lines: 0, output: 0, prompt: {} }, urgent: { lines: 1, output: 20, prompt: { A: 90 } } }]);
  });

  it('feeds the prefix lever the routed request\'s fingerprint, on the path a hybrid run sends it', () => {
    const seen: PrefixRequest[] = [];
    const count = new RoutingCount(encodingOf, { add: (r) => void seen.push(r), result: () => ({ byModel: new Map(), lines: 0, approximate: false }) });
    const own = fp('own');
    const routed = fp('routed');
    count.add(line('m1', { prefix: own, urgent: true, routed: { model: 'm1', rule: null } })); // kept: its own fingerprint, urgent → realtime
    count.add(line('m1', { prefix: own, urgent: true, routed: { model: 'm2', rule: 'r', route: 'batch', prefix: routed } })); // the rule's path wins
    count.add(line('m1', { prefix: own, routed: { model: 'm2', rule: 'c', classifier: { model: 'm1', promptTokens: 1, outputTokens: 20 } } })); // rated: realtime
    count.add(line('m1', { prefix: own, routed: { model: 'm2', rule: 'short' } })); // under 1,024 tokens in m2's encoding: none
    expect(seen).toEqual([
      { model: 'm1', urgent: true, prefix: own },
      { model: 'm2', urgent: false, prefix: routed },
      { model: 'm2', urgent: true },
      { model: 'm2', urgent: false },
    ]);
  });
});
