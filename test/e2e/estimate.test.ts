// `llm-batch estimate` as a user runs it: the example file's JSON report, the tables, the
// usage errors, --help, and --sample against a dev server, a worker and the emulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { getRunStatus } from '../../src/client.ts';
import type { EstimateReport } from '../../src/domain/estimate-report.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { countChatPromptTokens } from '../../src/llm/tokens.ts';
import { chatLine, client, readJsonl, startWorker, tempDir, writeChatInput } from '../support/harness.ts';

const exec = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/llm-batch.js');
const EXAMPLE = 'examples/support-tickets.jsonl';

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

// No Temporal, and a data dir of its own with no item store: no earlier run's cache.
const emptyHome = tempDir();
const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1', LLM_BATCH_HOME: emptyHome, LLM_BATCH_DATABASE_URL: '' };

describe('llm-batch estimate', () => {
  it('--json on the example file: every model × mode with exact counts, the levers, the cheapest option', async () => {
    const r = await cli(['estimate', EXAMPLE, '--json'], unreachable);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as EstimateReport;
    const pricing = loadDefaultPricing();
    expect(report).toMatchObject({ file: EXAMPLE, format: 'batch', lines: 2400, accepted: 2400, rejected: 0, fileModels: ['gpt-4o-mini'], pricing: { version: pricing.version, batchDiscount: 0.5 } });
    const chatModels = Object.keys(pricing.models).filter((m) => !m.includes('embedding'));
    expect(report.models.map((m) => m.model)).toEqual(chatModels);
    // Each row in its model's own tokens: the first line alone, checked by hand, is part of every row's figure.
    const lines = readJsonl<{ body: { messages: { role: string; content: string }[]; max_tokens: number }; metadata?: { priority?: string } }>(join(REPO, EXAMPLE));
    for (const row of report.models) {
      const want = lines.reduce((n, l) => n + countChatPromptTokens(row.model, l.body.messages), 0);
      expect(row.promptTokens, row.model).toBe(want);
      expect(row.maxOutputTokens).toBe(lines.reduce((n, l) => n + l.body.max_tokens, 0));
      expect(row.costUsd.batch).toBeCloseTo(row.costUsd.realtime * 0.5, 12);
      expect(row.costUsd.hybrid).toBeGreaterThan(row.costUsd.batch);
      expect(row.costUsd.hybrid).toBeLessThan(row.costUsd.realtime);
      expect(row.inFile).toBe(row.model === 'gpt-4o-mini');
    }
    expect(report.urgentLines).toBe(lines.filter((l) => l.metadata?.priority === 'urgent').length);
    expect(report.asIs.costUsd).toEqual(report.models.find((m) => m.model === 'gpt-4o-mini')!.costUsd);
    expect(report.levers.duplicates).toMatchObject({ available: true, lines: 0, repeatedBodies: 0 });
    // No item store in this data dir: no hits, and it says so; the example's prompts are all under 1,024 tokens; no --route.
    expect(report.levers.cacheHits).toMatchObject({ available: true, lines: 0, note: expect.stringContaining(`no item store at ${join(emptyHome, 'items.sqlite')}`) });
    expect(report.levers.promptPrefix).toMatchObject({ available: true, lines: 0, promptTokens: 0 });
    expect(report.levers.routing).toEqual({ available: false, reason: 'no routing rules: --route FILE' });
    const all = report.models.flatMap((m) => (['realtime', 'batch', 'hybrid'] as const).map((mode) => ({ model: m.model, mode, usd: m.costUsd[mode] })));
    const min = all.reduce((a, b) => (b.usd < a.usd ? b : a));
    expect(report.cheapest).toMatchObject({ model: min.model, routing: false, mode: min.mode, usd: min.usd, netUsd: min.usd, exactLeversSaveUsd: 0, promptPrefixSaveUsd: null, asIsRealtimeUsd: report.asIs.costUsd.realtime });
  });

  it('prints the models table, the levers table and the cheapest option; --models and --urgent-if shape them', async () => {
    const r = await cli(['estimate', EXAMPLE, '--models', 'gpt-4o-mini,gpt-4.1-nano', '--urgent-if', 'feature=triage'], unreachable);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/prompt tokens\s+│ output ≤\s+│ realtime\s+│ batch\s+│ hybrid/);
    expect(r.stdout).toMatch(/│ gpt-4o-mini \*\s+│ o200k_base/);
    expect(r.stdout).toMatch(/│ gpt-4\.1-nano\s+│ o200k_base/);
    expect(r.stdout).not.toContain('gpt-5');
    expect(r.stdout).toContain('urgent (realtime in hybrid mode, --urgent-if feature=triage)');
    expect(r.stdout).toMatch(/│ exact duplicates in the file\s+│\s+0 │/);
    expect(r.stdout).toMatch(/│ hits in the cache from earlier runs\s+│\s+0 │/);
    expect(r.stdout).toContain('n/a (no routing rules: --route FILE)');
    expect(r.stdout).toContain(`Cache hits: no item store at ${join(emptyHome, 'items.sqlite')}`);
    expect(r.stdout).toMatch(/^Cheapest: gpt-4\.1-nano through the Batch API, at most \$\S+ \(the file as it is, realtime: \$\S+\)\.$/m);
  });

  it('--route: the rules\' model mix per model and rule, its cost against the file\'s own model, in the table and in --json', async () => {
    const [table, json] = await Promise.all([
      cli(['estimate', EXAMPLE, '--models', 'gpt-4o-mini,gpt-4.1-nano', '--route', 'examples/routes.yaml'], unreachable),
      cli(['estimate', EXAMPLE, '--models', 'gpt-4o-mini', '--route', 'examples/routes.yaml', '--json'], unreachable),
    ]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/│ routing rules \(examples\/routes\.yaml\)\s+│ lines\s+│ realtime\s+│ batch\s+│ hybrid\s+│/);
    expect(table.stdout).toMatch(/│ gpt-4o-mini\s+│\s+2,400 → 0 │/);
    expect(table.stdout).toMatch(/│ rating calls \(gpt-4\.1-nano\)\s+│\s+0 → \d+/);
    expect(table.stdout).toMatch(/^routing mix: .*reply-draft \d+ → rated by gpt-4\.1-nano, priced at gpt-4\.1 \(its "otherwise" model\)/m);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as EstimateReport;
    const f = report.levers.routing;
    if (!f.available) throw new Error('routing not available');
    expect(f.file).toBe('examples/routes.yaml');
    expect(f.models.reduce((n, m) => n + m.with.lines, 0)).toBe(2400);
    expect(new Set(f.models.filter((m) => m.with.lines > 0).map((m) => m.model))).toEqual(new Set(['gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano']));
    expect(f.mix.map((m) => m.rule).sort()).toEqual(['money', 'reply-draft', 'summary', 'summary-canary', 'triage']);
    // The rules pick dearer models for replies and money questions: they cost more than gpt-4o-mini everywhere.
    expect(f.savedUsd.realtime).toBeLessThan(0);
    expect(report.cheapest).toMatchObject({ model: 'gpt-4o-mini', routing: false });
  });

  it('--route with a bad rules file exits 2 naming the file and line, as run does', async () => {
    const dir = tempDir();
    const bad = join(dir, 'rules.yaml');
    writeFileSync(bad, 'rules:\n  - name: a\n    match: { feature: x }\n    model: gpt-4o-mini\n  - name: b\n    match: { regex: "(" }\n    model: gpt-4.1\n');
    const unpriced = join(dir, 'unpriced.yaml');
    writeFileSync(unpriced, 'rules:\n  - model: gpt-9\n');
    const [syntax, price, missing] = await Promise.all([
      cli(['estimate', EXAMPLE, '--route', bad], unreachable),
      cli(['estimate', EXAMPLE, '--route', unpriced], unreachable),
      cli(['estimate', EXAMPLE, '--route', join(dir, 'nope.yaml')], unreachable),
    ]);
    for (const r of [syntax, price, missing]) expect(r.code, r.stderr).toBe(2);
    expect(syntax.stderr).toContain('--route: invalid rules file');
    expect(syntax.stderr).toContain(`${bad}:6: rules[1].match.regex: invalid regular expression`);
    expect(price.stderr).toContain('no price for "gpt-9"');
    expect(missing.stderr).toContain(`${join(dir, 'nope.yaml')}: cannot read the rules file`);
    expect(syntax.stdout).toBe('');
  });

  it('reports invalid lines as run --strict does and estimates the rest', async () => {
    const dir = tempDir();
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, `${chatLine('a', 'x')}\n{"nope"\n${chatLine('a', 'y')}\n${chatLine('b', 'z')}\n`);
    const r = await cli(['estimate', path], unreachable);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${path}:2: not valid JSON`);
    expect(r.stderr).toContain(`${path}:3: custom_id "a" was already used on line 1`);
    expect(r.stderr).toContain('2 invalid lines: invalid_json 1, duplicate_custom_id 1');
    expect(r.stdout).toContain('4 lines, 2 accepted, 2 rejected');
  });

  it('usage errors exit 2 with a message that says how to fix them', async () => {
    const dir = tempDir();
    const prompts = join(dir, 'p.txt');
    writeFileSync(prompts, 'Say hi.\n');
    const { path } = writeChatInput(dir, 2);
    const model = join(dir, 'other-model.jsonl');
    writeFileSync(model, `${chatLine('a', 'x', { model: 'gpt-7-turbo' })}\n`);
    const [missing, noModel, unknown, mode, rule, unpriced] = await Promise.all([
      cli(['estimate', join(dir, 'nope.jsonl')], unreachable),
      cli(['estimate', prompts], unreachable),
      cli(['estimate', path, '--models', 'gpt-4o-mini,gpt-9'], unreachable),
      cli(['estimate', path, '--mode', 'batch'], unreachable),
      cli(['estimate', path, '--urgent-if', 'priority=high'], unreachable),
      cli(['estimate', model], unreachable),
    ]);
    for (const r of [missing, noModel, unknown, mode, rule, unpriced]) expect(r.code, r.stderr).toBe(2);
    expect(missing.stderr).toContain(`${join(dir, 'nope.jsonl')}: no such file`);
    expect(noModel.stderr).toContain('is a prompts file: give the model with --model');
    expect(unknown.stderr).toContain('--models: no price for "gpt-9" in pricing table');
    expect(unknown.stderr).toContain('known models: gpt-3.5-turbo, gpt-4.1, gpt-4.1-mini');
    expect(mode.stderr).toContain('--mode and --run-id apply to the run that --sample N starts');
    expect(rule.stderr).toContain('"priority=high" is not a rule clause');
    expect(unpriced.stderr).toContain('no price for model "gpt-7-turbo"');
  });

  it('--help explains every column and lever, and --sample', async () => {
    const h = await cli(['estimate', '--help']);
    expect(h.code).toBe(0);
    for (const words of ['prompt tokens  exact', 'output ≤', 'batchDiscount', 'hybrid         urgent lines', 'exact duplicates in the file', 'hits in the cache from earlier runs', 'prompt-prefix cache', 'routing rules', 'llm-batch approve RUN', '90% interval', '--cache-ttl <duration>', '--route <file>', 'LLM_BATCH_DATABASE_URL']) {
      expect(h.stdout).toContain(words);
    }
    const top = await cli(['--help']);
    expect(top.stdout).toMatch(/^\s+estimate\b/m);
  });

  describe('--sample against a dev server', () => {
    let emu: RunningEmulator;
    let worker: Awaited<ReturnType<typeof startWorker>>;
    const home = tempDir();
    const taskQueue = `e2e-estimate-${Date.now()}`;
    const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), LLM_BATCH_HOME: home, LLM_BATCH_TASK_QUEUE: taskQueue };
    beforeAll(async () => {
      emu = await startEmulator({ port: 0 });
      worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    });
    afterAll(async () => {
      await worker?.stop();
      await emu?.close();
    });

    it('measures N items through the provider, prints the total with its 90% interval, and leaves the run awaiting approval', async () => {
      const dir = tempDir();
      const { path } = writeChatInput(dir, 30);
      // The rules the estimate shows are the rules of the run it starts (and `approve` continues).
      const rules = join(dir, 'rules.yaml');
      writeFileSync(rules, 'rules:\n  - name: all-nano\n    model: gpt-4.1-nano\n');
      const runId = `e2e-est-${Date.now()}`;
      emu.resetStats();
      const r = await cli(['estimate', path, '--sample', '4', '--run-id', runId, '--models', 'gpt-4o-mini', '--route', rules], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^routing mix: all-nano 30 → gpt-4\.1-nano$/m);
      expect(emu.stats().byModel).toEqual({ 'gpt-4.1-nano': expect.objectContaining({ served: 4 }) });
      expect(r.stdout).toMatch(new RegExp(`^Sample: 4 items measured through the provider \\(run ${runId}, \\$\\S+ spent\\): \\d+ prompt / \\d+ output tokens on average \\(max_tokens allows 40\\)\\.$`, 'm'));
      expect(r.stdout).toMatch(/^Total for the file, realtime: ≈ \$\S+ \(90% interval \$\S+–\$\S+\)\.$/m);
      expect(r.stdout).toContain(`llm-batch approve ${runId} runs the rest of the file; llm-batch reject ${runId} ends it`);
      expect(r.stderr).toContain(`sampling 4 items through the provider: run ${runId}`);
      const c = await client();
      expect((await getRunStatus(c, runId)).state).toBe('awaiting_approval');
      const reject = await cli(['reject', runId], env);
      expect(reject.code, reject.stderr).toBe(0);
    });
  });
});
