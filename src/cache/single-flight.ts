// One call per key at a time in this process: the first caller of a key leads (looks the
// key up, calls the provider), later callers of the same key wait for the leader's answer.
// Entries live only while their leader works, so the map holds at most the calls in flight.

export interface Flight<A> {
  /** Ends the flight: waiters get `answer`, or undefined (the leader had nothing to give: they try again). */
  land(answer: A | undefined): void;
}

export class SingleFlight<A> {
  private readonly flights = new Map<string, Promise<A | undefined>>();

  /** The leader's flight when this caller leads, else the leader's answer to wait for. */
  join(key: string): { lead: Flight<A> } | { wait: Promise<A | undefined> } {
    const waiting = this.flights.get(key);
    if (waiting) return { wait: waiting };
    let settle!: (a: A | undefined) => void;
    this.flights.set(key, new Promise<A | undefined>((r) => (settle = r)));
    let landed = false;
    return {
      lead: {
        land: (answer) => {
          if (landed) return;
          landed = true;
          this.flights.delete(key);
          settle(answer);
        },
      },
    };
  }

  /** Keys with a leader at work (for tests and diagnostics). */
  get size(): number {
    return this.flights.size;
  }
}
