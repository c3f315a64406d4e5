// --schema on the realtime path: an answer that does not match what its request asked for is
// asked again, up to the run's schema retries, each attempt a new call, priced and counted:
// a discarded answer's cost and tokens are recorded at once as a retry of the item (store: retry cost),
// so spend sees it now, a crash loses none of it, and the item's final result adds it to its
// own. After the retries the item fails with schema_mismatch (the validation errors and the
// raw content in its message, the last answer as its response); a refusal fails at once
// with code refusal (asking again would be paid for the same refusal).
import type { RunConfig } from '../domain/run-types.ts';
import { DEFAULT_SCHEMA_RETRIES } from '../domain/response-schema.ts';
import type { ItemResult, ItemStore } from '../store/item-store.ts';
import { checkAnswer } from '../llm/answer-check.ts';

/** The result with its answer checked, when it succeeded: a failure with the check's code when the answer is not fit. */
export function checkedResult(result: ItemResult, body: unknown): { result: ItemResult; retryable: boolean } {
  if (result.status !== 'succeeded') return { result, retryable: false };
  const check = checkAnswer(body, result.response ?? (result.responseJson !== undefined ? JSON.parse(result.responseJson) : undefined));
  if (check.ok) return { result, retryable: false };
  return { result: { ...result, status: 'failed', error: { code: check.code, message: check.message } }, retryable: check.code === 'schema_mismatch' };
}

/** Whether a stored answer (a cache entry) passes the check its request asks for. */
export const answerFits = (requestBody: unknown, responseBody: unknown): boolean => checkAnswer(requestBody, responseBody).ok;

/** Whether answers of this run are validated (--schema given). */
export const validatesAnswers = (config: RunConfig): boolean => config.responseSchema !== undefined;

/**
 * Calls until the answer is fit or the retries are spent. `call(priorAttempts)` is one item
 * call (undefined when not done: stopped, left pending); `onDiscarded` hears each discarded
 * answer's cost (the chunk's spend and cap).
 */
export async function callUntilValid(
  deps: { store: ItemStore; config: RunConfig },
  item: { customId: string; attempts: number },
  body: unknown,
  call: (priorAttempts: number) => Promise<ItemResult | undefined>,
  onDiscarded: (costUsd: number) => void,
): Promise<ItemResult | undefined> {
  if (!validatesAnswers(deps.config)) return call(item.attempts);
  const retries = deps.config.schemaRetries ?? DEFAULT_SCHEMA_RETRIES;
  let prior = item.attempts;
  for (let retried = 0; ; retried++) {
    const raw = await call(prior);
    if (raw === undefined) return undefined;
    const { result, retryable } = checkedResult(raw, body);
    if (!retryable || retried >= retries) return result;
    const costUsd = raw.costUsd ?? 0;
    await deps.store.recordRetries(deps.config.runId, [{ customId: item.customId, attempts: raw.attempts, costUsd, ...(raw.usage ? { usage: raw.usage } : {}), error: result.error!, mode: 'realtime' }]);
    onDiscarded(costUsd);
    prior = raw.attempts;
  }
}
