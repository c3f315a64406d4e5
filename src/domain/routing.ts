// Hybrid routing: which items go realtime and which through the Batch API. Urgent items
// (metadata.priority "urgent", or matching the --urgent-if rule) go realtime; in batch
// mode everything goes to the Batch API, in realtime mode nothing does. Pure.
import type { Route, RunMode } from './run-types.ts';

/** One clause of an --urgent-if rule. */
export type UrgentClause = { field: 'feature'; equals: string } | { field: 'custom_id'; prefix: string };

/** What routing looks at on an item. */
export interface RoutableItem {
  customId: string;
  feature?: string;
  priority?: string;
}

const CLAUSE = /^(feature)=(.+)$|^(custom_id)\^=(.+)$/;

/**
 * Parses a rule: comma-separated clauses, any of which makes an item urgent.
 * `feature=NAME` matches metadata.feature exactly; `custom_id^=PREFIX` matches a custom_id prefix.
 * Returns the clauses, or a message saying what is wrong.
 */
export function parseUrgentRule(text: string): UrgentClause[] | string {
  const clauses: UrgentClause[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = CLAUSE.exec(part);
    if (!m) return `"${part}" is not a rule clause; use feature=NAME or custom_id^=PREFIX (several separated by commas, e.g. "feature=support,custom_id^=vip-")`;
    clauses.push(m[1] ? { field: 'feature', equals: m[2]! } : { field: 'custom_id', prefix: m[4]! });
  }
  return clauses;
}

export const isUrgent = (item: RoutableItem, rule: readonly UrgentClause[]): boolean =>
  item.priority === 'urgent' ||
  rule.some((c) => (c.field === 'feature' ? item.feature === c.equals : item.customId.startsWith(c.prefix)));

export function routeOf(mode: RunMode, item: RoutableItem, rule: readonly UrgentClause[]): Route {
  if (mode === 'realtime') return 'realtime';
  if (mode === 'batch') return 'batch';
  return isUrgent(item, rule) ? 'realtime' : 'batch';
}
