// Requests- and tokens-per-minute limits as OpenAI applies them: continuous token buckets
// (capacity = the per-minute limit, refilling at limit/60000 per ms, starting full), the
// `x-ratelimit-*` header values, and Go-style duration strings ("6ms", "1.5s", "1m0s")
// that OpenAI uses in those headers. Pure: the clock is injected. The client reuses
// `parseGoDuration` / `formatGoDuration` to read the headers.

/** Limit reported in headers when a limit is not configured. */
export const UNLIMITED = 100_000_000;

const NS_PER_MS = 1e6;

/** Formats a duration in milliseconds exactly like Go's `time.Duration.String()`. */
export function formatGoDuration(ms: number): string {
  let ns = Math.round(ms * NS_PER_MS);
  const neg = ns < 0;
  if (neg) ns = -ns;
  if (ns === 0) return '0s';
  let out: string;
  if (ns < 1e9) {
    let prec: number;
    let unit: string;
    if (ns < 1e3) {
      prec = 0;
      unit = 'ns';
    } else if (ns < 1e6) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const [frac, whole] = fmtFrac(ns, prec);
    out = `${whole}${frac}${unit}`;
  } else {
    const [frac, secsTotal] = fmtFrac(ns, 9);
    const secs = secsTotal % 60;
    const minsTotal = Math.floor(secsTotal / 60);
    out = `${secs}${frac}s`;
    if (minsTotal > 0) {
      const hours = Math.floor(minsTotal / 60);
      out = `${minsTotal % 60}m${out}`;
      if (hours > 0) out = `${hours}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** Go's fmtFrac: the fraction of v below 10^prec without trailing zeros, and the integer part. */
function fmtFrac(v: number, prec: number): [string, number] {
  let digits = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const d = v % 10;
    print = print || d !== 0;
    if (print) digits = d + digits;
    v = Math.floor(v / 10);
  }
  return [print ? `.${digits}` : '', v];
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const PART_RE = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/**
 * Parses a Go duration string ("6ms", "1.5s", "2m30.5s", "1h0m0s", "0") into milliseconds.
 * Returns undefined when the text is not a Go duration, so header parsing never throws.
 */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0' || s === '+0' || s === '-0') return 0;
  if (!DURATION_RE.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(PART_RE)) total += Number(m[1]) * UNIT_MS[m[2]];
  return s.startsWith('-') ? -total : total;
}

/** One continuous bucket. `limit` of undefined or 0 means unlimited (never blocks). */
export class Bucket {
  readonly limit: number;
  readonly unlimited: boolean;
  private level: number;
  private updatedAt: number;
  private readonly perMs: number;

  constructor(limit: number | undefined, now: number) {
    this.unlimited = !limit || limit <= 0;
    this.limit = this.unlimited ? UNLIMITED : (limit as number);
    this.level = this.limit;
    this.perMs = this.limit / 60_000;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.level = Math.min(this.limit, this.level + (now - this.updatedAt) * this.perMs);
      this.updatedAt = now;
    }
  }

  /** Capacity available now (fractional). */
  available(now: number): number {
    this.refill(now);
    return this.level;
  }

  /** Ms until `amount` is available (0 if it is now; Infinity if it can never be). */
  msUntil(amount: number, now: number): number {
    if (this.unlimited) return 0;
    this.refill(now);
    if (this.level >= amount) return 0;
    if (amount > this.limit) return Infinity;
    return (amount - this.level) / this.perMs;
  }

  /** Ms until the bucket is full again (the `x-ratelimit-reset-*` value). */
  msUntilFull(now: number): number {
    if (this.unlimited) return 0;
    this.refill(now);
    return (this.limit - this.level) / this.perMs;
  }

  /** Remaining whole units, as reported in `x-ratelimit-remaining-*`. */
  remaining(now: number): number {
    if (this.unlimited) return this.limit;
    return Math.max(0, Math.floor(this.available(now)));
  }

  take(amount: number, now: number): void {
    if (this.unlimited) return;
    this.refill(now);
    this.level -= amount;
  }
}

export type LimitKind = 'requests' | 'tokens';

export type AdmitResult =
  | { ok: true }
  | {
      ok: false;
      kind: LimitKind;
      limit: number;
      used: number;
      requested: number;
      /** Exact ms until both buckets have enough capacity; Infinity if the request exceeds a limit outright. */
      retryAfterMs: number;
    };

export interface RateLimitHeaders {
  'x-ratelimit-limit-requests': string;
  'x-ratelimit-limit-tokens': string;
  'x-ratelimit-remaining-requests': string;
  'x-ratelimit-remaining-tokens': string;
  'x-ratelimit-reset-requests': string;
  'x-ratelimit-reset-tokens': string;
}

/** The pair of per-minute buckets of one emulator (OpenAI keeps one pair per model; we share one). */
export class RateLimits {
  readonly requests: Bucket;
  readonly tokens: Bucket;
  private readonly now: () => number;

  constructor(opts: { rpm?: number; tpm?: number }, now: () => number) {
    this.now = now;
    const t = now();
    this.requests = new Bucket(opts.rpm, t);
    this.tokens = new Bucket(opts.tpm, t);
  }

  /** Charges one request and `tokens` tokens if both buckets have room; charges nothing otherwise. */
  admit(tokens: number): AdmitResult {
    const t = this.now();
    const waitReq = this.requests.msUntil(1, t);
    const waitTok = this.tokens.msUntil(tokens, t);
    if (waitReq === 0 && waitTok === 0) {
      this.requests.take(1, t);
      this.tokens.take(tokens, t);
      return { ok: true };
    }
    const kind: LimitKind = waitTok > waitReq ? 'tokens' : 'requests';
    const bucket = kind === 'tokens' ? this.tokens : this.requests;
    return {
      ok: false,
      kind,
      limit: bucket.limit,
      used: Math.max(0, bucket.limit - bucket.remaining(t)),
      requested: kind === 'tokens' ? tokens : 1,
      retryAfterMs: Math.max(waitReq, waitTok),
    };
  }

  /** Header values as of now; reset durations are rounded up to whole ms. */
  headers(): RateLimitHeaders {
    const t = this.now();
    return {
      'x-ratelimit-limit-requests': String(this.requests.limit),
      'x-ratelimit-limit-tokens': String(this.tokens.limit),
      'x-ratelimit-remaining-requests': String(this.requests.remaining(t)),
      'x-ratelimit-remaining-tokens': String(this.tokens.remaining(t)),
      'x-ratelimit-reset-requests': formatGoDuration(Math.ceil(this.requests.msUntilFull(t))),
      'x-ratelimit-reset-tokens': formatGoDuration(Math.ceil(this.tokens.msUntilFull(t))),
    };
  }
}
