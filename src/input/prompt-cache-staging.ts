// Staging's part in provider prompt caching: each accepted item's prompt fingerprint feeds
// the eligibility count and the layout check (domain/prompt-prefix.ts), both bounded in
// memory; at the end the run is put in prefix-group order for dispatch (unless
// --prompt-cache off) and the layouts that defeat the cache become warnings.
import { PrefixCacheEligibility, PromptLayoutCheck, type MessageLayout, type PrefixFingerprint } from '../domain/prompt-prefix.ts';
import type { RunConfig, StageResult } from '../domain/run-types.ts';
import type { ItemStore, NewItem } from '../store/item-store.ts';

/** An item as staging holds it: what the store takes, and (for a long prompt) its fingerprint. */
export type FingerprintedItem = NewItem & { prefix?: PrefixFingerprint; layout?: MessageLayout[] };

export class PromptCacheStaging {
  private readonly eligibility = new PrefixCacheEligibility();
  private readonly layout = new PromptLayoutCheck();

  /** One accepted item (once stored); its fingerprint is dropped here, never stored. */
  add(item: FingerprintedItem): void {
    this.eligibility.add(item.prefix);
    if (item.layout !== undefined) this.layout.add(item.line, item.layout);
    delete item.prefix;
    delete item.layout;
  }

  /** After the last item: prefix-group order for dispatch when groups of two or more exist and it is on. */
  async finish(store: ItemStore, config: RunConfig): Promise<void> {
    if (config.promptCache === 'off' || this.eligibility.result().groups === 0) return;
    await store.orderByPrefixGroup(config.runId);
  }

  /** What the stage result carries: the eligible prefix tokens, and warnings naming the input file and lines. */
  result(config: RunConfig): Pick<StageResult, 'promptPrefix' | 'warnings'> {
    const e = this.eligibility.result();
    const out: Pick<StageResult, 'promptPrefix' | 'warnings'> = {
      promptPrefix: { groups: e.groups, groupedItems: e.groupedItems, eligibleCachedTokens: e.eligibleCachedTokens, ordered: config.promptCache !== 'off' && e.groups > 0 },
    };
    const warnings = this.layout.warnings(config.inputPath);
    if (warnings.length > 0) out.warnings = warnings;
    return out;
  }
}
