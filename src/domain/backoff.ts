// Retry delays: capped exponential backoff with jitter, or the provider's retry-after
// when it sent one. Pure; `random` is injectable for tests (and deterministic in workflows).

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** 0..1: the fraction of the delay that may be randomly taken off. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: 0.5 };

/** Extra wait on top of a provider's retry-after, as a fraction of it, so callers don't retry in lockstep. */
const RETRY_AFTER_JITTER = 0.1;

/** Delay before retry number `retry` (1 = first retry): initial × multiplier^(retry-1), capped, minus jitter. */
export function backoffDelayMs(
  retry: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be an integer >= 1, got ${retry}`);
  const d = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** (retry - 1));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return d * (1 - jitter * random());
}

/** Honours the provider's retry-after (at least that long, plus up to 10%); otherwise backoff. */
export function retryDelayMs(
  retry: number,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return retryAfterMs * (1 + RETRY_AFTER_JITTER * random());
  }
  return backoffDelayMs(retry, policy, random);
}
