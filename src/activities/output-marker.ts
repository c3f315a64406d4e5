// The `llm_batch` object of an output line: llm-batch's own notes on how the line was made,
// beside OpenAI's fields (a reader of the Batch format ignores it). One object, one key per
// feature: `cache` (--cache: a hit, where its answer came from, what it saved) and `route`
// (--route: the model, the rule that chose it and why).
import type { StoredItem } from '../store/item-store.ts';

export interface RouteMarker {
  /** The model called (after the budget's fallback, if that applied). */
  model: string;
  /** The matched rule; null when no rule matched. */
  rule: string | null;
  reason: string;
  /** A classifier rule: its model and what its rating cost (part of the item's cost). */
  classifier?: { model: string; cost_usd: number };
}

/** The route part of the marker, or undefined for a run without --route. */
export function routeMarker(item: StoredItem): RouteMarker | undefined {
  const r = item.routing;
  if (!r) return undefined;
  const route: RouteMarker = { model: item.model, rule: r.rule, reason: r.reason };
  if (r.classifierModel !== undefined) route.classifier = { model: r.classifierModel, cost_usd: r.classifierCostUsd };
  return route;
}

/**
 * The line's `llm_batch` object as JSON text, or undefined when there is nothing to note.
 * A cache hit's marker is stored as the object's JSON already (`{"cache":"exact",…}`): it is
 * spliced in as it is unless a route has to join it.
 */
export function llmBatchMarkerJson(item: StoredItem): string | undefined {
  const route = routeMarker(item);
  if (item.cacheMarker === undefined) return route ? JSON.stringify({ route }) : undefined;
  if (!route) return item.cacheMarker;
  return JSON.stringify({ ...(JSON.parse(item.cacheMarker) as object), route });
}
