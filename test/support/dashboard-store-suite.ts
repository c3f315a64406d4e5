// The dashboard's queries (store/dashboard-sql.ts) and the spend rollup behind them
// (store/spend-rollup.ts), in both stores: the rollup must equal what the items say, whatever
// path wrote the results (small batches, large ones through the writer thread or COPY), and
// an item whose result changes moves its contribution instead of adding it twice.
import { describe, expect, it } from 'vitest';
import type { ItemStore } from '../../src/store/item-store.ts';
import { DashboardData } from '../../src/dashboard/queries.ts';
import { failure, item, success } from './item-store-suite.ts';

const r9 = (v: number): number => Math.round(v * 1e9) / 1e9;

export function dashboardStoreSuite(store: () => ItemStore): void {
  describe('dashboard', () => {
    it('spend by feature, model and mode equals the items; a failure later succeeding moves, not doubles', async () => {
      const s = store();
      const staged = Array.from({ length: 400 }, (_, i) => ({ ...item(i), feature: i % 2 === 0 ? 'support' : 'search' }));
      await s.recordRun({ runId: 'r', mode: 'realtime', budgetUsd: 300, budgetWarnAt: 0.8 });
      await s.stageItems('r', staged);
      // 350 results in one call (the writer thread / COPY path), then small ones.
      await s.recordResults('r', Array.from({ length: 350 }, (_, i) => success(`c${i}`, { costUsd: 0.5, latencyMs: 100 + i, rateLimited: i % 10 === 0 ? 2 : 0 })));
      await s.recordResults('r', [failure('c350'), failure('c351', { error: { code: 'invalid_request', message: 'bad', status: 400 }, statusCode: 400 })]);
      await s.recordResults('r', [success('c350', { costUsd: 0.25, mode: 'batch', model: 'gpt-4.1-mini' })]);
      await s.recordResults('r', [success('c352', { mode: 'cache', costUsd: 0, savedUsd: 0.5, cacheMarker: '{"cache":"semantic","similarity":0.97}' })]);
      await s.recordResults('r', [success('c353', { mode: 'cache', costUsd: 0, savedUsd: 0.5, cacheMarker: '{"cache":"exact"}' })]);

      const data = new DashboardData(s, 0.5);
      const o = await data.overview();
      const t = await s.totals('r');
      const sum = (rows: { costUsd: number }[]): number => r9(rows.reduce((a, r) => a + r.costUsd, 0));
      expect(sum(o.byFeature)).toBe(r9(t.costUsd));
      expect(sum(o.byModel)).toBe(r9(t.costUsd));
      expect(o.byFeature.map((r) => [r.key, r.succeeded, r.failed, r9(r.costUsd)])).toEqual([['search', 176, 1, 87.5], ['support', 177, 0, 87.75]]);
      expect(o.byMode.map((r) => [r.key, r.succeeded, r9(r.costUsd), r9(r.savedUsd)])).toEqual([['batch', 1, 0.25, 0], ['cache', 2, 0, 1], ['realtime', 350, 175, 0]]);
      expect(o.byModel.map((r) => r.key)).toEqual(['gpt-4.1-mini', 'gpt-4o-mini']);
      expect(o.byDay).toHaveLength(1);
      expect(o.byDay[0]!.key).toBe(new Date().toISOString().slice(0, 10));
      expect(o.levers.map((l) => [l.lever, r9(l.savedUsd)])).toEqual([['exact cache', 0.5], ['semantic cache', 0.5], ['Batch API', 0.25]]);

      expect(o.runs).toHaveLength(1);
      const run = o.runs[0]!;
      expect(run).toMatchObject({ runId: 'r', mode: 'realtime', items: 400, succeeded: 353, failed: 1, done: 354, pending: 46, state: 'running', budgetUsd: 300, yellowUsd: 240, redUsd: 300, budgetState: 'green' });
      expect(r9(run.costUsd)).toBe(r9(t.costUsd));
      expect(r9(run.allRealtimeUsd)).toBe(r9(t.costUsd + 0.25));

      const page = (await data.run('r'))!;
      const points = page.curve;
      expect(r9(points[points.length - 1]!.cumulativeUsd)).toBe(r9(t.costUsd));
      expect(points.reduce((a, p) => a + p.rateLimited, 0)).toBe(70);
      const latencies = points.filter((p) => p.meanLatencyMs !== null);
      expect(latencies.length).toBeGreaterThan(0);
      expect(page.errors).toEqual([{ code: 'invalid_request', items: 1 }]);
      expect(await data.errorExamples('r', 'invalid_request')).toEqual([{ customId: 'c351', statusCode: 400, message: 'bad' }]);
      expect(await data.run('nope')).toBeUndefined();

      await s.deleteRun('r');
      const after = await data.overview();
      expect(after.runs).toEqual([]);
      expect(after.byFeature).toEqual([]);
    });
  });
}
