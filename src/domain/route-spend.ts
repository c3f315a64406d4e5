// Spend and items by model and by routing rule, from the store's grouped rows (one per
// model × rule × classifier model). A classifier's rating calls count under the classifier's
// own model in the by-model view, and under the rule that asked for them in the by-rule view.
// Pure.

/** One group of a run's items, as the store sums it. */
export interface RouteSpendRow {
  /** The model called (or, for an item not yet done, the one it will be sent to). */
  model: string;
  /** The routing rule; null when none matched or the run had no --route. */
  rule: string | null;
  classifierModel: string | null;
  items: number;
  succeeded: number;
  failed: number;
  pending: number;
  /** Everything the items cost, their rating calls included. */
  costUsd: number;
  /** The part of costUsd spent on rating calls. */
  classifierCostUsd: number;
  /** Items whose rating call was made and priced. */
  classified: number;
  /** Items the rules routed (0 for a run without --route). */
  routed: number;
}

export interface ModelSpend {
  model: string;
  /** Requests to this model: items, and the rating calls it made as a classifier. */
  items: number;
  classifierCalls: number;
  succeeded: number;
  failed: number;
  pending: number;
  costUsd: number;
}

export interface RuleSpend {
  /** null: items no rule matched. */
  rule: string | null;
  items: number;
  succeeded: number;
  failed: number;
  pending: number;
  costUsd: number;
  classifierCostUsd: number;
  /** Items by the model each went to. */
  models: Record<string, number>;
}

export interface RouteSpend {
  /** Whether the run had routing rules. */
  routed: boolean;
  byModel: ModelSpend[];
  byRule: RuleSpend[];
}

const byCost = <T extends { costUsd: number }>(a: T, b: T): number => b.costUsd - a.costUsd;

export function routeSpend(rows: readonly RouteSpendRow[]): RouteSpend {
  const models = new Map<string, ModelSpend>();
  const rules = new Map<string | null, RuleSpend>();
  const modelOf = (model: string): ModelSpend => {
    let m = models.get(model);
    if (!m) models.set(model, (m = { model, items: 0, classifierCalls: 0, succeeded: 0, failed: 0, pending: 0, costUsd: 0 }));
    return m;
  };
  for (const r of rows) {
    const m = modelOf(r.model);
    m.items += r.items;
    m.succeeded += r.succeeded;
    m.failed += r.failed;
    m.pending += r.pending;
    m.costUsd += r.costUsd - r.classifierCostUsd;
    if (r.classifierModel !== null && (r.classified > 0 || r.classifierCostUsd > 0)) {
      const c = modelOf(r.classifierModel);
      c.classifierCalls += r.classified;
      c.costUsd += r.classifierCostUsd;
    }
    let rule = rules.get(r.rule);
    if (!rule) rules.set(r.rule, (rule = { rule: r.rule, items: 0, succeeded: 0, failed: 0, pending: 0, costUsd: 0, classifierCostUsd: 0, models: {} }));
    rule.items += r.items;
    rule.succeeded += r.succeeded;
    rule.failed += r.failed;
    rule.pending += r.pending;
    rule.costUsd += r.costUsd;
    rule.classifierCostUsd += r.classifierCostUsd;
    rule.models[r.model] = (rule.models[r.model] ?? 0) + r.items;
  }
  return {
    routed: rows.some((r) => r.routed > 0),
    byModel: [...models.values()].sort((a, b) => byCost(a, b) || a.model.localeCompare(b.model)),
    byRule: [...rules.values()].sort((a, b) => byCost(a, b) || String(a.rule).localeCompare(String(b.rule))),
  };
}
