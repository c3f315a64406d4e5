import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import bundled from '../../pricing/pricing.json' with { type: 'json' };
import {
  UnknownModelError,
  costOfUsage,
  estimateCostUsd,
  parsePricingTable,
  priceFor,
} from '../../src/domain/pricing.ts';
import { loadDefaultPricing, loadPricing, loadPricingFile } from '../../src/llm/pricing-file.ts';

const table = loadDefaultPricing();

describe('pricing table', () => {
  it('loads and validates the bundled file', () => {
    expect(table.version).toBe('2026-11-01');
    expect(table.batchDiscount).toBe(0.5);
    expect(priceFor(table, 'gpt-4o')).toEqual({ inputPerMTok: 2.5, cachedInputPerMTok: 1.25, outputPerMTok: 10 });
    expect(Object.keys(table.models)).toHaveLength(13);
    expect(bundled.version).toBe(table.version);
  });

  it('names the source and the field of an invalid table', () => {
    const bad = structuredClone(bundled) as any;
    bad.models['gpt-4o'].outputPerMTok = 'ten';
    expect(() => parsePricingTable(bad, 'my-prices.json')).toThrow(/my-prices\.json.*models\.gpt-4o\.outputPerMTok/);
    expect(() => parsePricingTable({ ...bundled, models: {} }, 'x.json')).toThrow(/x\.json.*models/);
    expect(() => parsePricingTable({ ...bundled, batchDiscount: 0 }, 'x.json')).toThrow(/batchDiscount/);
  });

  it('loads a --pricing FILE and reports unreadable or malformed ones by path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pricing-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ ...bundled, version: 'custom', models: { 'my-model': { inputPerMTok: 1, outputPerMTok: 2 } } }));
    expect(loadPricing(good).version).toBe('custom');
    expect(loadPricing().version).toBe('2026-11-01');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ nope');
    expect(() => loadPricingFile(broken)).toThrow(`${broken}: pricing file is not valid JSON`);
    expect(() => loadPricingFile(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read/);
  });
});

describe('priceFor', () => {
  it('matches dated snapshots to the longest known name', () => {
    expect(priceFor(table, 'gpt-4o-mini-2024-07-18').inputPerMTok).toBe(0.15);
    expect(priceFor(table, 'gpt-4o-2024-08-06').inputPerMTok).toBe(2.5);
    expect(priceFor(table, 'gpt-4.1-nano-2025-04-14').inputPerMTok).toBe(0.1);
    expect(priceFor(table, 'gpt-3.5-turbo-0125').inputPerMTok).toBe(0.5);
  });

  it('refuses unknown models, and variants that would be underpriced, with a fix', () => {
    for (const m of ['claude-3', 'gpt-5-pro', 'o3-pro', 'gpt-4o-minix', 'gpt-4']) {
      expect(() => priceFor(table, m)).toThrow(UnknownModelError);
    }
    expect(() => priceFor(table, 'gpt-5-pro')).toThrow(/--pricing FILE/);
    expect(() => priceFor(table, 'toString')).toThrow(UnknownModelError);
  });
});

describe('costOfUsage', () => {
  it('prices uncached, cached and completion tokens separately', () => {
    // gpt-4o-mini: 0.15 in, 0.075 cached, 0.6 out per MTok
    const usd = costOfUsage(table, 'gpt-4o-mini', {
      promptTokens: 1_000_000,
      cachedTokens: 400_000,
      completionTokens: 100_000,
      reasoningTokens: 0,
    });
    expect(usd).toBeCloseTo(0.6 * 0.15 + 0.4 * 0.075 + 0.1 * 0.6, 12);
  });

  it('does not count reasoning tokens twice', () => {
    const base = { promptTokens: 1000, cachedTokens: 0, completionTokens: 5000 };
    const a = costOfUsage(table, 'o3', { ...base, reasoningTokens: 0 });
    const b = costOfUsage(table, 'o3', { ...base, reasoningTokens: 4000 });
    expect(b).toBe(a);
    expect(a).toBeCloseTo((1000 * 2 + 5000 * 8) / 1e6, 12);
  });

  it('uses the input price for cached tokens when there is no cached price', () => {
    const usage = { promptTokens: 2_000_000, cachedTokens: 1_000_000, completionTokens: 0, reasoningTokens: 0 };
    expect(costOfUsage(table, 'gpt-3.5-turbo', usage)).toBeCloseTo(1.0, 12);
  });

  it('applies the batch discount', () => {
    const usage = { promptTokens: 1000, cachedTokens: 0, completionTokens: 1000, reasoningTokens: 0 };
    const realtime = costOfUsage(table, 'gpt-5', usage);
    expect(realtime).toBeCloseTo((1000 * 1.25 + 1000 * 10) / 1e6, 12);
    expect(costOfUsage(table, 'gpt-5', usage, { batch: true })).toBeCloseTo(realtime / 2, 12);
  });

  it('never charges cached tokens beyond the prompt', () => {
    const usd = costOfUsage(table, 'gpt-4o', { promptTokens: 100, cachedTokens: 500, completionTokens: 0, reasoningTokens: 0 });
    expect(usd).toBeCloseTo((100 * 1.25) / 1e6, 15);
  });
});

describe('estimateCostUsd', () => {
  it('assumes no cache and the full output', () => {
    expect(estimateCostUsd(table, 'gpt-4.1-mini', 10_000, 2_000)).toBeCloseTo((10_000 * 0.4 + 2_000 * 1.6) / 1e6, 12);
    expect(estimateCostUsd(table, 'text-embedding-3-small', 1_000_000, 0, { batch: true })).toBeCloseTo(0.01, 12);
  });
});
