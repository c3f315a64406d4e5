// Where the pacing state of one provider account and model lives: in this process
// (LocalPacerStore), or in Redis, shared by every worker (RedisPacerStore). The rules are
// the pure functions of src/domain/pacing.ts in both.
import {
  desiredConcurrency,
  newPacerState,
  observe,
  rateLimited,
  setCaps,
  take,
  viewOf,
  type Admission,
  type InFlight,
  type ObservedHeaders,
  type PacerState,
  type PacerView,
  type TakeRequest,
  type TakeResult,
} from '../domain/pacing.ts';

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal!.reason);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface Caps {
  rpm?: number;
  tpm?: number;
}

export interface ConcurrencyQuestion {
  latencyMs: number;
  chargeTokens: number;
  min: number;
  max: number;
}

export interface PacerStore {
  take(req: TakeRequest): Promise<TakeResult>;
  observe(admission: Admission, headers: ObservedHeaders, inFlight?: InFlight): Promise<void>;
  rateLimited(pauseMs: number): Promise<void>;
  setCaps(caps: Caps): Promise<void>;
  /** The configured caps, as last set. */
  readonly caps: Caps;
  /** Answered from this process's own view (no I/O): it sizes the concurrency gate. */
  desiredConcurrency(q: ConcurrencyQuestion): number;
  view(): PacerView;
}

/** The pacing state in this process. */
export class LocalPacerStore implements PacerStore {
  readonly state: PacerState;
  private readonly clock: Clock;
  caps: Caps;

  constructor(caps: Caps, clock: Clock = systemClock) {
    this.clock = clock;
    this.caps = { ...caps };
    this.state = newPacerState(caps, clock.now());
  }

  take(req: TakeRequest): Promise<TakeResult> {
    return Promise.resolve(take(this.state, req, this.clock.now()));
  }

  observe(admission: Admission, headers: ObservedHeaders, inFlight?: InFlight): Promise<void> {
    observe(this.state, admission, headers, this.clock.now(), inFlight);
    return Promise.resolve();
  }

  rateLimited(pauseMs: number): Promise<void> {
    rateLimited(this.state, pauseMs, this.clock.now());
    return Promise.resolve();
  }

  setCaps(caps: Caps): Promise<void> {
    this.caps = { ...caps };
    setCaps(this.state, caps, this.clock.now());
    return Promise.resolve();
  }

  desiredConcurrency(q: ConcurrencyQuestion): number {
    return desiredConcurrency(this.state, q, this.clock.now());
  }

  view(): PacerView {
    return viewOf(this.state, this.clock.now());
  }
}
