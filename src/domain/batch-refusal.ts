// When the provider will not take a batch: a refused upload or creation (a 4xx answer other
// than 408, 409 and 429, which are worth retrying), or an item whose line alone is over the
// run's --max-batch-bytes (a file the provider would refuse). Refusals are data (DESIGN
// invariant 6): the items fail with a code of their own, or go realtime; the run goes on.
// Pure: the activities (batch-api.ts) and the planning (batch-plan.ts) use it.
import type { RunConfig } from './run-types.ts';

/** Item error codes of this file (fixed names, see the issue-12 briefs). */
export const BATCH_REFUSED = 'batch_refused';
export const TOO_LARGE_FOR_BATCH = 'too_large_for_batch';

/** The step of a submission the provider refused. */
export type RefusedStep = 'upload' | 'create';

/** What the provider said when it refused. */
export interface BatchRefusal {
  step: RefusedStep;
  /** HTTP status of the refusal. */
  status: number;
  /** The provider's own message. */
  message: string;
}

/** An item error, in the store's shape. */
export interface RefusalError {
  code: string;
  message: string;
  status?: number;
}

/** Is an HTTP status a refusal (the provider will not take this file or batch), rather than trouble worth retrying? */
export function isRefusalStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429;
}

/** The error each item of a refused file gets. */
export function batchRefusedError(r: BatchRefusal): RefusalError {
  const what = r.step === 'upload' ? 'the upload of its batch input file' : 'the creation of its batch';
  return { code: BATCH_REFUSED, message: `the provider refused ${what} (HTTP ${r.status}): ${r.message}`, status: r.status };
}

/** A refused file's items go through the realtime path (full price) with --on-batch-failure realtime; otherwise they fail. */
export function refusedFileGoesRealtime(config: Pick<RunConfig, 'onBatchFailure'>): boolean {
  return config.onBatchFailure === 'realtime';
}

/**
 * An item over --max-batch-bytes goes through the realtime path (full price) in a hybrid run
 * (which has one for its urgent items) or with --on-batch-failure realtime; otherwise it fails
 * at planning, before anything is uploaded.
 */
export function tooLargeGoesRealtime(config: Pick<RunConfig, 'mode' | 'onBatchFailure'>): boolean {
  return config.mode === 'hybrid' || config.onBatchFailure === 'realtime';
}

/** The error of an item whose batch input line alone is over the file limit. */
export function tooLargeForBatchError(customId: string, bytes: number, maxBytes: number): RefusalError {
  return {
    code: TOO_LARGE_FOR_BATCH,
    message:
      `custom_id "${customId}": its batch input line is ${bytes} bytes, over the ${maxBytes}-byte limit of a batch file (--max-batch-bytes); ` +
      'a file holding it would be refused. Shorten the request, raise --max-batch-bytes (up to 200 MB), or send it realtime (--mode hybrid or --on-batch-failure realtime)',
  };
}
