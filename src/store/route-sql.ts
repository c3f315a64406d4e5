// The routing columns of items (--route), shared by both stores: what staging writes, how a
// row reads back, the classifier's update, and the spend grouped by model and rule.
import type { ItemRouting, NewItem } from './item-store.ts';
import type { RouteSpendRow } from '../domain/route-spend.ts';
import { num, str, type Row } from './rows.ts';

/**
 * Columns added to items, with their SQLite types (PostgreSQL's are migration 3 of
 * postgres-schema.ts); route_reason is null for an item of a run without --route.
 */
export const ROUTING_COLUMN_TYPES: readonly [string, string][] = [
  ['route_rule', 'TEXT'],
  ['route_reason', 'TEXT'],
  ['classifier_model', 'TEXT'],
  ['classifier_pending', 'INTEGER NOT NULL DEFAULT 0'],
  ['classifier_cost_usd', 'REAL NOT NULL DEFAULT 0'],
];

/** The routing columns a row is read back with (toRouting). */
export const ROUTING_COLUMNS = 'route_rule, route_reason, classifier_model, classifier_pending, classifier_cost_usd';

/** The columns staging writes, in routingFields' order. */
export const STAGED_ROUTING_COLUMNS = ['route_rule', 'route_reason', 'classifier_model', 'classifier_pending'] as const;

/** route_rule, route_reason, classifier_model, classifier_pending of a new item. */
export function routingFields(it: NewItem): [string | null, string | null, string | null, number] {
  const r = it.routing;
  if (!r) return [null, null, null, 0];
  return [r.rule, r.reason, r.classifier?.model ?? null, r.classifier ? 1 : 0];
}

/** A row's routing (ROUTING_COLUMNS), undefined for an item of a run without --route. */
export function toRouting(r: Row): ItemRouting | undefined {
  const reason = str(r.route_reason);
  if (reason === undefined) return undefined;
  const routing: ItemRouting = { rule: str(r.route_rule) ?? null, reason, classifierPending: num(r.classifier_pending) === 1, classifierCostUsd: num(r.classifier_cost_usd) };
  const classifierModel = str(r.classifier_model);
  if (classifierModel !== undefined) routing.classifierModel = classifierModel;
  return routing;
}

/**
 * A classifier's decision, as SQLite runs it: arguments model, body, prompt_tokens_est,
 * route_reason, cost (twice), run_id, custom_id (PostgreSQL runs the same update over
 * unnest'ed arrays). Only a pending item changes: a result is final.
 */
export const CLASSIFY_SQL = `UPDATE items SET model = ?, body = ?, prompt_tokens_est = ?, route_reason = ?, classifier_pending = 0,
    classifier_cost_usd = classifier_cost_usd + ?, cost_usd = cost_usd + ?
  WHERE run_id = ? AND custom_id = ? AND status = 'pending'`;

/** The run's items grouped by model, rule and classifier model (follow with the run id). */
export const ROUTE_SPEND_SQL = `SELECT model, route_rule, classifier_model, count(*) AS items,
    sum(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
    sum(cost_usd) AS cost, sum(classifier_cost_usd) AS classifier_cost,
    sum(CASE WHEN classifier_cost_usd > 0 THEN 1 ELSE 0 END) AS classified,
    count(route_reason) AS routed
  FROM items WHERE run_id = ? GROUP BY model, route_rule, classifier_model`;

export function toRouteSpendRow(r: Row): RouteSpendRow {
  return {
    model: String(r.model),
    rule: str(r.route_rule) ?? null,
    classifierModel: str(r.classifier_model) ?? null,
    items: num(r.items),
    succeeded: num(r.succeeded),
    failed: num(r.failed),
    pending: num(r.pending),
    costUsd: num(r.cost),
    classifierCostUsd: num(r.classifier_cost),
    classified: num(r.classified),
    routed: num(r.routed),
  };
}
