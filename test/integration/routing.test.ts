// Model routing (--route) end to end, against a real Temporal dev server and the emulator
// over HTTP: each feature goes to its rule's model (as the emulator saw it), a canary takes
// its share of 5,000 items, a classifier rule's rating calls are made once per item and
// counted in spend, and the budget's fallback switch replaces whatever the rules chose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { buildChatCompletion } from '../../src/emulator/chat.ts';
import type { EmulatorStats } from '../../src/emulator/stats.ts';
import { canaryBucket } from '../../src/domain/route-rules.ts';
import { classifierRequest } from '../../src/domain/route-classifier.ts';
import { costOfUsage } from '../../src/domain/pricing.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { parseRouteRules } from '../../src/input/route-file.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { usageOf } from '../../src/llm/provider.ts';
import { SqliteItemStore, storePath } from '../../src/store/sqlite.ts';
import { readRouteSpend } from '../../src/cli/route-spend.ts';
import { client, readJsonl, runConfig, runToEnd, startWorker, tempDir } from '../support/harness.ts';

type OutLine = {
  custom_id: string;
  response: { status_code: number; body: { model: string; usage: Record<string, unknown> } } | null;
  llm_batch?: { route: { model: string; rule: string | null; reason: string; classifier?: { model: string; cost_usd: number } } };
};

const FEATURES = ['summary', 'reply-draft', 'triage', undefined] as const;
const PROBLEMS = ['the export button fails with error', 'billing charged us twice for invoice', 'the mobile app logs me out after', 'search returns nothing for order', 'the API is slow since release'];

/** n ticket lines, features in turn (every fourth has none), all on gpt-4o-mini, max_tokens 40. */
function writeTickets(dir: string, name: string, n: number): { path: string; lines: { customId: string; feature?: string; text: string }[] } {
  const lines = Array.from({ length: n }, (_, i) => ({ customId: `ticket-${String(i + 1).padStart(5, '0')}`, feature: FEATURES[i % 4], text: `Ticket ${i + 1}: ${PROBLEMS[i % 5]} ${1000 + ((i * 37) % 900)}. What should I check first?` }));
  const path = join(dir, name);
  writeFileSync(path, `${lines.map((l) => JSON.stringify({
    custom_id: l.customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are a support engineer.' }, { role: 'user', content: l.text }], max_tokens: 40 },
    ...(l.feature ? { metadata: { feature: l.feature } } : {}),
  })).join('\n')}\n`);
  return { path, lines };
}

/** What the emulator served, priced per model from its own token counts. */
function pricedByEmulator(stats: EmulatorStats): number {
  const pricing = loadDefaultPricing();
  return Object.entries(stats.byModel).reduce((usd, [model, m]) => usd + costOfUsage(pricing, model, { promptTokens: m.promptTokens, cachedTokens: m.cachedTokens, completionTokens: m.completionTokens, reasoningTokens: 0 }), 0);
}

const servedBy = (stats: EmulatorStats): Record<string, number> => Object.fromEntries(Object.entries(stats.byModel).map(([m, s]) => [m, s.served]));

describe('model routing', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const home = tempDir();
  const taskQueue = `routing-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await emu?.close();
  });

  it('sends each feature to its model and a 10% canary to another, on 5,000 items; the store and output record rule and reason', async () => {
    emu.resetStats();
    const { path, lines } = writeTickets(home, 'five-thousand.jsonl', 5000);
    const rules = parseRouteRules(`
rules:
  - name: canary
    match: { percent: 10 }
    model: gpt-4.1-nano
  - name: summary
    match: { feature: summary }
    model: gpt-4.1-mini
  - name: replies
    match: { feature: reply-draft }
    model: gpt-4.1
  - name: triage
    match: { feature: triage }
    model: gpt-4o
`, 'routes.yaml');
    const runId = `route5k-${Date.now()}`;
    const t0 = Date.now();
    const status = await runToEnd(c, runConfig({ runId, inputPath: path, concurrency: 64, chunkSize: 1000, routeRules: rules }), taskQueue);
    const wallS = (Date.now() - t0) / 1000;
    expect(status.state).toBe('completed');
    expect(status.counts.succeeded).toBe(5000);

    // What each item should have got, from the file alone: its feature's model, unless in the canary.
    const featureModel: Record<string, string> = { summary: 'gpt-4.1-mini', 'reply-draft': 'gpt-4.1', triage: 'gpt-4o' };
    const out = readJsonl<OutLine>(status.outputPath!);
    expect(out.map((l) => l.custom_id)).toEqual(lines.map((l) => l.customId));
    let canary = 0;
    const expected: Record<string, number> = {};
    for (const [i, l] of out.entries()) {
      const route = l.llm_batch!.route;
      const model = l.response!.body.model;
      expect(route.model).toBe(model);
      if (route.rule === 'canary') {
        canary++;
        expect(model).toBe('gpt-4.1-nano');
        expect(route.reason).toMatch(/^canary 10% \(bucket \d\.\d\d\)$/);
      } else {
        const feature = lines[i]!.feature;
        expect(model).toBe(feature ? featureModel[feature] : 'gpt-4o-mini');
        expect(route).toEqual(feature ? { model, rule: { summary: 'summary', 'reply-draft': 'replies', triage: 'triage' }[feature], reason: `feature=${feature}` } : { model, rule: null, reason: "no rule matched: the line's own model" });
      }
      expected[model] = (expected[model] ?? 0) + 1;
    }
    // The canary's share is its setting, ±2 points (measured: see the log line).
    const share = (canary / 5000) * 100;
    console.log(`routing: canary share ${share.toFixed(2)}% of 5,000 (setting 10%); ${wallS.toFixed(1)} s for the run`);
    expect(Math.abs(share - 10)).toBeLessThanOrEqual(2);
    // Reruns route the same: the canary is the items whose bucket for (custom_id, "canary") is below 10.
    expect(out.filter((l) => l.llm_batch!.route.rule === 'canary').map((l) => l.custom_id)).toEqual(lines.filter((l) => canaryBucket(l.customId, 'canary') < 10).map((l) => l.customId));
    // The emulator saw exactly those models, once per item.
    const stats = emu.stats();
    expect(servedBy(stats)).toEqual(expected);
    expect(stats.duplicateCalls).toBe(0);
    // Spend is the emulator's own token counts priced per model.
    expect(status.costUsd.spent).toBeCloseTo(pricedByEmulator(stats), 9);

    // The store holds model, rule and reason per item, and `status` sums them by model and rule.
    const store = new SqliteItemStore(storePath(home));
    try {
      const items = [];
      for await (const it of store.items(runId)) items.push(it);
      expect(items.filter((it) => it.routing?.rule === 'canary').length).toBe(canary);
      expect(items.every((it) => it.routing !== undefined && it.routing.reason.length > 0)).toBe(true);
    } finally {
      await store.close();
    }
    process.env.LLM_BATCH_HOME = home;
    const spend = (await readRouteSpend(runId))!;
    expect(spend.routed).toBe(true);
    expect(Object.fromEntries(spend.byModel.map((m) => [m.model, m.items]))).toEqual(expected);
    expect(spend.byRule.find((r) => r.rule === 'canary')).toMatchObject({ items: canary, models: { 'gpt-4.1-nano': canary } });
    expect(spend.byRule.reduce((n, r) => n + r.costUsd, 0)).toBeCloseTo(status.costUsd.spent, 9);
  }, 600_000);

  it('a classifier rule rates each item once with the cheap model, routes it on the answer, and its calls are counted in spend', async () => {
    emu.resetStats();
    const { path, lines } = writeTickets(home, 'classify.jsonl', 400);
    const rules = parseRouteRules(`
rules:
  - name: triage
    match: { feature: triage }
    classifier:
      model: gpt-4.1-nano
      answers: { simple: gpt-4.1-mini, complex: gpt-4.1 }
  - name: summary
    match: { feature: summary }
    model: gpt-4.1-mini
`, 'routes.yaml');
    const runId = `classify-${Date.now()}`;
    const status = await runToEnd(c, runConfig({ runId, inputPath: path, concurrency: 32, chunkSize: 100, routeRules: rules }), taskQueue);
    expect(status.state).toBe('completed');
    expect(status.counts.succeeded).toBe(400);

    const triage = lines.filter((l) => l.feature === 'triage');
    const pricing = loadDefaultPricing();
    const rule = rules.rules[0]!.classifier!;
    const out = new Map(readJsonl<OutLine>(status.outputPath!).map((l) => [l.custom_id, l]));
    let classifierUsd = 0;
    const labels = new Set<string>();
    for (const t of triage) {
      // The answer the emulator gives the rating call, from its own pure function.
      const rating = buildChatCompletion(classifierRequest(rule, t.text));
      const label = (JSON.parse(rating.choices[0].message.content) as { label: 'simple' | 'complex' }).label;
      labels.add(label);
      const ratingUsd = costOfUsage(pricing, 'gpt-4.1-nano', { promptTokens: rating.usage.prompt_tokens, cachedTokens: 0, completionTokens: rating.usage.completion_tokens, reasoningTokens: 0 });
      classifierUsd += ratingUsd;
      const l = out.get(t.customId)!;
      expect(l.response!.body.model).toBe(rule.answers[label]);
      expect(l.llm_batch!.route).toEqual({ model: rule.answers[label], rule: 'triage', reason: `feature=triage → classifier: ${label}`, classifier: { model: 'gpt-4.1-nano', cost_usd: expect.closeTo(ratingUsd, 12) } });
    }
    console.log(`routing: ${triage.length} triage items rated, rating calls $${classifierUsd.toFixed(6)} of $${status.costUsd.spent.toFixed(6)} spent`);
    expect([...labels].sort()).toEqual(['complex', 'simple']);
    // One rating call per triage item, under its own request id, none twice.
    const stats = emu.stats();
    const ratingIds = emu.requests().filter((r) => r.id?.endsWith('#classify')).map((r) => r.id!);
    expect(new Set(ratingIds)).toEqual(new Set(triage.map((t) => `${t.customId}#classify`)));
    expect(stats.byModel['gpt-4.1-nano']!.served).toBe(triage.length);
    expect(stats.duplicateCalls).toBe(0);
    expect(stats.served).toBe(400 + triage.length);
    // Spend = the chat calls + the rating calls, each priced from its usage; the emulator's counts agree.
    const chatUsd = [...out.values()].reduce((usd, l) => {
      const u = usageOf(l.response!.body);
      return usd + costOfUsage(pricing, l.response!.body.model, { promptTokens: u.prompt, cachedTokens: u.cached, completionTokens: u.completion, reasoningTokens: u.reasoning });
    }, 0);
    expect(status.costUsd.spent).toBeCloseTo(chatUsd + classifierUsd, 9);
    expect(status.costUsd.spent).toBeCloseTo(pricedByEmulator(stats), 9);
    expect(status.tokens.prompt).toBe(stats.promptTokens - stats.byModel['gpt-4.1-nano']!.promptTokens);
    process.env.LLM_BATCH_HOME = home;
    const spend = (await readRouteSpend(runId))!;
    expect(spend.byRule.find((r) => r.rule === 'triage')!.classifierCostUsd).toBeCloseTo(classifierUsd, 9);
    expect(spend.byModel.find((m) => m.model === 'gpt-4.1-nano')).toMatchObject({ classifierCalls: triage.length });
  }, 300_000);

  it('hybrid: a rule\'s route decides the path, a classifier rule\'s items go realtime to be rated, the rest by urgency', async () => {
    emu.resetStats();
    emu.configure({ batchValidatingMs: 100, batchInProgressMs: 500, batchFinalizingMs: 100 });
    const { path, lines } = writeTickets(home, 'hybrid.jsonl', 80);
    const rules = parseRouteRules(`
rules:
  - name: summary
    match: { feature: summary }
    model: gpt-4.1-mini
    route: batch
  - name: replies
    match: { feature: reply-draft }
    route: realtime
  - name: triage
    match: { feature: triage }
    classifier: { model: gpt-4.1-nano, answers: { simple: gpt-4.1-mini, complex: gpt-4.1 } }
`, 'routes.yaml');
    const runId = `hybrid-${Date.now()}`;
    const status = await runToEnd(c, runConfig({ runId, inputPath: path, mode: 'hybrid', urgentIf: 'custom_id^=ticket-0000', batchPollInitialMs: 200, batchPollMaxMs: 1000, routeRules: rules }), taskQueue);
    expect(status.state).toBe('completed');
    expect(status.counts.succeeded).toBe(80);
    const store = new SqliteItemStore(storePath(home));
    try {
      for await (const it of store.items(runId)) {
        const line = lines[it.seq]!;
        // A matched rule's route wins over --urgent-if (ticket-00001…9 are "urgent").
        const expected = line.feature === 'summary' ? 'batch' : line.feature === 'reply-draft' || line.feature === 'triage' ? 'realtime' : line.customId.startsWith('ticket-0000') ? 'realtime' : 'batch';
        expect([it.customId, it.mode]).toEqual([line.customId, expected]);
        if (line.feature === 'summary') expect(it.model).toBe('gpt-4.1-mini');
        if (line.feature === 'triage') expect(it.routing!.reason).toMatch(/^feature=triage → classifier: (simple|complex)$/);
      }
    } finally {
      await store.close();
    }
    expect(emu.stats().byModel['gpt-4.1-nano']!.served).toBe(lines.filter((l) => l.feature === 'triage').length);
    expect(status.paths!.batch.items).toBe(lines.filter((l) => l.feature === 'summary' || (l.feature === undefined && !l.customId.startsWith('ticket-0000'))).length);
  }, 300_000);

  it("the budget's fallback switch replaces whatever the rules chose, classifier included", async () => {
    emu.resetStats();
    emu.configure({ latencyMs: 20 });
    try {
      const { path, lines } = writeTickets(home, 'fallback.jsonl', 400);
      const rules = parseRouteRules(`
rules:
  - name: triage
    match: { feature: triage }
    classifier: { model: gpt-4.1-nano, answers: { simple: gpt-4.1, complex: gpt-4o } }
  - name: expensive
    model: gpt-4.1
`, 'routes.yaml');
      const runId = `fallback-${Date.now()}`;
      // About $0.15 of work on gpt-4.1/gpt-4o; yellow at 25% of $0.3, then the rest on gpt-4o-mini.
      const status = (await runToEnd(c, runConfig({ runId, inputPath: path, concurrency: 8, chunkSize: 50, maxChunksInFlight: 2, routeRules: rules, budgetUsd: 0.3, budgetWarnAt: 0.25, fallbackModel: 'gpt-4o-mini' }), taskQueue)) as RunStatus;
      expect(status.state).toBe('completed');
      expect(status.modelSwitch).toMatchObject({ to: 'gpt-4o-mini' });
      const out = readJsonl<OutLine>(status.outputPath!);
      const models = out.map((l) => l.response!.body.model);
      // Before the switch the rules' models; after it the fallback, whatever the rule said.
      expect(models.slice(0, 40)).not.toContain('gpt-4o-mini');
      expect(models.slice(-100).every((m) => m === 'gpt-4o-mini')).toBe(true);
      for (const [i, l] of out.entries()) {
        const route = l.llm_batch!.route;
        expect(route.model).toBe(models[i]);
        expect(route.rule).toBe(lines[i]!.feature === 'triage' ? 'triage' : 'expensive');
      }
      // Triage items dispatched after the switch were not rated: the fallback decides for them.
      const skipped = out.filter((l) => l.llm_batch!.route.reason.includes('classifier skipped'));
      console.log(`routing: fallback switched at $${status.modelSwitch!.spentUsd}; ${models.filter((m) => m === 'gpt-4o-mini').length} of 400 items on the fallback, ${skipped.length} ratings skipped; spent $${status.costUsd.spent.toFixed(6)}`);
      expect(skipped.length).toBeGreaterThan(0);
      for (const l of skipped) {
        expect(l.llm_batch!.route.reason).toBe("feature=triage → classifier skipped: the budget's fallback model gpt-4o-mini is in force");
        expect(l.response!.body.model).toBe('gpt-4o-mini');
      }
      const stats = emu.stats();
      expect(stats.byModel['gpt-4.1-nano']!.served).toBe(lines.filter((l) => l.feature === 'triage').length - skipped.length);
      expect(status.costUsd.spent).toBeCloseTo(pricedByEmulator(stats), 9);
      expect(status.costUsd.spent).toBeLessThanOrEqual(0.3);
    } finally {
      emu.configure({ latencyMs: 0 });
    }
  }, 300_000);
});
