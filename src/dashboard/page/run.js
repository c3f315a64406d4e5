// One run: live progress, the spend curve against the budget's yellow and red lines, 429s
// and latency per minute, errors by code with examples.
import { chartOn, fillTable, getJson, pct, poll, usd } from './common.js';

const runId = decodeURIComponent(location.pathname.split('/').pop());
document.getElementById('run-id').textContent = runId;
document.title = `llm-batch · ${runId}`;
const spend = chartOn('chart-spend', 'line', { scales: { y: { beginAtZero: true } } });
const limited = chartOn('chart-429', 'bar');
const latency = chartOn('chart-latency', 'line');
let shownCode;

async function showExamples(code) {
  shownCode = code;
  const rows = await getJson(`/api/runs/${encodeURIComponent(runId)}/errors/${encodeURIComponent(code)}`);
  document.getElementById('examples-title').textContent = `Examples of ${code}`;
  fillTable(document.getElementById('examples'), [['custom_id', (e) => e.customId], ['HTTP', (e) => e.statusCode ?? ''], ['message', (e) => e.message]], rows);
}

function codeLink(code) {
  const a = document.createElement('a');
  a.href = '#examples';
  a.textContent = code;
  a.addEventListener('click', (ev) => { ev.preventDefault(); showExamples(code); });
  return a;
}

async function load() {
  const { run, curve, errors } = await getJson(`/api/runs/${encodeURIComponent(runId)}`);
  const rows = [
    ['state', run.state], ['Temporal state', run.temporalState ?? 'not reachable'], ['mode', run.mode ?? ''], ['items', run.items], ['succeeded', run.succeeded], ['failed', run.failed],
    ['pending', run.pending], ['progress', pct(run.progress)], ['spend', usd(run.costUsd)],
    ['budget', run.budgetUsd === undefined ? 'none' : `${usd(run.budgetUsd)} (yellow at ${usd(run.yellowUsd)})`],
    ['budget state', run.budgetState], ['all-realtime', usd(run.allRealtimeUsd)], ['saved by the Batch API', usd(run.batchSavedUsd)],
    ['saved by the cache', usd(run.savedUsd)],
  ];
  fillTable(document.getElementById('summary'), [['', (r) => r[0]], ['', (r) => r[1], true]], rows);
  document.getElementById('summary').tHead.remove();
  document.querySelectorAll('#summary tr').forEach((tr) => { tr.dataset.field = tr.cells[0].textContent; });
  document.getElementById('progress-bar').style.width = pct(run.progress);
  const labels = curve.map((p) => p.minute.slice(11));
  // The curve starts at $0, so a run of one minute still draws a line (and the budget's lines).
  const spendLabels = ['start', ...labels];
  const datasets = [{ label: 'spend (USD)', data: [0, ...curve.map((p) => p.cumulativeUsd)], borderColor: '#2f6feb', backgroundColor: '#2f6feb' }];
  if (run.budgetUsd !== undefined) {
    datasets.push({ label: 'yellow', data: spendLabels.map(() => run.yellowUsd), borderColor: '#d4a72c', borderDash: [6, 4], pointRadius: 0 });
    datasets.push({ label: 'red (budget)', data: spendLabels.map(() => run.redUsd), borderColor: '#cf222e', borderDash: [6, 4], pointRadius: 0 });
  }
  spend(spendLabels, datasets);
  limited(labels, [{ label: '429s', data: curve.map((p) => p.rateLimited), backgroundColor: '#cf222e' }]);
  latency(labels, [{ label: 'mean latency (ms)', data: curve.map((p) => p.meanLatencyMs), borderColor: '#8250df', spanGaps: true }]);
  fillTable(document.getElementById('errors'), [['code', (e) => codeLink(e.code)], ['items', (e) => e.items, true]], errors);
  if (shownCode) await showExamples(shownCode);
}

poll(load);
