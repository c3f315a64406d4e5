// Spend and items by model and by routing rule, read from the item store (the data dir's
// SQLite file or LLM_BATCH_DATABASE_URL's PostgreSQL), for `status` and `status --json`.
import { existsSync } from 'node:fs';
import Table from 'cli-table3';
import { routeSpend, type RouteSpend } from '../domain/route-spend.ts';
import { openItemStore } from '../store/open.ts';
import { storePath } from '../store/sqlite.ts';
import { databaseUrl, dataDir } from '../settings.ts';
import { int, isTty, usd } from './format.ts';

/** The run's spend by model and rule, or undefined when this machine cannot see its store (or it has no items there). */
export async function readRouteSpend(runId: string): Promise<RouteSpend | undefined> {
  const home = dataDir();
  const url = databaseUrl();
  if (!url && !existsSync(storePath(home))) return undefined;
  let opened: Awaited<ReturnType<typeof openItemStore>> | undefined;
  try {
    opened = await openItemStore(home, url);
    const rows = await opened.store.routeSpend(runId);
    return rows.length === 0 ? undefined : routeSpend(rows);
  } catch {
    // The status from Temporal is what matters; the breakdown is shown when the store answers.
    return undefined;
  } finally {
    await opened?.store.close();
  }
}

// No line between rows: a small table.
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
const table = (head: string[]): Table.Table => new Table({ head, chars: COMPACT, style: { head: isTty() ? ['cyan'] : [], border: isTty() ? ['grey'] : [] } });

/** `spend by model` and, for a run with --route, `spend by rule`; nothing for a one-model run without rules. */
export function routeSpendTables(s: RouteSpend): string | undefined {
  if (!s.routed && s.byModel.length < 2) return undefined;
  const parts: string[] = [];
  const classifiers = s.byModel.some((m) => m.classifierCalls > 0);
  const byModel = table(['model', 'items', 'ok', 'failed', 'pending', ...(classifiers ? ['classifier calls'] : []), 'spend']);
  for (const m of s.byModel) {
    byModel.push([m.model, int(m.items), int(m.succeeded), int(m.failed), int(m.pending), ...(classifiers ? [int(m.classifierCalls)] : []), usd(m.costUsd)]);
  }
  parts.push(`spend by model\n${byModel.toString()}`);
  if (s.routed) {
    const byRule = table(['rule', 'items', 'models', 'ok', 'failed', 'pending', 'spend', 'of which classifier']);
    for (const r of s.byRule) {
      const models = Object.entries(r.models).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${int(n)}`).join(', ');
      byRule.push([r.rule ?? '(no rule matched)', int(r.items), models, int(r.succeeded), int(r.failed), int(r.pending), usd(r.costUsd), r.classifierCostUsd > 0 ? usd(r.classifierCostUsd) : '–']);
    }
    parts.push(`spend by rule\n${byRule.toString()}`);
  }
  return parts.join('\n');
}
