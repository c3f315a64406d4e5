// The circuit breaker's tripwire inside a worker process: every chunk of a run (in one
// circuit epoch) shares one, so when consecutive provider failures reach the threshold
// all of them stop at once instead of each burning its own retries on a provider that is down.
import { FailureStreak } from '../domain/circuit-breaker.ts';
import type { ProviderHealth } from './provider.ts';

export class SharedProviderHealth implements ProviderHealth {
  private readonly streak: FailureStreak;
  private readonly abort = new AbortController();

  constructor(threshold: number) {
    this.streak = new FailureStreak(threshold);
  }

  success(): void {
    this.streak.success();
  }

  failure(): boolean {
    const tripped = this.streak.failure();
    if (tripped && !this.abort.signal.aborted) this.abort.abort(new Error('the provider looks unavailable'));
    return tripped;
  }

  get tripped(): boolean {
    return this.streak.tripped;
  }

  /** Aborts when the tripwire trips: chunks stop waiting and starting calls. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }
}
