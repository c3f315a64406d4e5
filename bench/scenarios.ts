// The scenarios of `npm run bench`: the emulator's settings, the input, how many processes
// each side runs, how llm-batch is configured, and the targets. What they show and why:
// bench/README.md.
import type { BenchInput } from './input.ts';
import type { LimitKind } from './measure.ts';

export type ScenarioName = 'limits-1s' | 'limits-60s' | 'limits-redis' | 'unlimited';

export interface Scenario {
  name: ScenarioName;
  title: string;
  items: number;
  rpm?: number;
  tpm?: number;
  /** The emulator's --limit-window (unset: no limits configured, so it does not matter). */
  limitWindow?: { flag: string; ms: number };
  latencyMs: number;
  jitterMs: number;
  /**
   * Processes on each side. Baseline: this many naive scripts at once, each with 1/N of
   * the input and its own p-limit. llm-batch: this many `llm-batch worker` processes on one
   * task queue and one data dir, sharing one pacing budget through Redis when N > 1.
   */
  processes: number;
  /** p-limit of each baseline script. */
  baselineConcurrency: number;
  /** RunConfig.concurrency of the llm-batch run ('auto': sized from the headers and latency). */
  concurrency: number | 'auto';
  /** RunConfig overrides (DEFAULTS otherwise). */
  chunkSize?: number;
  maxChunksInFlight?: number;
  target:
    | { kind: 'limits'; steady: number; max429: number; idealFactor?: number }
    | { kind: 'throughput'; itemsPerSecRatio: number };
}

const LIMITS = { rpm: 3000, tpm: 400_000, latencyMs: 100, jitterMs: 50 } as const;
const ONE_SECOND = { flag: '1s', ms: 1000 };
const ONE_MINUTE = { flag: '60s', ms: 60_000 };

// TPM binds in every limits scenario: ~154 tokens charged per item → ~2,590 requests/min
// against 3,000 RPM. 3,600 items: with a full-minute bucket (~2,590 items' worth) the
// input still has ~1,000 items past the burst, so every client reaches a steady state.
export const SCENARIOS: Record<ScenarioName, Scenario> = {
  'limits-1s': {
    name: 'limits-1s',
    title: 'limits-1s: RPM 3,000 / TPM 400,000 enforced per 1 s, latency 100 ± 50 ms',
    items: 3600,
    ...LIMITS,
    limitWindow: ONE_SECOND,
    processes: 1,
    baselineConcurrency: 64,
    concurrency: 'auto',
    target: { kind: 'limits', steady: 0.97, max429: 0.005 },
  },
  'limits-60s': {
    name: 'limits-60s',
    title: 'limits-60s: RPM 3,000 / TPM 400,000, full-minute bucket (fresh account), latency 100 ± 50 ms',
    items: 3600,
    ...LIMITS,
    limitWindow: ONE_MINUTE,
    processes: 1,
    baselineConcurrency: 64,
    concurrency: 'auto',
    target: { kind: 'limits', steady: 0.97, max429: 0.005, idealFactor: 1.3 },
  },
  'limits-redis': {
    name: 'limits-redis',
    title: 'limits-redis: 3 processes on one account, RPM 3,000 / TPM 400,000 per 1 s, latency 100 ± 50 ms',
    items: 3600,
    ...LIMITS,
    limitWindow: ONE_SECOND,
    processes: 3,
    baselineConcurrency: 64,
    concurrency: 'auto',
    // 36 chunks of 100, 9 in flight: every worker gets chunks all along.
    chunkSize: 100,
    maxChunksInFlight: 9,
    target: { kind: 'limits', steady: 0.95, max429: 0.005 },
  },
  unlimited: {
    name: 'unlimited',
    title: 'unlimited: no limits, latency 0, concurrency 64',
    items: 5000,
    latencyMs: 0,
    jitterMs: 0,
    processes: 1,
    baselineConcurrency: 64,
    concurrency: 64,
    target: { kind: 'throughput', itemsPerSecRatio: 0.8 },
  },
};

/** What `npm run bench -- <arg>` runs; no argument: '' (limits, then unlimited). */
export const GROUPS: Record<string, ScenarioName[]> = {
  '': ['limits-1s', 'limits-60s', 'limits-redis', 'unlimited'],
  limits: ['limits-1s', 'limits-60s', 'limits-redis'],
  'limits-1s': ['limits-1s'],
  'limits-60s': ['limits-60s'],
  'limits-redis': ['limits-redis'],
  unlimited: ['unlimited'],
};

export function emulatorArgs(s: Scenario): string[] {
  const args = ['--latency-ms', String(s.latencyMs), '--jitter-ms', String(s.jitterMs)];
  if (s.rpm) args.push('--rpm', String(s.rpm));
  if (s.tpm) args.push('--tpm', String(s.tpm));
  if (s.limitWindow) args.push('--limit-window', s.limitWindow.flag);
  return args;
}

/** Which limit the input hits first: requests per minute, or tokens per minute at its average charge. */
export function bindingLimit(s: Scenario, input: BenchInput): LimitKind | undefined {
  if (!s.rpm && !s.tpm) return undefined;
  const byRequests = s.rpm ?? Infinity;
  const byTokens = s.tpm ? s.tpm / (input.chargeTokens / input.items) : Infinity;
  return byTokens < byRequests ? 'tokens' : 'requests';
}

/**
 * The provider's ideal wall time for the whole input, first call to last: the enforced
 * bucket spent at once, the rest at the refill rate of the binding limit.
 *   max over requests, tokens of max(0, (total charge − bucket) / limit per minute) × 60 s
 * with one request per item (no 429s) and tokens = prompt + max_tokens per item (what the
 * emulator charges), bucket = limit × window / 60 s (the whole limit for a 60 s window).
 */
export function idealWallMs(s: Scenario, input: BenchInput): number | undefined {
  if (!s.rpm && !s.tpm) return undefined;
  const windowMs = s.limitWindow?.ms ?? 60_000;
  const one = (limit: number | undefined, total: number): number => (limit ? Math.max(0, (total - (limit * windowMs) / 60_000) / limit) * 60_000 : 0);
  return Math.max(one(s.rpm, input.items), one(s.tpm, input.chargeTokens));
}
