// The pacing state of one provider account and model in Redis, shared by every worker on
// every host (DESIGN invariant 4). Each operation is one atomic Lua script
// (redis-pacer.lua, the rules of src/domain/pacing.ts) on Redis's own clock.
//
// Nothing is reserved that a dead worker could strand: an admission is taken from the
// shared bucket at once, and a waiter's mark (its priority, for the others to defer to)
// expires shortly after its retry time.
//
// When Redis does not answer, this worker never fails a call for it: it paces alone on a
// conservative local share of the limits (1 / the workers Redis last reported), says so in
// its log, and tries Redis again every RETRY_MS.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import * as pacing from '../domain/pacing.ts';
import type { Admission, InFlight, ObservedHeaders, PacerView, TakeRequest, TakeResult } from '../domain/pacing.ts';
import { LocalPacerStore, systemClock, type Caps, type Clock, type ConcurrencyQuestion, type PacerStore } from './pacer-store.ts';

const SCRIPT = readFileSync(new URL('./redis-pacer.lua', import.meta.url), 'utf8');
/** How long a cut-off worker paces alone before it asks Redis again. */
const RETRY_MS = 5000;

/** The rules' constants, handed to the script with every call (one source: src/domain/pacing.ts). */
export const PACER_CONSTANTS = {
  FACTOR_MAX: pacing.FACTOR_MAX,
  FACTOR_MIN: pacing.FACTOR_MIN,
  FACTOR_CUT: pacing.FACTOR_CUT,
  FACTOR_RECOVERY: pacing.FACTOR_RECOVERY,
  CUT_COOLDOWN_MS: pacing.CUT_COOLDOWN_MS,
  STOCK_MIN: pacing.STOCK_MIN,
  FLOOR_SHARE: pacing.FLOOR_SHARE,
  SEEN_GRACE_MS: pacing.SEEN_GRACE_MS,
  /** A state untouched this long is dropped (limits are learned again from the headers). */
  STATE_TTL_MS: 3_600_000,
  /** A worker not heard from this long no longer counts toward the fallback share. */
  WORKER_TTL_MS: 30_000,
};

declare module 'ioredis' {
  interface RedisCommander<Context> {
    llmBatchPacer(stateKey: string, workersKey: string, args: string): Result<string, Context>;
  }
}

/** Adds the pacing script to a client (EVALSHA, loaded on first use). */
export function definePacerScript(redis: Redis): void {
  if (typeof (redis as Partial<Redis>).llmBatchPacer !== 'function') redis.defineCommand('llmBatchPacer', { numberOfKeys: 2, lua: SCRIPT });
}

export interface RedisPacerOptions {
  redis: Redis;
  /** The account and model: `llm-batch:pacer:<key>` in Redis. */
  key: string;
  caps: Caps;
  log?: (message: string) => void;
  clock?: Clock;
  /** This worker's id in the workers set (default: a random one). */
  workerId?: string;
  /** How long a cut-off worker paces alone before it asks Redis again (default 5 s). */
  retryMs?: number;
  /** Tests only: the time the script uses instead of Redis's clock. */
  now?: () => number;
}

type ScriptResult = { now: number; workers: number; state: pacing.PacerState; ok?: boolean; waitMs?: number; cumR?: number; cumT?: number; at?: number };

export class RedisPacerStore implements PacerStore {
  private readonly o: RedisPacerOptions;
  private readonly clock: Clock;
  private readonly stateKey: string;
  private readonly workersKey: string;
  private readonly workerId: string;
  /** The shared state as of the last script call: sizes concurrency, and paces alone when cut off. */
  private readonly shadow: LocalPacerStore;
  private workers = 1;
  private cutOffUntil = 0;
  caps: Caps;

  constructor(o: RedisPacerOptions) {
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.caps = { ...o.caps };
    this.stateKey = `llm-batch:pacer:${o.key}`;
    this.workersKey = `llm-batch:pacer-workers:${o.key}`;
    this.workerId = o.workerId ?? randomUUID();
    this.shadow = new LocalPacerStore(o.caps, this.clock);
    definePacerScript(o.redis);
  }

  /** Whether this worker currently paces alone (Redis did not answer). */
  get cutOff(): boolean {
    return this.clock.now() < this.cutOffUntil;
  }

  private async run(op: string, args: Record<string, unknown> = {}): Promise<ScriptResult | undefined> {
    if (this.cutOff) return undefined;
    try {
      const payload = JSON.stringify({ op, c: PACER_CONSTANTS, caps: this.caps, worker: this.workerId, now: this.o.now?.(), ...args });
      const r = JSON.parse(await this.o.redis.llmBatchPacer(this.stateKey, this.workersKey, payload)) as ScriptResult;
      if (this.cutOffUntil !== 0) {
        this.cutOffUntil = 0;
        this.o.log?.(`rate limiter: Redis answers again; pacing ${this.o.key} with the other workers`);
      }
      this.workers = Math.max(1, r.workers);
      // Redis's clock may differ from ours: the shadow keeps the shared levels as of our now.
      Object.assign(this.shadow.state, r.state, { at: this.clock.now(), share: 1 });
      return r;
    } catch (e) {
      if (!this.cutOff) this.goAlone(e);
      return undefined;
    }
  }

  private goAlone(e: unknown): void {
    const firstTime = this.cutOffUntil === 0;
    this.cutOffUntil = this.clock.now() + (this.o.retryMs ?? RETRY_MS);
    if (!firstTime) return;
    const s = this.shadow.state;
    s.share = 1 / this.workers;
    // Start empty: what the others spent meanwhile is unknown.
    s.rLvl = Math.min(s.rLvl, 0);
    s.tLvl = Math.min(s.tLvl, 0);
    this.o.log?.(
      `rate limiter: Redis did not answer (${(e as Error).message}); pacing ${this.o.key} alone on 1/${this.workers} of the limits ` +
        '(the workers Redis last knew) until it answers again',
    );
  }

  async take(req: TakeRequest): Promise<TakeResult> {
    const r = await this.run('take', { tokens: req.tokens, priority: req.priority });
    if (!r) return this.shadow.take(req);
    return r.ok ? { ok: true, cumR: r.cumR!, cumT: r.cumT!, at: r.at! } : { ok: false, waitMs: r.waitMs! };
  }

  async observe(admission: Admission, headers: ObservedHeaders, inFlight?: InFlight): Promise<void> {
    if (await this.run('observe', { admission, headers, inFlight })) return;
    // Alone: learn limits only; the admission's counters belong to the shared state.
    const { limitRequests, limitTokens } = headers;
    await this.shadow.observe(admission, { limitRequests, limitTokens });
  }

  async rateLimited(pauseMs: number): Promise<void> {
    if (!(await this.run('limited', { pauseMs }))) await this.shadow.rateLimited(pauseMs);
  }

  async setCaps(caps: Caps): Promise<void> {
    this.caps = { ...caps };
    if (!(await this.run('caps'))) await this.shadow.setCaps(caps);
  }

  desiredConcurrency(q: ConcurrencyQuestion): number {
    return this.shadow.desiredConcurrency(q);
  }

  view(): PacerView {
    return this.shadow.view();
  }

  /** The shared state as Redis holds it (tests, diagnostics). */
  async sharedState(): Promise<pacing.PacerState | undefined> {
    return (await this.run('state'))?.state;
  }
}
