// The estimate's routing lever over the lines that would be sent: each line at the model the
// rules chose for it (routeParsedLine's choice, made on the counting threads as staging makes
// it), the rating calls of classifier rules at their upper bound, the mix by rule, and, with
// the prefix lever, the prompt-cache eligibility of the routed requests (staging fingerprints
// the routed body). Pure.
import { Tally, type CountedLine, type RoutedAs } from './estimate.ts';
import type { PrefixFigures, PrefixLever, RoutedChoice } from './estimate-levers.ts';
import type { PrefixFingerprint } from './prompt-prefix.ts';
import type { Route } from './run-types.ts';

/** How the mix names lines no rule matched (they keep their own model). */
export const NO_RULE = 'no rule matched';

/** A rule's share of the lines sent. */
export interface RouteMix {
  rule: string;
  model: string;
  /** The rule's path (hybrid runs). */
  route?: Route;
  /** A classifier rule: the model that rates its lines (they are priced at its `otherwise` model). */
  classifier?: string;
  lines: number;
}

/** A line sent, with the rules' choice. */
export interface RoutableLine extends CountedLine {
  prefix?: PrefixFingerprint;
  routed?: RoutedChoice;
}

export interface RoutingCounts {
  /** The lines sent, each at the model the rules chose. */
  routed: Tally;
  /** The classifier rules' rating calls, at their upper bound (realtime). */
  ratings: Tally;
  /** By rule, most lines first. */
  mix: RouteMix[];
  /** Lines a rule moved off their own model or onto a path. */
  moved: number;
  /** With the prefix lever: eligible cached tokens of the routed requests. */
  prefix?: PrefixFigures;
}

export class RoutingCount {
  private readonly routed = new Tally();
  private readonly ratings = new Tally();
  private readonly mix = new Map<string, RouteMix>();
  private moved = 0;
  private readonly encodingOf: (model: string) => string;
  private readonly prefix: PrefixLever | undefined;

  constructor(encodingOf: (model: string) => string, prefix?: PrefixLever) {
    this.encodingOf = encodingOf;
    this.prefix = prefix;
  }

  add(line: RoutableLine): void {
    const r = line.routed ?? { model: line.model, rule: null };
    const as: RoutedAs = { model: r.model };
    if (r.route !== undefined) as.route = r.route;
    // A classifier rule's lines are rated, then sent, on the realtime path: realtime in every column.
    if (r.classifier) as.realtimeOnly = true;
    this.routed.add(line, as);
    if (r.classifier) {
      const c = r.classifier;
      this.ratings.add({ model: c.model, kind: 'chat', tokens: { [this.encodingOf(c.model)]: c.promptTokens }, output: c.outputTokens, urgent: true }, { model: c.model, realtimeOnly: true });
    }
    if (r.model !== line.model || r.route !== undefined || r.classifier) this.moved++;
    const rule = r.rule ?? NO_RULE;
    const key = `${rule}\u0000${r.model}\u0000${r.route ?? ''}`;
    let m = this.mix.get(key);
    if (!m) {
      m = { rule, model: r.model, lines: 0 };
      if (r.route !== undefined) m.route = r.route;
      if (r.classifier) m.classifier = r.classifier.model;
      this.mix.set(key, m);
    }
    m.lines++;
    if (this.prefix) {
      // The path in a hybrid run: a classifier's lines realtime, else the rule's path, else urgency.
      const urgent = r.classifier !== undefined || (r.route === undefined ? line.urgent : r.route === 'realtime');
      const prefix = r.model === line.model ? line.prefix : r.prefix;
      this.prefix.add({ model: r.model, urgent, ...(prefix ? { prefix } : {}) });
    }
  }

  result(): RoutingCounts {
    const out: RoutingCounts = { routed: this.routed, ratings: this.ratings, mix: [...this.mix.values()].sort((a, b) => b.lines - a.lines), moved: this.moved };
    if (this.prefix) out.prefix = this.prefix.result();
    return out;
  }
}
