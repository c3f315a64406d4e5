// The spotCheck activity's work alone, on a real SQLite store and the emulator over HTTP
// through the real provider client: one judge call per sampled item, priced exactly as the
// emulator billed it, and a retried checkpoint resuming from its last heartbeat without
// judging (or paying for) an item again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { SqliteItemStore } from '../../src/store/sqlite.ts';
import { createWorkerDeps, type WorkerDeps } from '../../src/worker-deps.ts';
import { runSpotCheck, type SpotCheckBeat } from '../../src/activities/spot-check.ts';
import { checkpointSeed } from '../../src/domain/spot-check.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import type { NewItem } from '../../src/store/item-store.ts';
import { runConfig, tempDir } from '../support/harness.ts';

const N = 40;

describe('the spotCheck activity', () => {
  let emu: RunningEmulator;
  let store: SqliteItemStore;
  let deps: WorkerDeps;
  const home = tempDir('spot-activity-');
  const config = runConfig({
    runId: 'spot-activity', inputPath: '/unused',
    spotCheck: { size: 10, everyItems: 20, judgeModel: 'gpt-4.1-mini', judgePrompt: 'Pass answers that address the question.', minPassRate: 0.95 },
  });
  const input = { config, checkpoint: 1, seed: checkpointSeed(99, 1) };
  const judgeCalls = (): number => emu.requests().filter((r) => r.id?.endsWith('#judge-1')).length;
  const billedUsd = (): number => {
    const m = emu.stats().byModel['gpt-4.1-mini']!;
    return costOfUsage(loadDefaultPricing(), 'gpt-4.1-mini', { promptTokens: m.promptTokens, cachedTokens: m.cachedTokens, completionTokens: m.completionTokens, reasoningTokens: 0 });
  };

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, booleanFalseRate: 0.3 });
    store = new SqliteItemStore(join(home, 'items.sqlite'));
    deps = createWorkerDeps(store, home, { baseURL: emu.baseUrl });
    const items: NewItem[] = Array.from({ length: N }, (_, i) => ({
      customId: `q-${i}`, seq: i, line: i + 1, url: '/v1/chat/completions', model: 'gpt-4o-mini', promptTokens: 10, maxOutputTokens: 50,
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Question ${i}: how do I reset my password?` }] },
    }));
    await store.stageItems(config.runId, items);
    await store.recordResults(config.runId, items.map((it, i) => ({
      customId: it.customId, status: 'succeeded' as const, attempts: 1, model: 'gpt-4o-mini', mode: 'realtime', statusCode: 200,
      response: { choices: [{ index: 0, message: { role: 'assistant', content: `Answer ${i}: use the reset link.` }, finish_reason: 'stop' }] },
    })));
  });
  afterAll(async () => {
    deps?.close();
    await store?.close();
    await emu?.close();
  });

  it('judges each sampled item once, priced as billed; a retry resumes from its last heartbeat', async () => {
    const beats: SpotCheckBeat[] = [];
    const first = await runSpotCheck(deps, input, { heartbeat: (b) => beats.push(structuredClone(b)) });
    expect(first.checked).toBe(10);
    expect(first.judgeCalls).toBe(10);
    expect(judgeCalls()).toBe(10);
    expect(first.failures.length).toBe(10 - first.passed);
    expect(first.passed).toBeLessThan(10);
    for (const f of first.failures) expect(f.reason).toMatch(/^judge: /);
    expect(first.judgeCostUsd).toBeCloseTo(billedUsd(), 12);
    expect(beats.at(-1)!.judgeCostUsd).toBeCloseTo(first.judgeCostUsd, 12);

    // The same checkpoint again, as a retried activity after a heartbeat part way.
    const mid = beats.find((b) => Object.keys(b.verdicts).length >= 4 && Object.keys(b.verdicts).length < 10)!;
    const resumedWith = Object.keys(mid.verdicts).length;
    const billedBefore = billedUsd();
    const again = await runSpotCheck(deps, input, { resumed: mid, heartbeat: () => {} });
    // Only the items not yet judged were sent: same verdicts, and the spend counts each call once.
    expect(judgeCalls()).toBe(10 + (10 - resumedWith));
    expect(again).toMatchObject({ checked: 10, passed: first.passed, failures: first.failures, judgeCalls: 10 });
    expect(again.judgeCostUsd).toBeCloseTo(mid.judgeCostUsd + (billedUsd() - billedBefore), 12);
    expect(again.judgeCostUsd).toBeCloseTo(first.judgeCostUsd, 12);
  });
});
