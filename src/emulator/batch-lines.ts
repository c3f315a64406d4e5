// The lines of a batch's output and error files, in OpenAI's shape, and the order in
// which a batch's lines complete (a seeded shuffle: clients must not rely on input order).
// Pure apart from the ids minted per line.
import { nextBatchRequestId, nextRequestId } from './ids.ts';
import { rngFromDigest, sha256 } from './random.ts';
import { serverError } from './errors.ts';

/** A served line: the response body (JSON text) is embedded without parsing it again. */
export function outputLine(customId: string, body: string): string {
  return `{"id":"${nextBatchRequestId()}","custom_id":${JSON.stringify(customId)},"response":{"status_code":200,"request_id":"${nextRequestId()}","body":${body}},"error":null}\n`;
}

const SERVER_ERROR_BODY = JSON.stringify(serverError().body);

/** A line that failed with a 500, as the error file lists it. */
export function serverErrorLine(customId: string): string {
  return `{"id":"${nextBatchRequestId()}","custom_id":${JSON.stringify(customId)},"response":{"status_code":500,"request_id":"${nextRequestId()}","body":${SERVER_ERROR_BODY}},"error":null}\n`;
}

/** A line the batch never ran because it expired. */
export function expiredLine(customId: string): string {
  return `{"id":"${nextBatchRequestId()}","custom_id":${JSON.stringify(customId)},"response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}\n`;
}

/** A permutation of 0..n-1 seeded by `key` (Fisher–Yates). */
export function shuffledOrder(n: number, key: string): Uint32Array {
  const rng = rngFromDigest(sha256(key));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Whether the line `customId` of batch `batchId` fails: a fresh draw per (seed, batch, line). */
export function lineFails(rate: number, seed: number, batchId: string, customId: string): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  return rngFromDigest(sha256(`${seed}\u0000${batchId}\u0000${customId}`))() < rate;
}
