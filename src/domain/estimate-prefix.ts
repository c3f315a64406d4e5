// The estimate's prompt-prefix lever: staging's own eligibility count (PrefixCacheEligibility,
// prompt-prefix.ts) kept per model and per way of dispatching, because its sum is over every
// group it was fed and the saving is priced per model. Per model, one counter for the lines
// dispatched together (a realtime or a batch run) and, for a hybrid run, one for the urgent
// lines (realtime) and one for the rest (Batch API), which go out apart and each pay for the
// first item of their groups. Fed the same fingerprints staging computes, so the estimate's
// eligible tokens are staging's `promptPrefix.eligibleCachedTokens` for the same lines. Pure.
import { PrefixCacheEligibility } from './prompt-prefix.ts';
import type { CachedTokens, PrefixFigures, PrefixLever, PrefixRequest } from './estimate-levers.ts';

interface PerModel {
  together: PrefixCacheEligibility;
  urgent: PrefixCacheEligibility;
  regular: PrefixCacheEligibility;
}

export class PrefixEligibilityByModel implements PrefixLever {
  private readonly models = new Map<string, PerModel>();
  private readonly maxGroups: number | undefined;

  /** `maxGroups`: per counter, as PrefixCacheEligibility takes it (tests). */
  constructor(maxGroups?: number) {
    this.maxGroups = maxGroups;
  }

  add(r: PrefixRequest): void {
    // A prompt under 1,024 tokens is in no group: nothing to count, and nothing to keep.
    if (r.prefix === undefined) return;
    let m = this.models.get(r.model);
    if (!m) {
      const counter = (): PrefixCacheEligibility => new PrefixCacheEligibility(this.maxGroups);
      m = { together: counter(), urgent: counter(), regular: counter() };
      this.models.set(r.model, m);
    }
    m.together.add(r.prefix);
    (r.urgent ? m.urgent : m.regular).add(r.prefix);
  }

  result(): PrefixFigures {
    const byModel = new Map<string, CachedTokens>();
    let lines = 0;
    let approximate = false;
    for (const [model, m] of this.models) {
      const together = m.together.result();
      const urgent = m.urgent.result();
      const regular = m.regular.result();
      byModel.set(model, { together: together.eligibleCachedTokens, urgent: urgent.eligibleCachedTokens, regular: regular.eligibleCachedTokens });
      lines += together.groupedItems - together.groups;
      approximate ||= together.approximate || urgent.approximate || regular.approximate;
    }
    return { byModel, lines, approximate };
  }
}
