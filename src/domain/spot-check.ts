// Quality spot-checks (`run --spot-check N`), pure: when a checkpoint is due, the seed of
// each checkpoint's sample, the judge's request and how its answer reads, and the gate's
// decision from the pass rate. The run workflow (workflows/run-quality.ts) holds the state,
// the spotCheck activity (activities/spot-check.ts) reads the sample and makes the calls.

/** What `--spot-check` puts in the run's config (RunConfig.spotCheck). */
export interface SpotCheckConfig {
  /** Items sampled per checkpoint. */
  size: number;
  /** Runs without windows: a checkpoint once this many items finished since the last one. */
  everyItems?: number;
  /** --check: a module (path as the worker sees it) exporting `(item, answer, response) => true | "reason"`. */
  checkModule?: string;
  /** --judge-model: the model that judges each sampled answer. */
  judgeModel?: string;
  /** --judge-prompt: the judge's instructions (the CLI reads the file into the config). */
  judgePrompt?: string;
  /** The gate: a checkpoint below this pass rate (0–1) holds the run. */
  minPassRate: number;
  /** Seed of the samples (each checkpoint draws its own from it); the run's random seed when absent. */
  seed?: number;
}

export const DEFAULT_MIN_PASS_RATE = 0.95;
/** Failing examples an alert and the status carry at most (the rest are counted). */
export const MAX_FAILURES_SHOWN = 10;
/** A failure's reason is cut to this many characters in the status and the alert. */
export const MAX_REASON_CHARS = 300;
/** Checkpoints the status lists (the oldest drop off; their pass rates are in the alerts). */
export const MAX_CHECKPOINTS_SHOWN = 50;

/** One sampled item, as a rules module and the judge see it. */
export interface SpotCheckItem {
  custom_id: string;
  /** The request body as it was sent (the input line's body). */
  body: unknown;
  /** The line's metadata that llm-batch keeps: feature and priority. */
  metadata: { feature?: string; priority?: string };
}

/** A sampled item that failed its check, and why. */
export interface SpotCheckFailure {
  customId: string;
  reason: string;
}

/** One checkpoint's outcome. */
export interface CheckpointResult {
  /** 1-based. */
  index: number;
  /** Items sampled and checked (fewer than the size when fewer finished). */
  checked: number;
  passed: number;
  /** passed ÷ checked; 1 when nothing was checked. */
  passRate: number;
  /** The first failures (at most MAX_FAILURES_SHOWN), reasons cut to MAX_REASON_CHARS. */
  failures: SpotCheckFailure[];
  /** What the judge's calls cost (0 without a judge). */
  judgeCostUsd: number;
  /** ISO time it was checked. */
  at: string;
  /** pass: at or above the rate; hold: waiting for an operator; approved / rejected: their answer. */
  outcome: 'pass' | 'hold' | 'approved' | 'rejected';
}

/** What a run carries of its spot-checks across continue-as-new. */
export interface QualityProgress {
  /** The seed of the run's samples (--spot-check-seed, else drawn once by the run). */
  seed: number;
  /** Items finished (succeeded + failed) when the last checkpoint was taken. */
  doneAtLastCheckpoint: number;
  /** Checkpoints taken so far (the next one is this + 1). */
  checkpoints: number;
  /** The latest checkpoints, oldest first. */
  results: CheckpointResult[];
  /** What judge calls cost over the run (part of the run's spend). */
  judgeCostUsd: number;
  /** The checkpoint holding the run, until approve or reject. */
  holding?: number;
  /** An operator approved the held checkpoint: the run goes on. */
  approved?: boolean;
}

export const newQualityProgress = (seed: number): QualityProgress => ({ seed, doneAtLastCheckpoint: 0, checkpoints: 0, results: [], judgeCostUsd: 0 });

/** Keeps the latest checkpoints only (MAX_CHECKPOINTS_SHOWN): a long run's status stays small. */
export function addCheckpoint(q: QualityProgress, r: CheckpointResult): void {
  q.results.push(r);
  if (q.results.length > MAX_CHECKPOINTS_SHOWN) q.results.splice(0, q.results.length - MAX_CHECKPOINTS_SHOWN);
}

/** The status's view: each checkpoint's pass rate, the one holding the run, the judge's spend. */
export function qualityStatusOf(q: QualityProgress, minPassRate: number): { minPassRate: number; checkpoints: CheckpointResult[]; holding?: number; judgeCostUsd: number } {
  const out: ReturnType<typeof qualityStatusOf> = { minPassRate, checkpoints: q.results.map((r) => ({ ...r, failures: [...r.failures] })), judgeCostUsd: Math.round(q.judgeCostUsd * 1e9) / 1e9 };
  if (q.holding !== undefined) out.holding = q.holding;
  return out;
}

/**
 * Runs without windows: a checkpoint is due once `everyItems` items finished since the last
 * one. Without everyItems (windows decide), never by count.
 */
export function checkpointDue(cfg: SpotCheckConfig, q: QualityProgress, done: number): boolean {
  return cfg.everyItems !== undefined && done - q.doneAtLastCheckpoint >= cfg.everyItems;
}

/** The seed of checkpoint `index`'s sample: spread from the run's seed, never 0, the same on every replay. */
export function checkpointSeed(seed: number, index: number): number {
  // Knuth's multiplicative hash of the index, mixed into the seed, kept in 1 … 2^31−2.
  const mixed = (Math.imul(index + 1, 0x9e3779b1) ^ Math.trunc(seed)) >>> 0;
  return 1 + (mixed % 2147483646);
}

/** The gate: pass at or above the minimum rate, else hold. A checkpoint that checked nothing passes. */
export function gateDecision(passed: number, checked: number, minPassRate: number): { passRate: number; outcome: 'pass' | 'hold' } {
  const passRate = checked === 0 ? 1 : passed / checked;
  // Compared in whole parts per million, so 19/20 is 0.95 and passes a 0.95 gate.
  return { passRate: Math.round(passRate * 1e6) / 1e6, outcome: Math.round(passRate * 1e6) >= Math.round(minPassRate * 1e6) ? 'pass' : 'hold' };
}

/** A check's verdict: true passes; a string (or anything else) fails with that reason. */
export function verdictOf(v: unknown): { pass: true } | { pass: false; reason: string } {
  if (v === true) return { pass: true };
  if (typeof v === 'string') return { pass: false, reason: v.trim() === '' ? 'failed (no reason given)' : v };
  if (v === false) return { pass: false, reason: 'failed (no reason given)' };
  return { pass: false, reason: `the check returned ${JSON.stringify(v) ?? String(v)}, not true or a reason` };
}

/** Failures as the status and the alert show them: the first few, reasons cut short. */
export function boundedFailures(failures: readonly SpotCheckFailure[], max = MAX_FAILURES_SHOWN): SpotCheckFailure[] {
  return failures.slice(0, max).map((f) => ({ customId: f.customId, reason: f.reason.length > MAX_REASON_CHARS ? `${f.reason.slice(0, MAX_REASON_CHARS - 1)}…` : f.reason }));
}

/** The alert's detail for a held checkpoint: its pass rate, the gate, and the failing examples. */
export function holdDetail(r: CheckpointResult, minPassRate: number, runId: string): string {
  const pct = (x: number): string => `${(Math.round(x * 1000) / 10).toString()}%`;
  const failing = r.checked - r.passed;
  const shown = r.failures.map((f) => `${f.customId}: ${f.reason}`).join('; ');
  const more = failing > r.failures.length ? ` (and ${failing - r.failures.length} more)` : '';
  return `checkpoint ${r.index}: ${r.passed}/${r.checked} passed (${pct(r.passRate)}, below ${pct(minPassRate)}). Failing: ${shown}${more}. Continue with: llm-batch approve ${runId}; stop with: llm-batch reject ${runId}`;
}

// ── the judge ───────────────────────────────────────────────────────────────

/** The judge's answer is small: {"pass":true,"reason":"…"}. */
export const JUDGE_MAX_TOKENS = 300;
/** The request's text the judge sees is cut to this many characters. */
export const JUDGE_MAX_REQUEST_CHARS = 8000;

/** Structured Outputs: the judge answers exactly {pass, reason}. */
export const JUDGE_RESPONSE_FORMAT = {
  type: 'json_schema',
  json_schema: {
    name: 'spot_check_verdict',
    strict: true,
    schema: {
      type: 'object',
      properties: { pass: { type: 'boolean' }, reason: { type: 'string' } },
      required: ['pass', 'reason'],
      additionalProperties: false,
    },
  },
} as const;

/**
 * The judge's chat request: the user's judge prompt as the system message, then the item's
 * request (its messages, or its body) and the answer to judge.
 */
export function judgeRequest(model: string, judgePrompt: string, item: SpotCheckItem, answer: string | null): { model: string; messages: { role: string; content: string }[]; max_tokens: number; response_format: typeof JUDGE_RESPONSE_FORMAT } {
  const body = item.body as { messages?: unknown } | null;
  let request = JSON.stringify(body && typeof body === 'object' && 'messages' in body ? body.messages : body) ?? 'null';
  if (request.length > JUDGE_MAX_REQUEST_CHARS) request = `${request.slice(0, JUDGE_MAX_REQUEST_CHARS)}…`;
  return {
    model,
    messages: [
      { role: 'system', content: `${judgePrompt.trim()}\n\nAnswer with JSON: {"pass": true or false, "reason": "one short sentence"}.` },
      { role: 'user', content: `Request (custom_id ${item.custom_id}):\n${request}\n\nAnswer to judge:\n${answer ?? '(no content)'}` },
    ],
    max_tokens: JUDGE_MAX_TOKENS,
    response_format: JUDGE_RESPONSE_FORMAT,
  };
}

/** The judge's verdict from its answer's content; an answer that is not {pass, reason} fails the item, saying so. */
export function judgeVerdict(content: string | null | undefined): { pass: true } | { pass: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(content ?? '');
  } catch {
    return { pass: false, reason: `the judge's answer was not JSON: ${String(content).slice(0, 100)}` };
  }
  const o = v as { pass?: unknown; reason?: unknown } | null;
  if (!o || typeof o !== 'object' || typeof o.pass !== 'boolean') return { pass: false, reason: `the judge's answer has no boolean "pass": ${String(content).slice(0, 100)}` };
  if (o.pass) return { pass: true };
  return { pass: false, reason: `judge: ${typeof o.reason === 'string' && o.reason.trim() !== '' ? o.reason : 'failed (no reason given)'}` };
}

/** The answer a check judges: the first choice's message content of a chat completion, or null. */
export function answerOf(response: unknown): string | null {
  const content = (response as { choices?: { message?: { content?: unknown } }[] } | null | undefined)?.choices?.[0]?.message?.content;
  return typeof content === 'string' ? content : null;
}
