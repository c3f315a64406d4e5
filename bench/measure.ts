// What the provider saw, measured on the provider's side: the emulator's counters and its
// bucket levels (the x-ratelimit-remaining-* headers of GET /_emulator/stats) sampled
// every 100 ms, and the steady-state rate computed from them the same way for both sides.
// The method is explained in bench/README.md.
import type { EmulatorStats } from '../src/emulator/server.ts';

export interface Sample {
  /** Epoch ms. */
  t: number;
  served: number;
  /** Tokens the emulator charged against TPM for served calls: prompt + max_tokens each. */
  chargedTokens: number;
  requests: number;
  rateLimited: number;
  /** Bucket levels (the emulator's remaining capacity), from its x-ratelimit-remaining-* headers. */
  requestsLevel: number;
  tokensLevel: number;
}

export class EmulatorSampler {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  private readonly origin: string;
  private readonly maxTokens: number;
  last: EmulatorStats | undefined;

  /** `maxTokens`: the max_tokens of every input item (the bench input uses one value). */
  constructor(origin: string, maxTokens: number, intervalMs = 100) {
    this.origin = origin;
    this.maxTokens = maxTokens;
    this.loop = (async () => {
      while (this.running) {
        await this.sample().catch(() => {}); // a missed sample (emulator busy or gone) is skipped
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  private async sample(): Promise<void> {
    const before = Date.now();
    const res = await fetch(`${this.origin}/_emulator/stats`);
    const s = (await res.json()) as EmulatorStats;
    const t = (before + Date.now()) / 2;
    this.last = s;
    this.samples.push({
      t,
      served: s.served,
      chargedTokens: s.promptTokens + this.maxTokens * s.served,
      requests: s.requests,
      rateLimited: s.rateLimited,
      requestsLevel: Number(res.headers.get('x-ratelimit-remaining-requests')),
      tokensLevel: Number(res.headers.get('x-ratelimit-remaining-tokens')),
    });
  }

  /** Stops sampling after one last sample; returns the final counters. */
  async stop(): Promise<EmulatorStats> {
    this.running = false;
    await this.loop;
    await this.sample();
    return this.last!;
  }
}

export type LimitKind = 'requests' | 'tokens';

export interface KindRate {
  /** Per minute, over the steady-state window. */
  perMinute: number;
  /** perMinute ÷ the per-minute limit (see README). */
  fraction: number;
}

export interface SteadyState {
  /** Window, in ms after the first call was admitted. */
  fromMs: number;
  toMs: number;
  requests: KindRate;
  tokens: KindRate;
  /** Binding limit's use of everything the provider could have admitted from the first call to the last, initial full bucket included. */
  burstInclusiveFraction: number;
}

const levelOf = (s: Sample, k: LimitKind): number => (k === 'requests' ? s.requestsLevel : s.tokensLevel);
const countOf = (s: Sample, k: LimitKind): number => (k === 'requests' ? s.served : s.chargedTokens);

/**
 * The steady-state part of a rate-limited run and the rates within it.
 * Window end: the first sample at which every call of the run had arrived, served or
 * refused: a client still retrying into 429s after its last admission is still at work,
 * and its steady state includes that time (for a client without 429s, its last admission).
 * Window start: the first sample at which the binding bucket's level is within 0.5% of the
 * limit of the lowest level it reaches before the end, i.e. once the client has spent all
 * of the initial burst it is going to spend (at once, for a client that never draws on it).
 * Fraction: the rate admitted over the window ÷ the limit's rate (limit × duration). No
 * credit for the bucket's stock: by conservation, admitted = limit × duration + (level at
 * start − level at end) whenever the bucket is below its cap, so "limit × duration + net
 * drop" as the denominator would read 100% for any client. The fraction falls below 100%
 * only when the bucket sits at its cap (refill wasted because the client sent too little).
 */
export function steadyState(samples: Sample[], limits: { requests: number; tokens: number }, binding: LimitKind, minWindowMs = 1000): SteadyState | undefined {
  const final = samples[samples.length - 1];
  const firstIdx = samples.findIndex((s) => s.served > 0);
  const endIdx = samples.findIndex((s) => s.requests === final.requests);
  if (firstIdx < 0 || endIdx <= firstIdx) return undefined;
  const startIdx = Math.max(0, firstIdx - 1); // the last sample before the first admission
  const L = limits[binding];
  let minLevel = Infinity;
  for (let i = startIdx; i <= endIdx; i++) minLevel = Math.min(minLevel, levelOf(samples[i], binding));
  let a = startIdx;
  while (a < endIdx && levelOf(samples[a], binding) > minLevel + 0.005 * L) a++;
  const sa = samples[a];
  const sb = samples[endIdx];
  const d = sb.t - sa.t;
  if (d < minWindowMs) return undefined;
  const rate = (k: LimitKind): KindRate => {
    const admitted = countOf(sb, k) - countOf(sa, k);
    const perMinute = (admitted / d) * 60_000;
    return { perMinute, fraction: perMinute / limits[k] };
  };
  const s0 = samples[startIdx];
  const whole = sb.t - s0.t;
  const burstInclusiveFraction = (countOf(sb, binding) - countOf(s0, binding)) / (levelOf(s0, binding) + (L * whole) / 60_000);
  return { fromMs: sa.t - s0.t, toMs: sb.t - s0.t, requests: rate('requests'), tokens: rate('tokens'), burstInclusiveFraction };
}

/** When the first call of the run was served (admitted) and when the last one was, from the samples (±100 ms). */
export function servedSpan(samples: Sample[]): { first: number; last: number } | undefined {
  const final = samples[samples.length - 1]?.served ?? 0;
  const first = samples.find((x) => x.served > 0);
  const last = samples.find((x) => x.served === final);
  return first && last && final > 0 ? { first: first.t, last: last.t } : undefined;
}

export interface ProfileRow {
  /** Seconds after the first call was served (the row covers [second, second + 1)). */
  second: number;
  served: number;
  rateLimited: number;
  /** Charged tokens admitted in that second. */
  tokens: number;
  /** The binding bucket's lowest level seen in that second. */
  minLevel: number;
}

/** Per second from the first served call: calls served, 429s, tokens admitted, the binding bucket's lowest level. */
export function perSecondProfile(samples: Sample[], binding: LimitKind): ProfileRow[] {
  const span = servedSpan(samples);
  if (!span) return [];
  const t0 = span.first - 100; // the sample before the first admission starts the first second
  const rows: ProfileRow[] = [];
  let prev = samples.filter((s) => s.t <= t0).at(-1) ?? samples[0];
  for (let sec = 0; ; sec++) {
    const inSec = samples.filter((s) => s.t > t0 + sec * 1000 && s.t <= t0 + (sec + 1) * 1000);
    if (inSec.length === 0) {
      if (t0 + sec * 1000 > samples[samples.length - 1].t) break;
      continue;
    }
    const end = inSec[inSec.length - 1];
    rows.push({
      second: sec,
      served: end.served - prev.served,
      rateLimited: end.rateLimited - prev.rateLimited,
      tokens: end.chargedTokens - prev.chargedTokens,
      minLevel: Math.min(...inSec.map((s) => levelOf(s, binding))),
    });
    prev = end;
  }
  return rows;
}
