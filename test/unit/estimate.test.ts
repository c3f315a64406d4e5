// The estimate's arithmetic (src/domain/estimate.ts, estimate-report.ts): token sums priced
// at any model and in every mode, the levers' savings, the cheapest option. Figures are
// worked out by hand from a small pricing table so that a wrong formula cannot pass.
import { describe, expect, it } from 'vitest';
import { cachedPrefixSavings, kindOfModel, kindOfUrl, Tally, tallyCost, type CountedLine } from '../../src/domain/estimate.ts';
import { buildEstimateReport, type EstimateCounts } from '../../src/domain/estimate-report.ts';
import { estimateCostUsd, parsePricingTable, UnknownModelError } from '../../src/domain/pricing.ts';
import { DigestMap } from '../../src/domain/digest-map.ts';
import { murmur128 } from '../../src/domain/murmur128.ts';

// USD per million tokens; batch at 40%.
const pricing = parsePricingTable(
  {
    version: 'test-1',
    currency: 'USD',
    batchDiscount: 0.4,
    models: {
      small: { inputPerMTok: 1, cachedInputPerMTok: 0.25, outputPerMTok: 4 },
      big: { inputPerMTok: 10, cachedInputPerMTok: 5, outputPerMTok: 40 },
      legacy: { inputPerMTok: 2, outputPerMTok: 3 },
      'text-embedding-x': { inputPerMTok: 0.5, outputPerMTok: 0 },
    },
  },
  'test',
);
// "legacy" counts in encoding B, the others in A.
const encodingOf = (m: string): string => (m === 'legacy' || m === 'text-embedding-x' ? 'B' : 'A');

const chat = (model: string, a: number, b: number, output: number, urgent = false): CountedLine => ({ model, kind: 'chat', tokens: { A: a, B: b }, output, urgent });
const usd = (promptTok: number, outTok: number, p: { in: number; out: number }): number => (promptTok * p.in + outTok * p.out) / 1e6;

describe('Tally and tallyCost', () => {
  it('prices each line at its own model in every mode: realtime, batch at the discount, hybrid urgent realtime + rest batch', () => {
    const t = new Tally();
    t.add(chat('small', 1000, 1100, 200));
    t.add(chat('small', 3000, 3300, 100, true));
    t.add(chat('big', 500, 550, 50));
    const c = tallyCost(pricing, t, encodingOf);
    const smallAll = usd(4000, 300, { in: 1, out: 4 });
    const bigAll = usd(500, 50, { in: 10, out: 40 });
    expect(c.realtime).toBeCloseTo(smallAll + bigAll, 12);
    expect(c.batch).toBeCloseTo(0.4 * (smallAll + bigAll), 12);
    const smallUrgent = usd(3000, 100, { in: 1, out: 4 });
    expect(c.hybrid).toBeCloseTo(smallUrgent + 0.4 * (smallAll - smallUrgent) + 0.4 * bigAll, 12);
    expect(t.lines).toBe(3);
    expect(t.models()).toEqual(['big', 'small']);
    expect(t.promptTokens(encodingOf)).toBe(4500);
    expect(t.outputTokens()).toBe(350);
  });

  it('priced as another model, lines count in that model\'s encoding; lines of the other kind stay at their own model', () => {
    const t = new Tally();
    t.add(chat('small', 1000, 1200, 100));
    t.add({ model: 'text-embedding-x', kind: 'embeddings', tokens: { B: 800 }, output: 0, urgent: false });
    const c = tallyCost(pricing, t, encodingOf, 'legacy');
    expect(c.realtime).toBeCloseTo(usd(1200, 100, { in: 2, out: 3 }) + usd(800, 0, { in: 0.5, out: 0 }), 12);
    expect(t.promptTokens(encodingOf, 'legacy')).toBe(2000);
  });

  it('sums per model exactly as staging does, so the realtime figure is the same number', () => {
    const t = new Tally();
    let prompt = 0;
    let output = 0;
    for (let i = 0; i < 1000; i++) {
      t.add(chat('small', 37 + (i % 11), 0, 120 + (i % 3), i % 7 === 0));
      prompt += 37 + (i % 11);
      output += 120 + (i % 3);
    }
    expect(tallyCost(pricing, t, encodingOf).realtime).toBe(estimateCostUsd(pricing, 'small', prompt, output));
  });

  it('a routing rule\'s path decides in the hybrid column only (as in a hybrid run); a classifier\'s lines are realtime in every column', () => {
    const t = new Tally();
    t.add(chat('big', 1000, 0, 100, true), { model: 'small', route: 'batch' }); // urgent, but the rule says batch
    t.add(chat('big', 1000, 0, 100), { model: 'small', route: 'realtime' });
    const c = tallyCost(pricing, t, encodingOf);
    const one = usd(1000, 100, { in: 1, out: 4 });
    expect(c.realtime).toBeCloseTo(2 * one, 12);
    expect(c.batch).toBeCloseTo(2 * 0.4 * one, 12);
    expect(c.hybrid).toBeCloseTo(0.4 * one + one, 12);
    const rated = new Tally();
    rated.add(chat('big', 1000, 0, 100), { model: 'small', realtimeOnly: true });
    expect(tallyCost(pricing, rated, encodingOf)).toEqual({ realtime: one, batch: one, hybrid: one });
  });

  it('says which model has no price, and refuses to price tokens it was not given', () => {
    const t = new Tally();
    t.add(chat('unknown-model', 10, 10, 10));
    expect(() => tallyCost(pricing, t, encodingOf)).toThrow(UnknownModelError);
    const u = new Tally();
    u.add({ model: 'small', kind: 'chat', tokens: { A: 5 }, output: 1, urgent: false });
    expect(() => tallyCost(pricing, u, encodingOf, 'legacy')).toThrow(/prompt tokens in B were not counted for lines of small/);
  });

  it('the prompt cache saves the difference between input and cached-input price (input price when the table has none); hybrid counts its two paths apart', () => {
    const s = cachedPrefixSavings(pricing, new Map([
      ['small', { together: 3_000_000, regular: 1_900_000, urgent: 900_000 }],
      ['legacy', { together: 1_000_000, regular: 1_000_000, urgent: 0 }],
    ]));
    expect(s.realtime).toBeCloseTo(3 * 0.75, 12);
    expect(s.batch).toBeCloseTo(0.4 * 3 * 0.75, 12);
    expect(s.hybrid).toBeCloseTo(0.9 * 0.75 + 0.4 * 1.9 * 0.75, 12);
  });

  it('tells chat and embedding models and requests apart', () => {
    expect([kindOfModel('gpt-4o-mini'), kindOfModel('text-embedding-3-small')]).toEqual(['chat', 'embeddings']);
    expect([kindOfUrl('/v1/chat/completions'), kindOfUrl('/v1/embeddings')]).toEqual(['chat', 'embeddings']);
  });
});

function counts(over: Partial<EstimateCounts> = {}): EstimateCounts {
  const all = new Tally();
  all.add(chat('small', 1000, 1100, 100));
  all.add(chat('small', 1000, 1100, 100));
  all.add(chat('small', 2000, 2200, 300, true));
  const duplicates = new Tally();
  duplicates.add(chat('small', 1000, 1100, 100));
  const sent = new Tally();
  sent.add(chat('small', 1000, 1100, 100));
  sent.add(chat('small', 2000, 2200, 300, true));
  return { format: 'batch', lines: 4, accepted: 3, rejected: 1, rejectsByCode: { invalid_json: 1 }, firstRejects: [{ line: 2, custom_id: null, code: 'invalid_json', message: 'not valid JSON' }], all, duplicates, repeatedBodies: 1, sent, ...over };
}

const why = { cachedKeys: 'no cache here', prefix: 'no prefix here', routes: 'no rules here' };

describe('buildEstimateReport', () => {
  it('compares the models of the file\'s kind, marks the file\'s model, and names the cheapest model and mode', () => {
    const r = buildEstimateReport({ file: 'f.jsonl', pricing, encodingOf, models: Object.keys(pricing.models), counts: counts(), why });
    // No embeddings line: the embedding model is left out.
    expect(r.models.map((m) => m.model)).toEqual(['small', 'big', 'legacy']);
    expect(r.modelsWithoutLines).toEqual(['text-embedding-x']);
    const small = r.models.find((m) => m.model === 'small')!;
    expect(small).toMatchObject({ inFile: true, encoding: 'A', kind: 'chat', promptTokens: 4000, maxOutputTokens: 500 });
    expect(r.models.find((m) => m.model === 'legacy')).toMatchObject({ inFile: false, encoding: 'B', promptTokens: 4400 });
    expect(small.costUsd).toEqual(r.asIs.costUsd);
    expect(r.asIs.costUsd.realtime).toBe(estimateCostUsd(pricing, 'small', 4000, 500));
    expect(r.urgentLines).toBe(1);
    expect(r.fileModels).toEqual(['small']);
    // small through the Batch API: 0.4 × (4000 × 1 + 500 × 4) / 1e6; legacy batch is 0.4 × (4400 × 2 + 500 × 3) / 1e6 = more.
    expect(r.cheapest).toMatchObject({ model: 'small', routing: false, mode: 'batch', usd: 0.4 * 0.006, asIsRealtimeUsd: 0.006, promptPrefixSaveUsd: null });
    // The duplicate line, at small through the Batch API.
    expect(r.cheapest!.exactLeversSaveUsd).toBeCloseTo(0.4 * usd(1000, 100, { in: 1, out: 4 }), 12);
    expect(r.cheapest!.netUsd).toBeCloseTo(r.cheapest!.usd - r.cheapest!.exactLeversSaveUsd, 12);
    expect(r.rejects).toEqual({ byCode: { invalid_json: 1 }, first: [expect.objectContaining({ line: 2 })] });
  });

  it('reports each lever: duplicates always; the others with their savings when given, else n/a with the reason', () => {
    const none = buildEstimateReport({ file: 'f', pricing, encodingOf, models: ['small'], counts: counts(), why });
    expect(none.levers.duplicates).toMatchObject({ available: true, lines: 1, promptTokens: 1000, repeatedBodies: 1 });
    expect((none.levers.duplicates as { savedUsd: { realtime: number } }).savedUsd.realtime).toBeCloseTo(usd(1000, 100, { in: 1, out: 4 }), 12);
    expect(none.levers.cacheHits).toEqual({ available: false, reason: 'no cache here' });
    expect(none.levers.promptPrefix).toEqual({ available: false, reason: 'no prefix here' });
    expect(none.levers.routing).toEqual({ available: false, reason: 'no rules here' });

    const hits = new Tally();
    hits.add(chat('small', 2000, 2200, 300, true));
    const routed = new Tally();
    routed.add(chat('small', 1000, 1100, 100), { model: 'big' });
    routed.add(chat('small', 2000, 2200, 300, true));
    const ratings = new Tally();
    ratings.add({ model: 'small', kind: 'chat', tokens: { A: 50 }, output: 20, urgent: true }, { model: 'small', realtimeOnly: true });
    const all = buildEstimateReport({
      file: 'f',
      pricing,
      encodingOf,
      models: ['small'],
      counts: counts({
        cacheHits: hits,
        prefix: { byModel: new Map([['small', { together: 1024, regular: 0, urgent: 0 }]]), lines: 1, approximate: true },
        routing: { routed, ratings, mix: [{ rule: 'long', model: 'big', lines: 1 }, { rule: 'no rule matched', model: 'small', lines: 1 }], moved: 1 },
      }),
      why,
      notes: { cachedKeys: 'looked up in x.sqlite' },
      routesFile: 'rules.yaml',
    });
    expect(all.levers.cacheHits).toMatchObject({ available: true, lines: 1, promptTokens: 2000, note: 'looked up in x.sqlite' });
    expect(all.levers.promptPrefix).toMatchObject({ available: true, lines: 1, promptTokens: 1024, note: expect.stringContaining('lower bound') });
    const prefixSaved = (all.levers.promptPrefix as { savedUsd: { realtime: number; batch: number; hybrid: number } }).savedUsd;
    expect(prefixSaved.realtime).toBeCloseTo((1024 * 0.75) / 1e6, 12);
    expect(prefixSaved.batch).toBeCloseTo((0.4 * 1024 * 0.75) / 1e6, 12);
    expect(prefixSaved.hybrid).toBe(0); // the two lines go out on different paths in a hybrid run: no group
    const r = all.levers.routing;
    if (!r.available) throw new Error('routing not available');
    expect(r.lines).toBe(1);
    expect(r.file).toBe('rules.yaml');
    const rating = usd(50, 20, { in: 1, out: 4 });
    // Routing the 1000-token line to big costs more than it saves: a negative saving; the rating call is paid realtime.
    expect(r.savedUsd.realtime).toBeCloseTo(usd(1000, 100, { in: 1, out: 4 }) - usd(1000, 100, { in: 10, out: 40 }) - rating, 12);
    expect(r.ratings).toEqual([{ model: 'small', calls: 1, promptTokens: 50, maxOutputTokens: 20, costUsd: { realtime: rating, batch: rating, hybrid: rating } }]);
    // By model: without the rules both lines at small; with them one at big and one at small.
    expect(r.models.map((m) => [m.model, m.without.lines, m.with.lines])).toEqual([['big', 0, 1], ['small', 2, 1]]);
    expect(r.models.find((m) => m.model === 'big')!.with.costUsd.realtime).toBeCloseTo(usd(1000, 100, { in: 10, out: 40 }), 12);
    const sumWith = r.models.reduce((n, m) => n + m.with.costUsd.hybrid, 0) + rating;
    expect(sumWith).toBeCloseTo(r.routedUsd.hybrid, 12);
  });

  it('the cheapest option is ranked after the exact levers, may be the routing mix, and carries the prompt cache\'s saving when it is known for it', () => {
    const routed = new Tally();
    // The rules send everything to legacy, cheaper than small in encoding B here only because B counts fewer tokens.
    routed.add(chat('small', 1000, 10, 100), { model: 'legacy' });
    routed.add(chat('small', 2000, 20, 300, true), { model: 'legacy' });
    const prefix = { byModel: new Map([['small', { together: 1024, regular: 1024, urgent: 0 }]]), lines: 1, approximate: false };
    const r = buildEstimateReport({
      file: 'f', pricing, encodingOf, models: ['small', 'big'], why, routesFile: 'cheap.yaml',
      counts: counts({ prefix, routing: { routed, ratings: new Tally(), mix: [], moved: 2, prefix } }),
    });
    const legacyBatch = 0.4 * usd(30, 400, { in: 2, out: 3 });
    expect(r.cheapest).toMatchObject({ model: 'cheap.yaml', routing: true, mode: 'batch', exactLeversSaveUsd: 0 });
    expect(r.cheapest!.netUsd).toBeCloseTo(legacyBatch, 12);
    expect(r.cheapest!.promptPrefixSaveUsd).toBeCloseTo((0.4 * 1024 * 0.75) / 1e6, 12);
    // Without the rules: small (the file's only model), with the prompt cache's saving at small.
    const own = buildEstimateReport({ file: 'f', pricing, encodingOf, models: ['small', 'big'], why, counts: counts({ prefix }) });
    expect(own.cheapest).toMatchObject({ model: 'small', routing: false, mode: 'batch' });
    expect(own.cheapest!.promptPrefixSaveUsd).toBeCloseTo((0.4 * 1024 * 0.75) / 1e6, 12);
  });

  it('with no accepted line there is no cheapest option', () => {
    const r = buildEstimateReport({ file: 'f', pricing, encodingOf, models: ['small'], counts: { ...counts(), all: new Tally(), duplicates: new Tally(), sent: new Tally(), accepted: 0 }, why });
    expect(r.models).toEqual([]);
    expect(r.cheapest).toBeNull();
  });
});

describe('DigestMap', () => {
  it('finds every digest it holds, with its value, across growth, and nothing else', () => {
    const m = new DigestMap(16);
    const words = new Uint32Array(4 * 20_000);
    let seed = 12345;
    for (let i = 0; i < words.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      words[i] = seed;
    }
    for (let i = 0; i < 10_000; i++) expect(m.getOrAdd(words, i * 4, i)).toBeUndefined();
    expect(m.size).toBe(10_000);
    for (let i = 0; i < 10_000; i++) expect(m.getOrAdd(words, i * 4, 999)).toBe(i);
    // Digests never added are not found (and are added on the way).
    for (let i = 10_000; i < 20_000; i++) expect(m.getOrAdd(words, i * 4, 7)).toBeUndefined();
    m.set(words, 0, 42);
    expect(m.getOrAdd(words, 0, 0)).toBe(42);
    expect(m.size).toBe(20_000);
    // 20 bytes a slot, at most 3/4 full.
    expect(m.bytes).toBeLessThanOrEqual((20_000 / 0.75) * 2 * 20);
  });

  it('tells apart digests that share their first word', () => {
    const m = new DigestMap(16);
    const a = Uint32Array.of(1, 2, 3, 4);
    const b = Uint32Array.of(1, 2, 3, 5);
    expect(m.getOrAdd(a, 0, 1)).toBeUndefined();
    expect(m.getOrAdd(b, 0, 2)).toBeUndefined();
    expect([m.getOrAdd(a, 0, 0), m.getOrAdd(b, 0, 0)]).toEqual([1, 2]);
  });
});

describe('murmur128', () => {
  // Reference vectors of MurmurHash3_x86_128, seed 0, over bytes; a string whose UTF-16 code units pack those bytes hashes the same.
  const packed = (ascii: string): string => {
    let s = '';
    for (let i = 0; i < ascii.length; i += 2) s += String.fromCharCode(ascii.charCodeAt(i) | (ascii.charCodeAt(i + 1) << 8));
    return s;
  };
  const hex = (s: string): string => {
    const o = new Uint32Array(4);
    murmur128(s, o, 0);
    return [...o].map((w) => w.toString(16).padStart(8, '0')).join('');
  };
  it('matches the reference implementation', () => {
    expect(hex(packed('Hello World!'))).toBe('6bee9883eb1be4f59dfb7172ae3fbea9');
    expect(hex(packed('Hello World! Hello World! He'))).toBe('846027381e604d1d88f1ce28caafed7d');
    expect(hex(packed('He'))).toBe('47f82b373b8fc7283b8fc7283b8fc728');
    expect(hex('')).toBe('00000000000000000000000000000000');
  });

  it('tells apart 200,000 custom_ids that differ by a character', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(hex(`ticket-${i}-summary`));
    expect(seen.size).toBe(200_000);
  });
});
