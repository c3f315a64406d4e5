// The semantic cache's rows in every ItemStore (run by item-store-suite.ts against SQLite and
// PostgreSQL): vectors read back bit for bit, one vector per answer and space, entries
// followed by id within their space, pruning by age.
import { describe, expect, it } from 'vitest';
import type { ItemStore, NewSemanticEntry } from '../../src/store/item-store.ts';

const space = { embeddingModel: 'text-embedding-3-small', dimensions: 4 };

export const semanticEntry = (n: number, extra: Partial<NewSemanticEntry> = {}): NewSemanticEntry => ({
  ...space,
  vector: new Float32Array([n, -0.5, 1e-7, 0.1 * n]),
  promptText: `prompt ${n}`,
  exactKey: n.toString(16).padStart(64, '0'),
  model: 'gpt-4o-mini',
  scopeKey: 'scope-a',
  createdAt: 1_700_000_000_000 + n * 1000,
  ...extra,
});

export function semanticStoreSuite(store: () => ItemStore): void {
  describe('semantic cache entries', () => {
    it('keeps vectors bit for bit and text as written; reads a space by id, in pages, from a creation time', async () => {
      const odd = semanticEntry(1, { promptText: 'Thanks, Tomás — "quoted"\n\tline 2 漢字 🙂', vector: new Float32Array([Math.PI, -0, 3.4e38, -1.2e-38]) });
      const ids: number[] = [];
      for (const e of [odd, semanticEntry(2), semanticEntry(3), semanticEntry(4)]) ids.push((await store().semanticPut(e))!);
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
      const all = await store().semanticEntriesSince(space, 0, 10);
      expect(all.map((e) => e.id)).toEqual(ids);
      expect(all[0]).toEqual({ ...odd, id: ids[0] });
      expect(Object.is(all[0]!.vector[1], -0)).toBe(true);
      expect(Array.from(all[1]!.vector)).toEqual(Array.from(new Float32Array([2, -0.5, 1e-7, 0.2])));
      expect((await store().semanticEntriesSince(space, ids[1]!, 1)).map((e) => e.id)).toEqual([ids[2]]);
      expect(await store().semanticEntriesSince(space, ids[3]!, 10)).toEqual([]);
      expect((await store().semanticEntriesSince(space, 0, 10, semanticEntry(3).createdAt)).map((e) => e.promptText)).toEqual(['prompt 3', 'prompt 4']);
    });

    it('holds one vector per answer and space: remembering the same answer again is a no-op', async () => {
      const first = await store().semanticPut(semanticEntry(1));
      expect(first).toBeGreaterThan(0);
      expect(await store().semanticPut(semanticEntry(1, { promptText: 'another wording', vector: new Float32Array([0, 0, 0, 1]) }))).toBeUndefined();
      // The same answer in another space (model or size) is another vector.
      const small = { ...space, dimensions: 2 };
      const other = await store().semanticPut(semanticEntry(1, { ...small, vector: new Float32Array([1, 0]) }));
      expect(other).toBeGreaterThan(first!);
      await store().semanticPut(semanticEntry(5, { embeddingModel: 'text-embedding-3-large' }));
      const entries = await store().semanticEntriesSince(space, 0, 10);
      expect(entries.map((e) => e.promptText)).toEqual(['prompt 1']);
      expect((await store().semanticEntriesSince(small, 0, 10)).map((e) => e.id)).toEqual([other]);
      await expect(store().semanticPut(semanticEntry(6, { dimensions: 3 }))).rejects.toThrow(/4 dimensions stored as 3/);
    });

    it('prunes entries by age and leaves them to deleteRun (they belong to no run)', async () => {
      for (const n of [1, 2, 3]) await store().semanticPut(semanticEntry(n));
      await store().deleteRun('r');
      expect(await store().semanticPrune(semanticEntry(3).createdAt)).toBe(2);
      expect((await store().semanticEntriesSince(space, 0, 10)).map((e) => e.promptText)).toEqual(['prompt 3']);
      expect(await store().semanticPrune(0)).toBe(0);
    });
  });
}
