// The semantic cache's pure pieces around a run: the threshold as the user gives it, the hit
// marker (and the prefix the stores count semantic hits by), the option's checks and its
// place in the RunConfig, and semantic hits carried into the run's status.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEMANTIC_THRESHOLD, parseSemanticThreshold } from '../../src/domain/semantic-threshold.ts';
import { SEMANTIC_MARKER_PREFIX, semanticHitMarker } from '../../src/domain/semantic-marker.ts';
import { TOTALS_COLUMNS } from '../../src/store/selection-sql.ts';
import { checkSemanticOptions, semanticThreshold } from '../../src/cli/semantic-option.ts';
import { runConfigFrom, type RunOptions } from '../../src/cli/run.ts';
import { CliError } from '../../src/cli/options.ts';
import { addDelta, fillStatus, currentDetails, type RunProgress } from '../../src/workflows/run-status.ts';
import { DEFAULTS } from '../../src/client.ts';
import type { ItemTotals, RunConfig, RunStatus } from '../../src/domain/run-types.ts';

describe('parseSemanticThreshold', () => {
  it('takes a cosine similarity in (0, 1], or "default"', () => {
    expect(parseSemanticThreshold('0.9')).toBe(0.9);
    expect(parseSemanticThreshold(' .95 ')).toBe(0.95);
    expect(parseSemanticThreshold('1')).toBe(1);
    expect(parseSemanticThreshold('1.0')).toBe(1);
    expect(parseSemanticThreshold('default')).toBe(DEFAULT_SEMANTIC_THRESHOLD);
    expect(parseSemanticThreshold('DEFAULT')).toBe(0.92);
  });

  it('refuses anything else: 0, above 1, negatives, words, blanks, exponents', () => {
    for (const s of ['0', '0.0', '1.01', '2', '-0.5', 'high', '', ' ', '9e-1', '0.9.1', 'NaN', 'Infinity']) expect(parseSemanticThreshold(s), s).toBeUndefined();
  });

  it('commander\'s parser says what it expected', () => {
    expect(semanticThreshold('0.93')).toBe(0.93);
    expect(() => semanticThreshold('1.5')).toThrow('expected a cosine similarity in (0, 1], such as 0.92, or "default" (0.92), got "1.5".');
  });
});

describe('semanticHitMarker', () => {
  const hit = { similarity: 0.9512345678, text: 'the app logs me out, Lena', matchedText: 'The app logs me out. Lena' };

  it('carries both texts, the similarity, the source and the saving, rounded', () => {
    expect(semanticHitMarker(hit, 'run-a', 'c7', 0.1 + 0.2)).toEqual({
      cache: 'semantic', similarity: 0.951235, text: hit.text, matched_text: hit.matchedText, from_run: 'run-a', from_custom_id: 'c7', saved_usd: 0.3,
    });
    // A vector's similarity to itself may come out a hair above 1.
    expect(semanticHitMarker({ ...hit, similarity: 1.0000001 }, 'r', 'c', 0).similarity).toBe(1);
  });

  it('serialises with the prefix the stores count semantic hits by', () => {
    const json = JSON.stringify(semanticHitMarker(hit, 'r', 'c', 0.001));
    expect(json.startsWith(SEMANTIC_MARKER_PREFIX)).toBe(true);
    expect(TOTALS_COLUMNS).toContain(`LIKE '${SEMANTIC_MARKER_PREFIX}%'`);
  });
});

describe('--semantic-cache with the other options', () => {
  const base: RunOptions = {
    concurrency: 8, chunkSize: 100, maxChunksInFlight: 2, maxAttempts: 3, requestTimeout: 60_000, heartbeatTimeout: 30_000, continueAsNewAfter: 5000, cache: 'read-write',
  };
  const refused = (opts: Parameters<typeof checkSemanticOptions>[0]): string => {
    try {
      checkSemanticOptions(opts);
    } catch (e) {
      expect(e).toBeInstanceOf(CliError);
      expect((e as CliError).exitCode).toBe(2);
      return (e as Error).message;
    }
    throw new Error('not refused');
  };

  it('goes into the RunConfig, with the embedding model when given; absent, the run has neither', () => {
    expect(runConfigFrom('/in.jsonl', { ...base, semanticCache: 0.9 })).toMatchObject({ semanticThreshold: 0.9, cache: 'read-write' });
    expect(runConfigFrom('/in.jsonl', { ...base, semanticCache: 0.9, embeddingModel: 'text-embedding-3-large' })).toMatchObject({ semanticThreshold: 0.9, embeddingModel: 'text-embedding-3-large' });
    const off = runConfigFrom('/in.jsonl', base);
    expect(off.semanticThreshold).toBeUndefined();
    expect(off.embeddingModel).toBeUndefined();
    // Hybrid runs use it on their realtime items; read and write modes keep answers too.
    for (const o of [{ mode: 'hybrid' as const }, { cache: 'read' as const }, { cache: 'write' as const }]) expect(() => checkSemanticOptions({ semanticCache: 0.92, ...o })).not.toThrow();
  });

  it('refuses --cache off, --mode batch, an unpriced embedding model, and --embedding-model alone', () => {
    expect(refused({ semanticCache: 0.92, cache: 'off' })).toContain('cannot run with --cache off');
    expect(refused({ semanticCache: 0.92, mode: 'batch' })).toContain('a --mode batch run makes none');
    expect(refused({ semanticCache: 0.92, embeddingModel: 'my-embedder' })).toContain('--embedding-model my-embedder: the pricing table has no price for it');
    expect(refused({ embeddingModel: 'text-embedding-3-large' })).toContain('add --semantic-cache THRESHOLD');
    expect(() => runConfigFrom('/in.jsonl', { ...base, cache: 'off', semanticCache: 0.92 })).toThrow(CliError);
  });
});

describe('semantic hits in the run status', () => {
  const zero = { prompt: 0, cached: 0, completion: 0, reasoning: 0 };
  const totals = (hits: number, semanticHits: number | undefined, saved: number): ItemTotals => ({
    items: 10, succeeded: 10, failed: 0, pending: 0, tokens: { ...zero, prompt: 100 }, costUsd: 0.01,
    cache: { hits, savedUsd: saved, ...(semanticHits !== undefined ? { semanticHits } : {}) },
  });
  const progress = (): RunProgress => ({
    stage: { lines: 20, accepted: 20, rejected: 0, seqEnd: 20, rejectsPath: '/r', promptTokens: 400, maxOutputTokens: 100, estimateUsd: 1, models: ['gpt-4o-mini'] },
    phase: 'chunks', nextChunk: 0, requeued: [], chunksDone: 0, succeeded: 0, failed: 0, costUsd: 0,
    tokens: { ...zero }, measured: { items: 0, completionTokens: 0 }, startedAt: '2026-01-10T12:00:00Z',
    circuit: { state: 'closed', openings: 0, probes: 0, epoch: 0 } as RunProgress['circuit'],
    operator: { paused: false, cancelled: false, approved: false, rejected: false, probeRequested: false }, alerted: { yellow: false, red: false },
    nextBatch: 0, batch: { succeeded: 0, failed: 0, costUsd: 0 }, deadlinePassed: false,
  });
  const before = { succeeded: 0, failed: 0, costUsd: 0, tokens: { ...zero } };
  const config = { ...DEFAULTS, runId: 'r', inputPath: 'in.jsonl', mode: 'realtime' } as RunConfig;

  it('adds each dispatch\'s semantic hits (after minus before) to the hits, and shows them apart', () => {
    const p = progress();
    addDelta(p, totals(4, 3, 0.004), before);
    // A dispatch retried: its totals before already held one semantic hit.
    addDelta(p, totals(5, 2, 0.005), { ...totals(1, 1, 0.001), succeeded: 1 });
    expect(p.cache).toEqual({ hits: 8, semanticHits: 4, savedUsd: 0.008 });
    // Hits produced no output of their own: the measured mean leaves them out.
    expect(p.measured.items).toBe(10 - 4 + 9 - 4);
    const s = { state: 'running' } as RunStatus;
    fillStatus(s, p, config, 0, [], [], 2, '2026-01-10T12:00:01Z');
    expect(s.cache).toEqual({ hits: 8, semanticHits: 4, savedUsd: 0.008 });
    expect(currentDetails(s)).toContain('8 cache hits, 4 semantic (saved $0.0080)');
  });

  it('a run without semantic hits shows none (the status reads as before)', () => {
    const p = progress();
    addDelta(p, totals(4, undefined, 0.004), before);
    const s = { state: 'running' } as RunStatus;
    fillStatus(s, p, config, 0, [], [], 2, '2026-01-10T12:00:01Z');
    expect(s.cache).toEqual({ hits: 4, savedUsd: 0.004 });
    expect(currentDetails(s)).toContain('4 cache hits (saved $0.0040)');
  });
});
