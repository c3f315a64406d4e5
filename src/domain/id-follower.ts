// Following a table's new rows by id, when ids may become visible out of order.
//
// A reader that asks for "id > the highest id I have seen" misses a row whose id was taken
// before that highest one but committed after it: two PostgreSQL sessions take ids 7 and 8
// from the sequence, 8 commits first, the reader sees 8, and 7 would never be read. Ids
// also go missing for good (a rolled-back insert, a conflicting one). So the follower reads
// after `after`, the highest id below which every id is either seen or given up on: a
// missing id is waited for `gapWaitMs` from when it was first noticed, long enough for any
// one-statement insert to commit, and then skipped. Rows above a gap are read again until
// the gap closes; `has` tells which of them are already taken in. Pure.

interface Gap {
  from: number;
  to: number;
  /** When the gap (or the larger one it was part of) was first noticed. */
  since: number;
}

export class IdFollower {
  private low: number;
  private readonly gapWaitMs: number;
  private seen = new Set<number>();
  private gaps: Gap[] = [];

  constructor(opts: { gapWaitMs: number; after?: number }) {
    this.gapWaitMs = opts.gapWaitMs;
    this.low = opts.after ?? 0;
  }

  /** Read rows with ids above this one. */
  get after(): number {
    return this.low;
  }

  /** Ids above `after` waited for, as [from, to] ranges. */
  get waitingFor(): [number, number][] {
    return this.gaps.map((g) => [g.from, g.to]);
  }

  /** Whether the row with this id is already taken in. */
  has(id: number): boolean {
    return id <= this.low ? true : this.seen.has(id);
  }

  /** Takes in the ids of rows read (or written by this process) at time `now` (ms), and moves `after` up as far as it can. */
  saw(ids: Iterable<number>, now: number): void {
    for (const id of ids) if (id > this.low) this.seen.add(id);
    const sorted = [...this.seen].sort((a, b) => a - b);
    const holes: Gap[] = [];
    let prev = this.low;
    for (const id of sorted) {
      if (id > prev + 1) holes.push({ from: prev + 1, to: id - 1, since: this.noticed(prev + 1, id - 1, now) });
      prev = id;
    }
    // Up from `after`: past seen ids, and past gaps waited for long enough; stop at the first gap still open.
    let low = this.low;
    let h = 0;
    for (const id of sorted) {
      while (h < holes.length && holes[h]!.from === low + 1) {
        if (now - holes[h]!.since < this.gapWaitMs) break;
        low = holes[h++]!.to;
      }
      if (id !== low + 1) break;
      low = id;
    }
    this.low = low;
    for (const id of this.seen) if (id <= low) this.seen.delete(id);
    this.gaps = holes.filter((g) => g.from > low);
  }

  /** The earliest time a gap overlapping [from, to] was noticed, or now for a new one. */
  private noticed(from: number, to: number, now: number): number {
    let since = now;
    for (const g of this.gaps) if (g.from <= to && from <= g.to) since = Math.min(since, g.since);
    return since;
  }
}
