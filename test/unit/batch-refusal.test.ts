// Which provider answers are refusals, what the refused items' errors say, and where the
// items the Batch API will not take go (domain/batch-refusal.ts).
import { describe, expect, it } from 'vitest';
import { BATCH_REFUSED, batchRefusedError, isRefusalStatus, refusedFileGoesRealtime, TOO_LARGE_FOR_BATCH, tooLargeForBatchError, tooLargeGoesRealtime } from '../../src/domain/batch-refusal.ts';

describe('batch refusals', () => {
  it('a 4xx is a refusal, except 408, 409 and 429 (worth retrying); 5xx and no status are not', () => {
    for (const s of [400, 401, 403, 404, 413, 422]) expect(isRefusalStatus(s), String(s)).toBe(true);
    for (const s of [408, 409, 429, 500, 503, 200, undefined]) expect(isRefusalStatus(s), String(s)).toBe(false);
  });

  it('a refused file\'s items carry the provider\'s message, the step and the status under batch_refused', () => {
    expect(batchRefusedError({ step: 'upload', status: 400, message: 'Invalid file format for Batch API.' })).toEqual({
      code: BATCH_REFUSED, status: 400, message: 'the provider refused the upload of its batch input file (HTTP 400): Invalid file format for Batch API.',
    });
    expect(batchRefusedError({ step: 'create', status: 403, message: 'no access' }).message).toBe('the provider refused the creation of its batch (HTTP 403): no access');
    expect(BATCH_REFUSED).toBe('batch_refused');
  });

  it('an item over --max-batch-bytes: the message names its custom_id, its size and the limit, and how to get it through', () => {
    const e = tooLargeForBatchError('doc-17', 250_000_000, 209_715_200);
    expect(e.code).toBe(TOO_LARGE_FOR_BATCH);
    expect(TOO_LARGE_FOR_BATCH).toBe('too_large_for_batch');
    expect(e.message).toContain('custom_id "doc-17"');
    expect(e.message).toContain('250000000 bytes');
    expect(e.message).toContain('209715200-byte limit');
    expect(e.message).toContain('--max-batch-bytes');
    expect(e.message).toContain('--on-batch-failure realtime');
  });

  it('a refused file goes realtime only with --on-batch-failure realtime; an oversize item also in a hybrid run', () => {
    expect(refusedFileGoesRealtime({ onBatchFailure: 'realtime' })).toBe(true);
    expect(refusedFileGoesRealtime({ onBatchFailure: 'resubmit' })).toBe(false);
    expect(tooLargeGoesRealtime({ mode: 'batch', onBatchFailure: 'resubmit' })).toBe(false);
    expect(tooLargeGoesRealtime({ mode: 'batch', onBatchFailure: 'realtime' })).toBe(true);
    expect(tooLargeGoesRealtime({ mode: 'hybrid', onBatchFailure: 'resubmit' })).toBe(true);
  });
});
