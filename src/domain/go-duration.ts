// Go's time.Duration strings ("6ms", "1.5s", "1m0s", "2m30.5s"), which OpenAI uses in its
// x-ratelimit-reset-* headers: formatted by the emulator, parsed by the client's limiter.

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
