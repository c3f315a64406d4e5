// Signals and queries of a run and of its chunks, defined beside the workflows. The
// operator's signals carry JSON a person can type in the Temporal UI's Signal dialog;
// the descriptions below are what the UI shows next to each name.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BatchChunkView, ChunkStopSignal, RunStatus } from '../domain/run-types.ts';

/** The run's live status: counts, tokens, money, budget, circuit, chunks in flight. */
export const statusQuery = defineQuery<RunStatus>('status');

/** `{"amountUsd": 25}`: what raiseBudget and setBudget take. */
export interface BudgetAmount {
  amountUsd: number;
}

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const cancelSignal = defineSignal('cancel');
export const raiseBudgetSignal = defineSignal<[BudgetAmount]>('raiseBudget');
export const setBudgetSignal = defineSignal<[BudgetAmount]>('setBudget');
export const approveSignal = defineSignal('approve');
export const rejectSignal = defineSignal('reject');
export const probeSignal = defineSignal('probe');

/** What the UI lists beside each signal and query. */
export const DESCRIPTIONS = {
  status: 'The run: state, counts, tokens, spent/reserved/budget, circuit, chunks in flight.',
  pause: 'Stop dispatching; chunks in flight stop at their next item. Nothing is lost. Input: none.',
  resume: 'Continue a paused run exactly where it stopped. Input: none.',
  cancel: 'Stop everything and export what was done; items not done are listed as cancelled. Input: none.',
  raiseBudget: 'Add to the budget, e.g. {"amountUsd": 25}. A run in budget_exhausted resumes if the new budget allows.',
  setBudget: 'Set the budget to an amount, e.g. {"amountUsd": 100}.',
  approve: 'Approve the measured sample, or a quality hold (a spot-check below --min-pass-rate): the run goes on. Input: none.',
  reject: 'Reject after the sample or at a quality hold: the run ends as rejected, the results so far are kept. Input: none.',
  probe: 'While the circuit is open, send the probe call now instead of waiting. Input: none.',
} as const;

/** Sent by the run to a chunk it wants to stop at its next item. */
export const stopChunkSignal = defineSignal<[ChunkStopSignal]>('stop');

/** A batch chunk's view of its batch at the provider: what `llm-batch status` shows. */
export const batchChunkQuery = defineQuery<BatchChunkView>('batch');
