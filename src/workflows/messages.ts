// Signals, queries and updates of a run, defined beside the workflows (issue 3 adds the
// operator's signals here).
import { defineQuery } from '@temporalio/workflow';
import type { RunStatus } from '../domain/run-types.ts';

/** The run's live status: counts, tokens, money, chunks in flight. */
export const statusQuery = defineQuery<RunStatus>('status');
