// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a
// store filled by a real run: dev server, worker, emulator over HTTP. The page is opened
// before the run starts and must show it finished without a reload (live updates); its
// numbers are checked against the items table itself, not against the rollup the page
// reads. A token-protected dashboard answers 401 without the token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Client } from '@temporalio/client';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { SqliteItemStore, storePath } from '../../src/store/sqlite.ts';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/server.ts';
import { temporalStates } from '../../src/dashboard/temporal-state.ts';
import { loadDefaultPricing } from '../../src/llm/pricing-file.ts';
import { chatLine, client, runConfig, runToEnd, startWorker, tempDir } from '../support/harness.ts';

const REPO = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(REPO, 'test-artifacts');
const TOKEN = 'dashboard-test-token-0123456789';

/** The chromium the CI installs from Debian; no browser download. */
const launch = (): Promise<Browser> =>
  chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });

/** A money cell ("$0.000123") as a number. */
const dollars = (text: string): number => Number(text.replace(/^\$/, ''));

/** A table's body rows as arrays of cell texts. */
const tableRows = (page: Page, testId: string): Promise<string[][]> =>
  page.locator(`[data-testid="${testId}"] tbody tr`).evaluateAll((trs) => trs.map((tr) => Array.from((tr as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells, (c) => c.textContent ?? '')));

describe('dashboard in a browser', () => {
  let emu: RunningEmulator;
  let c: Client;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let store: SqliteItemStore;
  let dashboard: RunningDashboard;
  let browser: Browser;
  const home = tempDir();
  const taskQueue = `dashboard-${Date.now()}`;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, latencyMs: 20 });
    c = await client();
    worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    store = new SqliteItemStore(storePath(home));
    dashboard = await startDashboard({ store, host: '127.0.0.1', port: 0, batchDiscount: loadDefaultPricing().batchDiscount, temporalState: temporalStates(c) });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await store?.close();
    await worker?.stop();
    await emu?.close();
  });

  it('shows a real run live, with spend by feature, the run, its budget and its errors as the items table has them', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(dashboard.url);
    await page.waitForSelector('body[data-loaded]');
    expect(await tableRows(page, 'runs')).toEqual([['no data yet']]);

    // 60 items over two features and none, 3 the provider refuses (`user` must be a string).
    const runId = `dash-${Date.now()}`;
    const features = ['support', 'search', undefined];
    const lines = Array.from({ length: 60 }, (_, i) => chatLine(`item-${String(i).padStart(3, '0')}`, `Ticket ${i}: the export fails with error ${1000 + i}.`, { feature: features[i % 3]! }));
    for (const i of [7, 8, 9]) {
      const l = JSON.parse(lines[i]!);
      l.body.user = 5;
      lines[i] = JSON.stringify(l);
    }
    const inputPath = join(home, 'input.jsonl');
    writeFileSync(inputPath, `${lines.join('\n')}\n`);
    const status = await runToEnd(c, runConfig({ runId, inputPath, concurrency: 8, budgetUsd: 1, budgetWarnAt: 0.8 }), taskQueue);
    expect(status.counts).toMatchObject({ total: 60, succeeded: 57, failed: 3 });

    // Live: the open page shows the finished run without a reload.
    await page.locator('[data-testid="runs"] tbody tr', { hasText: runId }).filter({ hasText: 'finished' }).waitFor({ timeout: 20_000 });

    // The truth, from the items table itself.
    const db = new DatabaseSync(storePath(home), { readOnly: true });
    const byFeature = db.prepare(`SELECT coalesce(feature, '') AS feature, sum(cost_usd) AS cost, sum(status = 'succeeded') AS ok, sum(status = 'failed') AS failed FROM items WHERE run_id = ? GROUP BY 1 ORDER BY 1`).all(runId) as { feature: string; cost: number; ok: number; failed: number }[];
    const errors = db.prepare(`SELECT json_extract(error, '$.code') AS code, count(*) AS n FROM items WHERE run_id = ? AND status = 'failed' GROUP BY 1`).all(runId) as { code: string; n: number }[];
    const failedIds = (db.prepare(`SELECT custom_id FROM items WHERE run_id = ? AND status = 'failed' ORDER BY custom_id`).all(runId) as { custom_id: string }[]).map((r) => r.custom_id);
    db.close();
    const total = byFeature.reduce((s, r) => s + r.cost, 0);
    expect(total).toBeCloseTo(status.costUsd.spent, 9);
    expect(failedIds).toEqual(['item-007', 'item-008', 'item-009']);

    const featureRows = await tableRows(page, 'spend-feature');
    expect(featureRows.map((r) => [r[0], Number(r[1]), Number(r[2])])).toEqual(byFeature.map((f) => [f.feature === '' ? '(none)' : f.feature, f.ok, f.failed]));
    featureRows.forEach((r, i) => expect(dollars(r[3]!)).toBeCloseTo(byFeature[i]!.cost, 6));
    const modeRows = await tableRows(page, 'spend-mode');
    expect(modeRows.map((r) => r[0])).toEqual(['realtime']);
    expect(dollars(modeRows[0]![3]!)).toBeCloseTo(total, 6);
    const [runRow] = await tableRows(page, 'runs');
    expect(runRow!.slice(0, 4)).toEqual([runId, 'realtime', 'finished', '60 / 60 (100.0%)']);
    expect(dollars(runRow![4]!)).toBeCloseTo(total, 6);
    expect(runRow![5]).toBe('$1.0000');
    expect(dollars(runRow![6]!)).toBeCloseTo(total, 6); // all realtime: the all-realtime cost is the spend
    mkdirSync(ARTIFACTS, { recursive: true });
    const overviewShot = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: overviewShot, fullPage: true });
    console.log(`dashboard screenshot: ${overviewShot}`);

    // The run's page: progress, spend against the budget, errors by code and their examples.
    await page.click(`[data-testid="runs"] a:text("${runId}")`);
    await page.waitForSelector('body[data-loaded]');
    const field = async (name: string): Promise<string> => (await page.locator(`[data-testid="run-summary"] tr[data-field="${name}"] td`).nth(1).textContent()) ?? '';
    expect(await field('state')).toBe('finished');
    // Temporal's word, remembered 5 s (it may still say what it said mid-run): the page catches up live.
    await page.locator('[data-testid="run-summary"] tr[data-field="Temporal state"] td', { hasText: /^completed$/ }).waitFor({ timeout: 20_000 });
    expect(await field('items')).toBe('60');
    expect(await field('succeeded')).toBe('57');
    expect(await field('failed')).toBe('3');
    expect(await field('progress')).toBe('100.0%');
    expect(dollars(await field('spend'))).toBeCloseTo(total, 6);
    expect(await field('budget')).toBe('$1.0000 (yellow at $0.8000)');
    expect(await field('budget state')).toBe('green');
    expect(await tableRows(page, 'run-errors')).toEqual(errors.map((e) => [e.code, String(e.n)]));
    await page.click(`[data-testid="run-errors"] a:text("${errors[0]!.code}")`);
    await page.waitForSelector('[data-testid="error-examples"] tbody tr');
    expect((await tableRows(page, 'error-examples')).map((r) => [r[0], r[1]])).toEqual(failedIds.map((id) => [id, '400']));
    // The spend curve has the budget's yellow and red lines.
    const datasets = await page.evaluate(() => (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: { label: string }[] } } } }).Chart.getChart('chart-spend')!.data.datasets.map((d) => d.label));
    expect(datasets).toEqual(['spend (USD)', 'yellow', 'red (budget)']);
    const runShot = join(ARTIFACTS, 'dashboard-run.png');
    await page.screenshot({ path: runShot, fullPage: true });
    console.log(`dashboard run screenshot: ${runShot}`);
    await page.close();
  });

  it('with a token: 401 without it, the page and its data with it; the CLI refuses a non-loopback host without one', async () => {
    const guarded = await startDashboard({ store, host: '127.0.0.1', port: 0, token: TOKEN, batchDiscount: loadDefaultPricing().batchDiscount });
    try {
      expect((await fetch(guarded.url)).status).toBe(401);
      expect((await fetch(`${guarded.url}api/overview`)).status).toBe(401);
      expect((await fetch(`${guarded.url}api/overview`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      expect((await fetch(`${guarded.url}api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      // A browser opens the URL with ?token= once; the cookie carries it to the page's API calls.
      const page = await browser.newPage();
      await page.goto(`${guarded.url}?token=${TOKEN}`);
      await page.waitForSelector('body[data-loaded]');
      expect(await page.locator('#updated').textContent()).toMatch(/^updated /);
    } finally {
      await guarded.close();
    }
    const cli = spawnSync(process.execPath, [join(REPO, 'bin/llm-batch.js'), 'dashboard', '--host', '0.0.0.0'], { env: { ...process.env, LLM_BATCH_HOME: home, LLM_BATCH_DASHBOARD_TOKEN: '' }, encoding: 'utf8', timeout: 60_000 });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(/--auth-token/);
  });
});
