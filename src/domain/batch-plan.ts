// Planning the parts of a batch or hybrid run. Items are walked once, realtime-routed
// ones in input order and then batch-routed ones by model and input order; each gets a
// part number:
// - realtime parts hold up to chunkSize items;
// - batch parts are batch files: one model each, at most maxLines lines and maxBytes bytes.
// Realtime parts come first (0..R-1), batch parts after (R..R+B-1). A batch-routed item
// over maxBytes is planned as a realtime one, or gets no part (see PlanLimits). Pure.
import type { Route } from './run-types.ts';

export interface PlanLimits {
  chunkSize: number;
  maxLines: number;
  maxBytes: number;
  /**
   * Batch-routed items whose line alone is over maxBytes (domain/batch-refusal.ts): planned
   * into the realtime parts when true; otherwise left without a part (they fail at planning).
   * Either way no batch part holds one.
   */
  tooLargeToRealtime?: boolean;
}

export interface PlannedItem {
  route: Route;
  model: string;
  /** Bytes of the item's line in a batch input file. */
  bytes: number;
}

/** Assigns parts to items fed in the walk's order (see the header). */
export class PartPlanner {
  private readonly limits: PlanLimits;
  private part = -1;
  private route: Route | undefined;
  private model = '';
  private lines = 0;
  private bytes = 0;
  realtimeParts = 0;
  batchParts = 0;
  realtimeItems = 0;
  batchItems = 0;

  constructor(limits: PlanLimits) {
    if (!(limits.chunkSize >= 1 && limits.maxLines >= 1 && limits.maxBytes >= 1)) throw new RangeError('chunkSize, maxLines and maxBytes must be ≥ 1');
    this.limits = limits;
  }

  /** The part of the next item. Realtime items must all come before batch items. */
  add(item: PlannedItem): number {
    if (item.route === 'realtime' && this.route === 'batch') throw new Error('realtime items must be planned before batch items');
    const full =
      item.route === 'realtime'
        ? this.lines >= this.limits.chunkSize
        : this.lines >= this.limits.maxLines || (this.lines > 0 && this.bytes + item.bytes > this.limits.maxBytes) || item.model !== this.model;
    if (this.route !== item.route || full) {
      this.part++;
      this.route = item.route;
      this.model = item.model;
      this.lines = 0;
      this.bytes = 0;
      if (item.route === 'realtime') this.realtimeParts++;
      else this.batchParts++;
    }
    this.lines++;
    this.bytes += item.bytes;
    if (item.route === 'realtime') this.realtimeItems++;
    else this.batchItems++;
    return this.part;
  }
}

/** The plan's outcome: how many parts of each route, and how many items each route holds. */
export interface PartPlan {
  realtimeParts: number;
  batchParts: number;
  realtimeItems: number;
  batchItems: number;
}
