// The overview: spend by feature, model, mode and day, the levers' savings, the runs.
import { chartOn, fillTable, getJson, link, pct, poll, usd } from './common.js';

const DIMENSIONS = ['feature', 'model', 'mode', 'day'];
const charts = Object.fromEntries(DIMENSIONS.map((d) => [d, chartOn(`chart-${d}`, d === 'day' ? 'line' : 'bar')]));
const label = (key) => (key === '' ? '(none)' : key);

function spendTable(dim, rows) {
  charts[dim](rows.map((r) => label(r.key)), [{ label: 'spend (USD)', data: rows.map((r) => r.costUsd), backgroundColor: '#2f6feb', borderColor: '#2f6feb' }]);
  fillTable(document.getElementById(`table-${dim}`), [
    [dim, (r) => label(r.key)],
    ['succeeded', (r) => r.succeeded, true],
    ['failed', (r) => r.failed, true],
    ['spend', (r) => usd(r.costUsd), true],
    ['cache saved', (r) => usd(r.savedUsd), true],
    ['prompt cache saved', (r) => usd(r.promptCacheSavedUsd), true],
  ], rows);
}

async function load() {
  const o = await getJson('/api/overview');
  spendTable('feature', o.byFeature);
  spendTable('model', o.byModel);
  spendTable('mode', o.byMode);
  spendTable('day', o.byDay);
  fillTable(document.getElementById('levers'), [['lever', (l) => l.lever], ['saved', (l) => usd(l.savedUsd), true]], o.levers);
  fillTable(document.getElementById('runs'), [
    ['run', (r) => link(`/runs/${encodeURIComponent(r.runId)}`, r.runId)],
    ['mode', (r) => r.mode ?? ''],
    ['state', (r) => r.temporalState ?? r.state],
    ['progress', (r) => `${r.done} / ${r.items} (${pct(r.progress)})`, true],
    ['spend', (r) => usd(r.costUsd), true],
    ['budget', (r) => (r.budgetUsd === undefined ? 'none' : usd(r.budgetUsd)), true],
    ['all-realtime', (r) => usd(r.allRealtimeUsd), true],
    ['saved', (r) => usd(r.batchSavedUsd + r.savedUsd), true],
  ], o.runs);
}

poll(load);
