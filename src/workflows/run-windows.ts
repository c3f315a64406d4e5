// The run's daily windows (--window, --per-window-items, --per-window-budget): the workflow
// side of domain/run-window.ts. The run asks it, before each dispatch of its chunks phase,
// whether the current window has room and how large the dispatch may be; once the window's
// quota is used and its dispatches are back, the window ends (windowEnded) and the run waits
// in waiting_window on a durable timer for the next one. The window lives in the run's
// progress, so it survives a worker's death and continue-as-new. An operator's pause or
// cancel ends the wait at once (the wait is the run's waitForChange).
//
// Batch mode: a dispatch's item cap is what is left of the window, and a batch file holds
// at most its dispatch's cap (activities/batch-submit.ts, submit), so each window's items
// become that window's batch files; a part larger than a window is sent over several
// windows, one file per window.
import { log } from '@temporalio/workflow';
import type { DispatchDecision, WorkEstimate } from '../domain/budget.ts';
import type { RunConfig, RunState } from '../domain/run-types.ts';
import {
  combineCaps,
  endWindow,
  firstWindow,
  fitToWindow,
  nextWindowAt,
  settleDispatch,
  startNextWindow,
  windowFull,
  type WindowInFlight,
  type WindowLedger,
  type WindowPolicy,
} from '../domain/run-window.ts';
import type { RunProgress } from './run-status.ts';

/** What a dispatch in flight is charged to its window: its item cap and its reservation. */
export interface WindowCharge {
  index: number;
  items: number;
  reserveUsd: number;
}

/** What the windows see of the run. */
export interface WindowHost {
  progress(): RunProgress;
  /** The window charges of the dispatches in flight (undefined for those charged to none, like the sample). */
  charges(): Iterable<WindowCharge | undefined>;
  setState(state: RunState): void;
  /** The run's wait: ends on any signal or chunk result, when `until` holds, or after `timeoutMs`. */
  waitForChange(until?: () => boolean, timeoutMs?: number): Promise<void>;
  /** The gate at a window's end (--spot-check): true lets the next window start; false when the run was rejected or cancelled. */
  windowGate?(): Promise<boolean>;
}

export type WindowSizing =
  | { kind: 'dispatch'; reserveUsd: number; maxItems?: number; charge?: WindowCharge }
  /** Dispatches of the window in flight may give back room: wait for a change. */
  | { kind: 'wait' }
  /** The window's quota is used: put the work back; the next turn of the loop ends the window. */
  | { kind: 'full' };

export class RunWindows {
  private readonly policy: WindowPolicy;
  private readonly host: WindowHost;

  private constructor(policy: WindowPolicy, host: WindowHost) {
    this.policy = policy;
    this.host = host;
  }

  /** The run's windows, or undefined for a run without --window (nothing changes for it). */
  static of(config: RunConfig, host: WindowHost): RunWindows | undefined {
    return config.window ? new RunWindows(config.window, host) : undefined;
  }

  /** Only the chunks phase is paced by windows: the sample runs before window 0. */
  private active(): boolean {
    return this.host.progress().phase === 'chunks';
  }

  private current() {
    const p = this.host.progress();
    return (p.window ??= firstWindow(Date.now()));
  }

  private inFlight(): WindowInFlight {
    const index = this.current().index;
    const f: WindowInFlight = { items: 0, reservedUsd: 0 };
    for (const c of this.host.charges()) {
      if (c?.index !== index) continue;
      f.items += c.items;
      f.reservedUsd += c.reserveUsd;
    }
    return f;
  }

  /** The current window's quota is used: the run must not take new work before waitForNext. */
  isFull(): boolean {
    return this.active() && windowFull(this.policy, this.current(), this.inFlight());
  }

  /**
   * Sizes a dispatch the run's budget already allowed (`run`) to the window: the smaller item
   * cap, its reservation, and the charge to record with the dispatch.
   */
  size(est: WorkEstimate, run: Extract<DispatchDecision, { kind: 'dispatch' }>): WindowSizing {
    if (!this.active()) return run;
    const w = this.current();
    const fit = fitToWindow(this.policy, w, this.inFlight(), est);
    if (fit.kind === 'wait') return fit;
    if (fit.kind === 'full') {
      // Only the budget gets here (isFull saw room for items): not one more item fits it.
      w.budgetUsed = true;
      return fit;
    }
    const sized = combineCaps(est, run, fit.maxItems);
    return { kind: 'dispatch', ...sized, charge: { index: w.index, items: sized.maxItems ?? est.pending, reserveUsd: sized.reserveUsd } };
  }

  /** A dispatch came back: what it did counts in the window it was charged to. */
  settle(charge: WindowCharge | undefined, done: { items: number; costUsd: number }): void {
    if (charge) settleDispatch(this.current(), charge.index, done.items, done.costUsd);
  }

  /**
   * The window is full: once its dispatches are back it ends (windowEnded), then the run
   * waits in waiting_window until the next window's start and starts it. Returns early on
   * any signal or chunk result; the run's loop re-decides (pause, cancel) and calls again.
   */
  async waitForNext(): Promise<void> {
    const f = this.inFlight();
    if (f.items > 0 || f.reservedUsd > 0) {
      await this.host.waitForChange();
      return;
    }
    const w = this.current();
    if (w.endedAt === undefined) {
      if (!(await this.windowEnded(w, false))) return;
      endWindow(w, Date.now(), (this.host.progress().windowsEnded ??= []));
    }
    const at = nextWindowAt(this.policy, w);
    if (Date.now() < at) {
      this.host.setState('waiting_window');
      log.info(`window ${w.index + 1} done (${w.items} items, $${w.costUsd.toFixed(6)}); window ${w.index + 2} starts at ${new Date(at).toISOString()}`);
      await this.host.waitForChange(() => Date.now() >= at, at - Date.now());
      if (Date.now() < at) return;
    }
    this.host.progress().window = startNextWindow(this.policy, w, Date.now());
    this.host.setState('running');
  }

  /** The run's work is all done: the last window ends (if it has not already). */
  async runEnded(): Promise<void> {
    const w = this.host.progress().window;
    if (!w || w.endedAt !== undefined) return;
    if (await this.windowEnded(w, true)) endWindow(w, Date.now(), (this.host.progress().windowsEnded ??= []));
  }

  /**
   * THE place where a window ends and the next one is about to start: window `w` (w.index is
   * 0-based; w.startedAt, w.items, w.costUsd say when it started and what it did) used its
   * quota, or the run's work ran out (`last`), and every dispatch charged to it is back, so
   * its items are all finished in the store. The quality gate of each window
   * (src/workflows/run-quality.ts, --spot-check) belongs here: the next window starts only
   * after this returns true. Return false to be called again on the run's next turn (e.g. an
   * operator's signal interrupted a hold); the run's pause and cancel are checked between
   * calls. Called at most once per window once it returned true. Deterministic code only.
   */
  private async windowEnded(w: WindowLedger, last: boolean): Promise<boolean> {
    log.info(`window ${w.index + 1} ended${last ? ' (the run\'s work is done)' : ''}: ${w.items} items, $${w.costUsd.toFixed(6)}`);
    // --spot-check: the window's items are checked before the next window may start (the last one's too, before export).
    return this.host.windowGate ? this.host.windowGate() : true;
  }
}
