// Pacing of one provider account and model: how many requests and tokens may go now.
// Pure: every function takes the time. The same state and rules run in one process
// (LocalPacerStore in src/llm/pacer-store.ts) and, shared by every worker, in Redis
// (src/llm/redis-pacer.lua ports these functions line by line; a unit test runs both).
//
// The design:
// - A MIRROR OF THE ENFORCED BUCKET, per dimension (requests, tokens). Providers enforce
//   per-minute limits over short windows (OpenAI: "1 request per second for a 60 RPM
//   limit"), so the bucket's capacity is what the provider's own headers say it is
//   (remaining + reset × rate), one second of the limit until they say, and never more
//   than one second of a configured cap that is below the account's limit.
// - PACED UNDER THE LIMIT, AIMD: the mirror refills at factor × limit. The factor starts at
//   FACTOR_MAX (just under the nominal limit, so arrival jitter finds room), is cut by
//   FACTOR_CUT on a 429 (at most once per CUT_COOLDOWN_MS: one storm is one signal), and
//   climbs back by FACTOR_RECOVERY per second without one.
// - A SMOOTH START: a limit newly known starts the mirror at one call, not a second's
//   burst. From an emptied provider bucket the arrival jitter of the next calls is refused,
//   and refusals count against the bucket, so they would stay refused.
// - A BURST ONLY WHEN IT IS REALLY THERE: each answer's x-ratelimit-remaining bounds the
//   provider's stock now. At least: remaining less every call admitted after it and every
//   earlier one still on its way. At most: remaining refilled since, less the later calls
//   already answered. Above STOCK_MIN of the bucket (and two seconds of the limit) the
//   mirror rises to the lower bound less one second, which stays at the provider for the
//   jitter after the burst: a fresh account spends its full bucket at once. Above the upper
//   bound the mirror is lowered (someone else spends the account). Answers older than one
//   already heard are ignored: calls admitted after them overtook them. A 429 while the
//   mirror held such stock means the headers overstate the burst: stock is not trusted
//   again and capacity falls back to one second.
// - PRIORITIES, 1 (most urgent) to 5: a caller that finds a more urgent one waiting may
//   only use the floor, a bucket refilling at FLOOR_SHARE of the paced rate; the more
//   urgent caller leaves one call's room for it when the floor is ready. Waiting is
//   recorded per priority until the waiter's retry time plus SEEN_GRACE_MS, which works
//   the same across processes (Redis) as within one.
// - Configured --rpm/--tpm are caps: the limit used is min(cap, the provider's limit).

export const FACTOR_MAX = 0.985;
export const FACTOR_MIN = 0.2;
export const FACTOR_CUT = 0.75;
/** Factor regained per second without a 429. */
export const FACTOR_RECOVERY = 0.02;
export const CUT_COOLDOWN_MS = 1000;
/** The provider's stock is spent at once only above this share of its bucket (and above 2 s of the limit). */
export const STOCK_MIN = 0.5;
/** Share of the paced rate a less urgent priority keeps while a more urgent one waits. */
export const FLOOR_SHARE = 0.1;
export const SEEN_GRACE_MS = 250;
/** `--concurrency auto` keeps this many times the calls Little's law says the paced rate needs. */
export const CONCURRENCY_HEADROOM = 2;
export const PRIORITIES = [1, 2, 3, 4, 5] as const;
export { DEFAULT_PRIORITY } from './priority.ts';

/**
 * The whole state, flat numbers only so that a Redis hash can hold the same fields.
 * 0 means "unknown / none" for caps, limits and capacities.
 */
export interface PacerState {
  /** Configured caps (--rpm/--tpm), per minute. */
  rCap: number;
  tCap: number;
  /** The provider's limits from x-ratelimit-limit-*, per minute. */
  rLim: number;
  tLim: number;
  /** The enforced bucket's capacity, learned from remaining + reset. */
  rK: number;
  tK: number;
  /** Mirror levels (negative: debt of an oversize call) as of `at`. */
  rLvl: number;
  tLvl: number;
  at: number;
  /** When the factor was last cut (0: never), and to what; it recovers from there. */
  cutAt: number;
  cutFactor: number;
  pausedUntil: number;
  /** 1 while the provider's remaining headers are trusted for bursts. */
  trust: number;
  /** The share of the account this state paces (1; 1/N for a worker cut off from the shared store). */
  share: number;
  floorLvl: number;
  /** Everything ever admitted: an answer's remaining is aged by what was admitted after its call. */
  cumR: number;
  cumT: number;
  /** Per priority: until when a waiter of that priority counts as waiting, and its token charge. */
  seen1: number; seen2: number; seen3: number; seen4: number; seen5: number;
  seenTok1: number; seenTok2: number; seenTok3: number; seenTok4: number; seenTok5: number;
}

export type Dim = 'r' | 't';
type SeenKey = `seen${1 | 2 | 3 | 4 | 5}`;
type SeenTokKey = `seenTok${1 | 2 | 3 | 4 | 5}`;

export function newPacerState(caps: { rpm?: number; tpm?: number }, now: number): PacerState {
  const s: PacerState = {
    rCap: caps.rpm ?? 0, tCap: caps.tpm ?? 0, rLim: 0, tLim: 0, rK: 0, tK: 0, rLvl: 0, tLvl: 0, at: now,
    cutAt: 0, cutFactor: FACTOR_MAX, pausedUntil: 0, trust: 1, share: 1, floorLvl: 1, cumR: 0, cumT: 0,
    seen1: 0, seen2: 0, seen3: 0, seen4: 0, seen5: 0, seenTok1: 0, seenTok2: 0, seenTok3: 0, seenTok4: 0, seenTok5: 0,
  };
  s.rLvl = startLevel(s, 'r');
  s.tLvl = startLevel(s, 't');
  return s;
}

/**
 * Where the mirror starts when a limit becomes known: one call, no stock. Spending even one
 * second of stock at once empties the provider's bucket, and from empty the arrival jitter of
 * the next calls is refused (refusals count, so they stay refused); starting smooth loses
 * nothing but that one second, and a real stock is taken by the rule in observe().
 */
function startLevel(s: PacerState, d: Dim): number {
  return d === 'r' ? Math.min(1, capacityOf(s, d)) : 0;
}

const cap = (s: PacerState, d: Dim): number => (d === 'r' ? s.rCap : s.tCap);
const lim = (s: PacerState, d: Dim): number => (d === 'r' ? s.rLim : s.tLim);
const learnedK = (s: PacerState, d: Dim): number => (d === 'r' ? s.rK : s.tK);
const level = (s: PacerState, d: Dim): number => (d === 'r' ? s.rLvl : s.tLvl);
function setLevel(s: PacerState, d: Dim, v: number): void {
  if (d === 'r') s.rLvl = v;
  else s.tLvl = v;
}

/** The per-minute limit paced against: the smaller of the cap and the provider's limit; 0 = unlimited. */
export function limitOf(s: PacerState, d: Dim): number {
  const c = cap(s, d);
  const l = lim(s, d);
  return (c > 0 && l > 0 ? Math.min(c, l) : c > 0 ? c : l) * s.share;
}

/** The mirror's capacity: the provider's learned bucket, one second of the limit until known, one second of a binding cap. */
export function capacityOf(s: PacerState, d: Dim): number {
  const L = limitOf(s, d);
  if (L === 0) return 0;
  const c = cap(s, d);
  const k = learnedK(s, d) * s.share;
  let capacity = k > 0 ? Math.min(k, L) : L / 60;
  if (s.trust !== 1) capacity = Math.min(capacity, L / 60);
  if (c > 0 && (lim(s, d) === 0 || c < lim(s, d))) capacity = Math.min(capacity, (c * s.share) / 60);
  return capacity;
}

/** The AIMD factor at `now`: the cut value plus what it regained since. */
export function factorAt(s: PacerState, now: number): number {
  if (s.cutAt === 0) return FACTOR_MAX;
  return Math.min(FACTOR_MAX, s.cutFactor + (FACTOR_RECOVERY * Math.max(0, now - s.cutAt)) / 1000);
}

/** Paced refill per ms of one dimension. */
const paceRate = (s: PacerState, d: Dim, now: number): number => (limitOf(s, d) * factorAt(s, now)) / 60_000;

/** Requests per second the pacing admits: the binding of requests and tokens at this charge. */
export function admissionRatePerSec(s: PacerState, chargeTokens: number, now: number): number {
  const f = factorAt(s, now);
  const byR = s.rLim || s.rCap ? (limitOf(s, 'r') * f) / 60 : Infinity;
  const byT = (s.tLim || s.tCap) && chargeTokens > 0 ? (limitOf(s, 't') * f) / 60 / chargeTokens : Infinity;
  return Math.min(byR, byT);
}

/** Brings levels, the factor and the floor up to `now`. */
export function refill(s: PacerState, now: number, floorCharge: number): void {
  const dt = now - s.at;
  if (dt <= 0) return;
  // Integrate the recovering factor exactly enough: use the factor at the midpoint.
  const f = factorAt(s, s.at + dt / 2);
  for (const d of ['r', 't'] as const) {
    const L = limitOf(s, d);
    if (L === 0) continue;
    setLevel(s, d, Math.min(capacityOf(s, d), level(s, d) + (dt * L * f) / 60_000));
  }
  const floorRate = FLOOR_SHARE * admissionRatePerSec(s, floorCharge, s.at + dt / 2);
  if (Number.isFinite(floorRate)) s.floorLvl = Math.min(1, s.floorLvl + (dt * floorRate) / 1000);
  else s.floorLvl = 1;
  s.at = now;
}

/** Ms until `amount` fits a dimension (0 = now). An oversize amount needs a full bucket. */
function dimWaitMs(s: PacerState, d: Dim, amount: number, now: number): number {
  const L = limitOf(s, d);
  if (L === 0) return 0;
  const need = Math.min(amount, capacityOf(s, d));
  const deficit = need - level(s, d);
  return deficit <= 1e-9 ? 0 : deficit / paceRate(s, d, now);
}

export interface TakeRequest {
  tokens: number;
  priority: number;
}

export type TakeResult =
  | { ok: true; cumR: number; cumT: number; at: number }
  | { ok: false; waitMs: number };

const seenKey = (p: number): SeenKey => `seen${p}` as SeenKey;
const seenTokKey = (p: number): SeenTokKey => `seenTok${p}` as SeenTokKey;

/** The most urgent priority with a waiter now (6 when none). */
export function mostUrgentWaiting(s: PacerState, now: number): number {
  for (const p of PRIORITIES) if (s[seenKey(p)] > now) return p;
  return 6;
}

/** The most urgent priority less urgent than `p` with a waiter now (undefined when none). */
function lessUrgentWaiting(s: PacerState, p: number, now: number): number | undefined {
  for (const q of PRIORITIES) if (q > p && s[seenKey(q)] > now) return q;
  return undefined;
}

/**
 * Takes one request and `tokens` if the pacing allows it now; otherwise records the caller as
 * waiting and says how long until it may try again.
 */
export function take(s: PacerState, req: TakeRequest, now: number): TakeResult {
  const p = Math.min(5, Math.max(1, Math.round(req.priority)));
  const urgent = mostUrgentWaiting(s, now);
  const viaFloor = p > urgent;
  const lower = viaFloor ? undefined : lessUrgentWaiting(s, p, now);
  refill(s, now, lower !== undefined ? s[seenTokKey(lower)] : req.tokens);
  let wait = Math.max(0, s.pausedUntil - now);
  // A more urgent caller leaves one call's room for a starving one when the floor is ready.
  const reserve = lower !== undefined && s.floorLvl >= 1 ? { r: 1, t: s[seenTokKey(lower)] } : { r: 0, t: 0 };
  wait = Math.max(wait, dimWaitMs(s, 'r', 1 + reserve.r, now), dimWaitMs(s, 't', req.tokens + reserve.t, now));
  if (viaFloor && s.floorLvl < 1) {
    const floorRate = FLOOR_SHARE * admissionRatePerSec(s, req.tokens, now);
    wait = Math.max(wait, Number.isFinite(floorRate) && floorRate > 0 ? ((1 - s.floorLvl) * 1000) / floorRate : 0);
  }
  if (wait > 0) {
    s[seenKey(p)] = Math.max(s[seenKey(p)], now + wait + SEEN_GRACE_MS);
    s[seenTokKey(p)] = req.tokens;
    return { ok: false, waitMs: wait };
  }
  if (limitOf(s, 'r') > 0) s.rLvl -= 1;
  if (limitOf(s, 't') > 0) s.tLvl -= req.tokens;
  if (viaFloor) s.floorLvl -= 1;
  s.cumR += 1;
  s.cumT += req.tokens;
  return { ok: true, cumR: s.cumR, cumT: s.cumT, at: now };
}

/** What one admitted call carries back to observe(): when, and the cumulative counts including it. */
export interface Admission {
  at: number;
  cumR: number;
  cumT: number;
  tokens: number;
}

export interface ObservedHeaders {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  resetRequestsMs?: number;
  resetTokensMs?: number;
}

/**
 * Our other calls not answered yet, admitted before and after the answered one. Whether the
 * provider had counted them in that answer's remaining is unknown: the ones after may have
 * overtaken it, the ones before may still be on their way.
 */
export interface InFlight {
  requestsBefore: number;
  tokensBefore: number;
  requestsAfter: number;
  tokensAfter: number;
}

export const NONE_IN_FLIGHT: InFlight = { requestsBefore: 0, tokensBefore: 0, requestsAfter: 0, tokensAfter: 0 };

/**
 * Learns limits and the bucket's capacity from an answer's headers, and corrects the mirror by
 * its remaining. Whether the calls admitted after this one and still in flight were counted in
 * that remaining is unknown: the mirror is lowered only if it is above the provider's stock even
 * counting them as counted, and raised only if the stock is there even counting them as not.
 */
export function observe(s: PacerState, admission: Admission, h: ObservedHeaders, now: number, inFlight: InFlight = NONE_IN_FLIGHT): void {
  refill(s, now, admission.tokens);
  const dims: [Dim, number | undefined, number | undefined, number | undefined, number, number, number][] = [
    ['r', h.limitRequests, h.remainingRequests, h.resetRequestsMs, s.cumR - admission.cumR, inFlight.requestsAfter, inFlight.requestsBefore],
    ['t', h.limitTokens, h.remainingTokens, h.resetTokensMs, s.cumT - admission.cumT, inFlight.tokensAfter, inFlight.tokensBefore],
  ];
  for (const [d, limit, remaining, resetMs, admittedSince, after, before] of dims) {
    if (limit !== undefined && limit > 0 && limit !== lim(s, d)) {
      const fresh = limitOf(s, d) === 0;
      if (d === 'r') s.rLim = limit;
      else s.tLim = limit;
      if (fresh) setLevel(s, d, startLevel(s, d));
    }
    const L = lim(s, d);
    if (L === 0 || remaining === undefined) continue;
    if (resetMs !== undefined) {
      // remaining is rounded down and reset up (by < 1 ms): this recovers the whole capacity.
      const k = Math.ceil(remaining + ((resetMs - 1) * L) / 60_000 - 1e-9);
      if (k > 0) {
        if (d === 'r') s.rK = k;
        else s.tK = k;
      }
    }
    const capacity = capacityOf(s, d);
    // The provider's stock now, at most: its remaining then, refilled at its own rate since our
    // call was admitted, less what we admitted after it that it has surely counted by now.
    const refilled = (Math.max(0, now - admission.at) * L) / 60_000;
    const atMost = Math.min(capacity, remaining + refilled - (admittedSince - after));
    if (atMost + 1 < level(s, d)) setLevel(s, d, atMost + 1); // +1: remaining is rounded down
    // ... and at least: no refill (the call may have waited to arrive), everything after it and
    // everything before it still on its way charged. A real stock is spent at once, all but one
    // second of it: that second stays at the provider for the arrival jitter after the burst.
    const atLeast = Math.min(capacity, remaining - admittedSince - before);
    const second = limitOf(s, d) / 60;
    if (s.trust === 1 && atLeast - second > level(s, d) && atLeast >= Math.max(STOCK_MIN * capacity, 2 * second)) {
      setLevel(s, d, atLeast - second);
    }
  }
}

/** A 429 for rate limits: cut the factor (once per cooldown), hold everyone for `pauseMs`, empty the mirror. */
export function rateLimited(s: PacerState, pauseMs: number, now: number): void {
  refill(s, now, 0);
  if (s.cutAt === 0 || now - s.cutAt >= CUT_COOLDOWN_MS) {
    s.cutFactor = Math.max(FACTOR_MIN, factorAt(s, now) * FACTOR_CUT);
    s.cutAt = now;
  }
  // Refused while the mirror held more than two seconds of stock: the headers overstate the burst.
  for (const d of ['r', 't'] as const) {
    const L = limitOf(s, d);
    if (L > 0 && level(s, d) > (2 * L) / 60) s.trust = 0;
  }
  for (const d of ['r', 't'] as const) setLevel(s, d, Math.min(level(s, d), 0));
  s.pausedUntil = Math.max(s.pausedUntil, now + Math.max(0, pauseMs));
}

/** Changes the configured caps (a later run may say other --rpm/--tpm). */
export function setCaps(s: PacerState, caps: { rpm?: number; tpm?: number }, now: number): void {
  refill(s, now, 0);
  for (const d of ['r', 't'] as const) {
    const wasUnlimited = limitOf(s, d) === 0;
    const c = (d === 'r' ? caps.rpm : caps.tpm) ?? 0;
    if (d === 'r') s.rCap = c;
    else s.tCap = c;
    if (wasUnlimited) setLevel(s, d, startLevel(s, d));
    else setLevel(s, d, Math.min(level(s, d), capacityOf(s, d)));
  }
}

/** Little's law: calls in flight to keep the paced rate busy at this latency, within [min, max]. */
export function desiredConcurrency(
  s: PacerState,
  o: { latencyMs: number; chargeTokens: number; min: number; max: number },
  now: number,
): number {
  // With stock to spend (a full fresh bucket), as many as allowed.
  for (const d of ['r', 't'] as const) {
    const L = limitOf(s, d);
    if (L > 0 && level(s, d) > (2 * L) / 60) return o.max;
  }
  const rate = admissionRatePerSec(s, o.chargeTokens, now);
  if (!Number.isFinite(rate)) return o.max;
  // Twice what the mean needs: latency varies, and a slot that waits in the limiter costs
  // nothing at the provider, while a run with no call waiting loses its turn to other runs.
  const n = Math.ceil(rate * (Math.max(1, o.latencyMs) / 1000) * CONCURRENCY_HEADROOM) + 1;
  return Math.max(o.min, Math.min(o.max, n));
}

export interface PacerView {
  rpm?: number;
  tpm?: number;
  requestsAvailable: number;
  tokensAvailable: number;
  requestsCapacity: number;
  tokensCapacity: number;
  factor: number;
  pausedUntil: number;
  trustsStock: boolean;
}

export function viewOf(s: PacerState, now: number): PacerView {
  refill(s, now, 0);
  const v: PacerView = {
    requestsAvailable: limitOf(s, 'r') > 0 ? s.rLvl : Infinity,
    tokensAvailable: limitOf(s, 't') > 0 ? s.tLvl : Infinity,
    requestsCapacity: capacityOf(s, 'r'),
    tokensCapacity: capacityOf(s, 't'),
    factor: factorAt(s, now),
    pausedUntil: s.pausedUntil,
    trustsStock: s.trust === 1,
  };
  if (limitOf(s, 'r') > 0) v.rpm = limitOf(s, 'r');
  if (limitOf(s, 't') > 0) v.tpm = limitOf(s, 't');
  return v;
}
