// How `llm-batch estimate` prints a report (src/cli/estimate-format.ts): the paths the
// example file does not take (several models, levers available, routing mix, a sample).
import { describe, expect, it } from 'vitest';
import { Tally, type CountedLine } from '../../src/domain/estimate.ts';
import { buildEstimateReport, type EstimateCounts } from '../../src/domain/estimate-report.ts';
import { parsePricingTable } from '../../src/domain/pricing.ts';
import { cheapestLine, headerLine, leverNotes, leversTable, modelsTable, rejectLines, routingMixLine, routingTable, sampleLines } from '../../src/cli/estimate-format.ts';

const pricing = parsePricingTable(
  { version: 'p-1', currency: 'USD', batchDiscount: 0.5, models: { small: { inputPerMTok: 1, cachedInputPerMTok: 0.5, outputPerMTok: 2 }, big: { inputPerMTok: 10, outputPerMTok: 20 } } },
  'test',
);
const encodingOf = (): string => 'A';
const line = (model: string, prompt: number, urgent = false): CountedLine => ({ model, kind: 'chat', tokens: { A: prompt }, output: 100, urgent });

function counts(): EstimateCounts {
  const all = new Tally();
  const sent = new Tally();
  const duplicates = new Tally();
  for (const [i, l] of [line('small', 1000), line('big', 2000, true), line('small', 1000)].entries()) {
    all.add(l);
    (i === 2 ? duplicates : sent).add(l);
  }
  const routed = new Tally();
  routed.add(line('small', 1000));
  routed.add(line('big', 2000, true), { model: 'small', route: 'realtime' });
  const ratings = new Tally();
  ratings.add({ model: 'small', kind: 'chat', tokens: { A: 100 }, output: 20, urgent: true }, { model: 'small', realtimeOnly: true });
  return {
    format: 'batch',
    lines: 4,
    accepted: 3,
    rejected: 1,
    rejectsByCode: { empty_line: 1 },
    firstRejects: [{ line: 4, custom_id: null, code: 'empty_line', message: 'the line is empty' }],
    all,
    duplicates,
    repeatedBodies: 1,
    cacheHits: new Tally(),
    sent,
    prefix: { byModel: new Map([['small', { together: 1024, regular: 1024, urgent: 0 }]]), lines: 1, approximate: false },
    routing: {
      routed,
      ratings,
      mix: [{ rule: 'feature=x', model: 'small', route: 'realtime', lines: 1 }, { rule: 'rated', model: 'small', classifier: 'small', lines: 1 }],
      moved: 1,
      prefix: { byModel: new Map([['small', { together: 2048, regular: 1024, urgent: 0 }]]), lines: 2, approximate: false },
    },
  };
}

const why = { cachedKeys: '', prefix: '', routes: '' };
const report = buildEstimateReport({ file: 'in.jsonl', pricing, encodingOf, models: ['small', 'big'], counts: counts(), urgentIf: 'feature=x', why, notes: { cachedKeys: 'answers cached in /data/items.sqlite in the last 30d (--cache-ttl)' }, routesFile: 'rules.yaml' });
/** The same file without the rules. */
const { routing: _routing, ...unrouted } = counts();
const plain = buildEstimateReport({ file: 'in.jsonl', pricing, encodingOf, models: ['small', 'big'], counts: unrouted, why });

describe('estimate output', () => {
  it('a file naming several models gets an "as in the file" row; each model it names is marked', () => {
    const t = modelsTable(report);
    expect(t).toMatch(/│ as in the file \(big, small\)\s+│\s+│\s+4,000 │\s+300 │/);
    expect(t).toMatch(/│ small \*\s+│ A\s+│\s+4,000 │/);
    expect(t).toMatch(/│ big \*\s+│ A\s+│\s+4,000 │/);
    // Cheapest realtime first.
    expect(t.indexOf('small *')).toBeLessThan(t.indexOf('big *'));
    expect(headerLine(report)).toBe('in.jsonl: 4 lines, 3 accepted, 1 rejected · 1 urgent (realtime in hybrid mode, --urgent-if feature=x) · pricing p-1, Batch API ×0.5');
  });

  it('levers that are available show lines, tokens and savings per mode; the routing mix is listed', () => {
    const t = leversTable(report);
    expect(t).toMatch(/│ exact duplicates in the file\s+│\s+1 │\s+1,000 │\s+\$0\.0012 │\s+\$0\.0006 │\s+\$0\.0006 │/);
    expect(t).toMatch(/│ hits in the cache from earlier runs\s+│\s+0 │\s+0 │\s+\$0\.0000 │/);
    // 1,024 cached tokens at $1 − $0.5 per million.
    expect(t).toMatch(/│ prompt-prefix cache \(cached input\)\s+│\s+1 │\s+1,024 │\s+\$0\.0005 │/);
    // The urgent big line routed to small: 2,000 × $9 + 100 × $18 per million saved, less the rating call (100 × $1 + 20 × $2) paid realtime.
    expect(t).toMatch(/│ routing rules\s+│\s+1 │\s+│\s+\$0\.0197 │\s+\$0\.0098 │\s+\$0\.0197 │/);
    expect(routingMixLine(report)).toBe('routing mix: feature=x 1 → small (realtime in hybrid) · rated 1 → rated by small, priced at small (its "otherwise" model)');
    expect(leverNotes(report)).toEqual([
      'Cache hits: answers cached in /data/items.sqlite in the last 30d (--cache-ttl).',
      'Prompt-prefix cache on the routed requests: 2,048 tokens on 2 lines, saving $0.0010 / $0.0005 / $0.0003 (realtime / batch / hybrid).',
    ]);
    expect(leverNotes(plain)).toEqual([]);
  });

  it('with routing rules: lines and cost per model without the rules → with them, the rating calls, the total', () => {
    const t = routingTable(report)!;
    expect(t).toMatch(/│ routing rules \(rules\.yaml\)\s+│ lines\s+│ realtime\s+│ batch\s+│ hybrid\s+│/);
    expect(t).toMatch(/│ small\s+│\s+1 → 2 │ \$0\.0012 → \$0\.0034 │ \$0\.0006 → \$0\.0017 │ \$0\.0006 → \$0\.0028 │/);
    expect(t).toMatch(/│ big\s+│\s+1 → 0 │ \$0\.0220 → \$0\.0000 │ \$0\.0110 → \$0\.0000 │ \$0\.0220 → \$0\.0000 │/);
    expect(t).toMatch(/│ rating calls \(small\)\s+│\s+0 → 1 │ \$0\.0000 → \$0\.0001 │/);
    expect(t).toMatch(/│ lines sent, in all\s+│\s+2 → 2 │ \$0\.0232 → \$0\.0035 │/);
    expect(routingTable(plain)).toBeUndefined();
    expect(routingMixLine(plain)).toBeUndefined();
  });

  it('names the cheapest option, with what the exact levers and the prompt cache take off it', () => {
    // small, batch: (4,000 × $1 + 300 × $2) / 1e6 × 0.5; as it is: small (2,000, 200) + big (2,000 × $10 + 100 × $20); the duplicate: (1,000 + 200) / 1e6 × 0.5.
    expect(cheapestLine(report)).toBe('Cheapest: small through the Batch API, at most $0.0023 (the file as it is, realtime: $0.0244); sending each duplicate body once takes $0.0006 off that.');
    // A file naming one model: the prompt cache's saving at it is known (1,024 tokens × $0.5 per million, batch).
    const one = new Tally();
    one.add(line('small', 2000));
    const single = buildEstimateReport({ file: 'in.jsonl', pricing, encodingOf, models: ['small', 'big'], why, counts: { ...unrouted, all: one, sent: one, duplicates: new Tally(), prefix: { byModel: new Map([['small', { together: 1024, regular: 1024, urgent: 0 }]]), lines: 1, approximate: false } } });
    expect(cheapestLine(single)).toBe('Cheapest: small through the Batch API, at most $0.0011 (the file as it is, realtime: $0.0022); the provider\'s prompt cache up to $0.0003 more.');
  });

  it('the routing mix is the cheapest option when it costs least', () => {
    const cheap = new Tally();
    cheap.add(line('small', 10));
    const c = counts();
    const r = buildEstimateReport({ file: 'in.jsonl', pricing, encodingOf, models: ['small', 'big'], why, routesFile: 'rules.yaml', counts: { ...c, routing: { ...c.routing!, routed: cheap } } });
    expect(cheapestLine(r)).toBe('Cheapest: the routing rules\' mix (rules.yaml), duplicates and cache hits left out, hybrid, at most $0.0002 (the file as it is, realtime: $0.0244); the provider\'s prompt cache up to $0.0003 more.');
  });

  it('lists the first rejects as run --strict does, and the count by reason', () => {
    expect(rejectLines(report, (r) => `in.jsonl:${r.line}: ${r.message}`)).toEqual(['in.jsonl:4: the line is empty', '1 invalid line: empty_line 1. They are left out of every figure, as a run leaves them out.']);
  });

  it('prints the sample\'s measurement and total with its interval, or says nothing was measured', () => {
    const sample = { measured: 20, meanInputTokens: 61.4, meanOutputTokens: 57.6, meanCostUsd: 0.00004, totalUsd: { estimate: 0.1081, low: 0.1005, high: 0.1157 } };
    expect(sampleLines({ runId: 'run-1', mode: 'batch', spentUsd: 0.0023, sample }, 120)).toEqual([
      'Sample: 20 items measured through the provider (run run-1, $0.0023 spent): 61 prompt / 58 output tokens on average (max_tokens allows 120).',
      'Total for the file, batch: ≈ $0.1081 (90% interval $0.1005–$0.1157).',
    ]);
    expect(sampleLines({ runId: 'run-1', mode: 'realtime', spentUsd: 0, sample: { ...sample, measured: 0 } }, 120)[0]).toContain('no sampled item succeeded');
  });
});
