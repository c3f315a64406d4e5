// Shared by the dashboard's pages: fetching, formatting, tables, charts, polling.
export const usd = (v) => `$${Number(v).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 6 : 4)}`;
export const pct = (v) => `${(v * 100).toFixed(1)}%`;

export async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

/** Fills a table: columns are [title, (row) => value, numeric?]; a value may be a Node. */
export function fillTable(table, columns, rows) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const [title, , numeric] of columns) {
    const th = document.createElement('th');
    th.textContent = title;
    if (numeric) th.className = 'num';
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [, value, numeric] of columns) {
      const td = tr.insertCell();
      const v = value(row);
      if (v instanceof Node) td.append(v);
      else td.textContent = String(v);
      if (numeric) td.className = 'num';
    }
  }
  if (rows.length === 0) body.insertRow().insertCell().textContent = 'no data yet';
}

/** A chart made once and updated in place on every poll. */
export function chartOn(canvasId, type, options = {}) {
  let chart;
  return (labels, datasets) => {
    if (!chart) {
      chart = new window.Chart(document.getElementById(canvasId), {
        type, data: { labels, datasets },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: datasets.length > 1 } }, ...options },
      });
    } else {
      chart.data.labels = labels;
      chart.data.datasets.forEach((d, i) => Object.assign(d, datasets[i]));
      chart.update();
    }
  };
}

/** Calls `load` now and every `ms` (live updates); shows the time of the last success. */
export function poll(load, ms = 2000) {
  const tick = async () => {
    try {
      await load();
      document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? 0) + 1);
    } catch (e) {
      document.getElementById('updated').textContent = `update failed: ${e.message}`;
    }
  };
  tick();
  setInterval(tick, ms);
}

export function link(href, text) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  return a;
}
