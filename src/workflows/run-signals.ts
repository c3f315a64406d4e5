// The run's signal handlers and its status query: what an operator can do to a run from the
// CLI or the Temporal UI. Each handler changes the run's progress (or refuses, saying why in
// the status) and wakes the run's loop; the loop acts on it.
import { log, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunConfig, RunStatus } from '../domain/run-types.ts';
import { budgetState, parseBudgetAmount } from '../domain/budget.ts';
import * as msg from './messages.ts';
import { LlmBatchBudgetUsd } from './search-attributes.ts';
import { ledgerOf, type RunProgress } from './run-status.ts';

/** What the handlers see of the run. */
export interface SignalTarget {
  readonly config: RunConfig;
  readonly status: RunStatus;
  /** The run's progress now (it is replaced as the run goes on). */
  progress(): RunProgress;
  /** Something changed: refresh the status and wake the run's loop. */
  changed(): void;
}

/** Registers every signal handler and the status query of a run. */
export function registerRunHandlers(run: SignalTarget): void {
  const op = (): RunProgress['operator'] => run.progress().operator;
  const changed = (): void => run.changed();
  // An accepted signal clears the last refusal, so the status shows only a current one.
  const accepted = (): void => {
    delete run.status.lastSignalError;
    changed();
  };
  const refuse = (why: string): void => {
    run.status.lastSignalError = why;
    log.warn(`signal refused: ${why}`);
    changed();
  };
  setHandler(msg.statusQuery, () => run.status, { description: msg.DESCRIPTIONS.status });
  setHandler(msg.pauseSignal, () => {
    op().paused = true;
    accepted();
  }, { description: msg.DESCRIPTIONS.pause });
  setHandler(msg.resumeSignal, () => {
    op().paused = false;
    accepted();
  }, { description: msg.DESCRIPTIONS.resume });
  setHandler(msg.cancelSignal, () => {
    op().cancelled = true;
    accepted();
  }, { description: msg.DESCRIPTIONS.cancel });
  const budgetHandler = (kind: 'raise' | 'set') => (arg: msg.BudgetAmount): void => {
    const amount = parseBudgetAmount(arg);
    if (typeof amount === 'string') return refuse(`${kind === 'raise' ? 'raiseBudget' : 'setBudget'}: ${amount}`);
    const p = run.progress();
    if (kind === 'raise' && p.budgetUsd === undefined) return refuse('raiseBudget: the run has no budget to raise; use setBudget');
    const budgetUsd = kind === 'raise' ? p.budgetUsd! + amount : amount;
    p.budgetUsd = budgetUsd;
    // A new budget starts a new episode: yellow and red may alert again.
    const state = budgetState(ledgerOf(p, run.config, 0));
    if (state !== 'red') p.alerted.red = false;
    if (state === 'green') p.alerted.yellow = false;
    upsertSearchAttributes([{ key: LlmBatchBudgetUsd, value: budgetUsd }]);
    accepted();
  };
  setHandler(msg.raiseBudgetSignal, budgetHandler('raise'), { description: msg.DESCRIPTIONS.raiseBudget });
  setHandler(msg.setBudgetSignal, budgetHandler('set'), { description: msg.DESCRIPTIONS.setBudget });
  setHandler(msg.approveSignal, () => {
    // A quality hold (--spot-check) is approved first: the sample's approval was given before it.
    const quality = run.progress().quality;
    if (quality?.holding !== undefined) {
      quality.approved = true;
      return accepted();
    }
    if (!run.config.sampleSize) return refuse(`approve: this run has ${run.config.spotCheck ? 'no quality hold' : 'no sample'} to approve (start it with --sample N --approve, or --spot-check N)`);
    op().approved = true;
    accepted();
  }, { description: msg.DESCRIPTIONS.approve });
  setHandler(msg.rejectSignal, () => {
    if (run.progress().quality?.holding !== undefined) {
      op().rejected = true;
      return accepted();
    }
    if (!run.config.sampleSize) return refuse(`reject: this run has ${run.config.spotCheck ? 'no quality hold' : 'no sample'} to reject (start it with --sample N --approve, or --spot-check N)`);
    if (run.progress().phase === 'chunks') return refuse('reject: the sample was already approved');
    op().rejected = true;
    accepted();
  }, { description: msg.DESCRIPTIONS.reject });
  setHandler(msg.probeSignal, () => {
    if (run.progress().circuit.state === 'closed') return refuse('probe: the circuit is closed; there is nothing to probe');
    op().probeRequested = true;
    accepted();
  }, { description: msg.DESCRIPTIONS.probe });
}
