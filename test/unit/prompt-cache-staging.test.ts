// Staging for the provider's prompt cache (input/prompt-cache-staging.ts through stageInput,
// on a staging thread and on this one): a shuffled file of tasks on long documents is put in
// prefix-group order for dispatch while the export keeps input order, the eligible tokens are
// counted, `--prompt-cache off` keeps input order, and a layout that defeats the cache is a
// warning naming the file and its lines, not a reject.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageInput } from '../../src/input/stage-input.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { DEFAULTS } from '../../src/client.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';
import type { ItemStore } from '../../src/store/item-store.ts';

let dir: string;
let store: ItemStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'prefix-stage-'));
  store = new SqliteItemStore(join(dir, 'items.sqlite'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const line = (id: string, messages: { role: string; content: string }[]) =>
  JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages, max_tokens: 20 } });
const doc = (d: number) => `Document ${d}. ` + `Clause ${d} of the supply contract sets delivery terms, penalties and the notice period. `.repeat(70);
const TASKS = ['Summarise it.', 'List the dates.', 'Who are the parties?'];

/** 4 documents × 3 tasks, in a shuffled order, with a short line between (no group). */
function shuffledDocTasks(): { file: string; ids: string[] } {
  const lines: { id: string; text: string }[] = [];
  for (let d = 0; d < 4; d++) for (const [t, task] of TASKS.entries()) lines.push({ id: `d${d}-t${t}`, text: line(`d${d}-t${t}`, [{ role: 'system', content: 'You read contracts.' }, { role: 'user', content: `${doc(d)}\n\n${task}` }]) });
  const order = [5, 0, 9, 3, 11, 7, 1, 10, 4, 8, 2, 6];
  const shuffled = order.map((i) => lines[i]!);
  shuffled.splice(3, 0, { id: 'short', text: line('short', [{ role: 'user', content: 'Hello?' }]) });
  const file = join(dir, 'docs.jsonl');
  writeFileSync(file, `${shuffled.map((l) => l.text).join('\n')}\n`);
  return { file, ids: shuffled.map((l) => l.id) };
}

const config = (inputPath: string, extra: Partial<RunConfig> = {}): RunConfig => ({ runId: 'r', inputPath, mode: 'realtime', ...DEFAULTS, ...extra });
const stage = (cfg: RunConfig, threads: number) => stageInput({ store, pricingFor: async () => loadDefaultPricing(), runDir: () => dir }, cfg, () => {}, { threads });
const dispatchOrder = async (n: number) => (await store.pendingItems('r', { seqStart: 0, seqEnd: n })).map((p) => p.customId);
const exportOrder = async () => {
  const out: string[] = [];
  for await (const it of store.items('r')) out.push(it.customId);
  return out;
};

describe('staging for the prompt cache', () => {
  for (const threads of [0, 1]) {
    it(`puts a shuffled file in prefix-group order for dispatch; the export keeps input order (threads: ${threads})`, async () => {
      const { file, ids } = shuffledDocTasks();
      const r = await stage(config(file), threads);
      expect(r.promptPrefix).toMatchObject({ groups: 4, groupedItems: 12, ordered: true });
      expect(r.promptPrefix!.eligibleCachedTokens).toBeGreaterThan(4 * 2 * 1024);
      expect(r.warnings).toBeUndefined();
      const order = await dispatchOrder(r.seqEnd);
      // Each document's three tasks are next to each other, documents where they first appear.
      const docs = order.filter((id) => id !== 'short').map((id) => id.slice(0, 2));
      expect(docs).toEqual(['d1', 'd1', 'd1', 'd0', 'd0', 'd0', 'd3', 'd3', 'd3', 'd2', 'd2', 'd2']);
      for (const d of ['d0', 'd1', 'd2', 'd3']) expect(order.filter((id) => id.startsWith(d))).toEqual(ids.filter((id) => id.startsWith(d)));
      expect(await exportOrder()).toEqual(ids);
    });
  }

  it('--prompt-cache off: dispatch in input order', async () => {
    const { file, ids } = shuffledDocTasks();
    const r = await stage(config(file, { promptCache: 'off' }), 0);
    expect(r.promptPrefix).toMatchObject({ groups: 4, ordered: false });
    expect(await dispatchOrder(r.seqEnd)).toEqual(ids);
  });

  it('warns, naming the file and lines, when the per-line part comes before a long shared block; the lines are still staged', async () => {
    const guide = 'Reply in the company voice: courteous, brief, no promises about dates, always cite the order number. '.repeat(60);
    const texts = Array.from({ length: 6 }, (_, i) => line(`q${i}`, [{ role: 'user', content: `Order ${1000 + i}: where is my parcel?` }, { role: 'system', content: guide }]));
    texts.splice(2, 0, line('ok', [{ role: 'user', content: 'hi' }]));
    const file = join(dir, 'bad-layout.jsonl');
    writeFileSync(file, `${texts.join('\n')}\n`);
    const r = await stage(config(file), 1);
    expect(r.accepted).toBe(7);
    expect(r.rejected).toBe(0);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings![0]).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')} lines 1, 2, 4, 5, 6 and 1 more: message 2 \\(system\\) is the same [\\d,]+-token text on 6 lines but comes after content that differs`));
  });
});
