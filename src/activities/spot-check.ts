// The spotCheck activity: one quality checkpoint of a run (`--spot-check N`). It draws the
// checkpoint's seeded sample of succeeded items from the store, checks each with the user's
// rules module (--check) and/or a judge model (--judge-model, --judge-prompt), and returns
// the pass count, the failing examples and what the judge cost. Judge calls go through the
// provider client (rate limiter, retries) and are priced from their usage; verdicts are
// heartbeated, so a retried activity resumes without judging (or paying for) an item twice.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { RunConfig, TokenTotals } from '../domain/run-types.ts';
import { costOfUsage } from '../domain/pricing.ts';
import { priorityOf } from '../domain/priority.ts';
import { answerOf, boundedFailures, JUDGE_MAX_TOKENS, judgeRequest, judgeVerdict, verdictOf, type SpotCheckFailure, type SpotCheckItem } from '../domain/spot-check.ts';
import type { SpotCheckSample } from '../store/item-store.ts';
import { countChatPromptTokens } from '../llm/tokens.ts';
import type { RunControlDeps } from './run-control.ts';

export interface SpotCheckInput {
  config: RunConfig;
  /** 1-based checkpoint number: which items the store gives it. */
  checkpoint: number;
  /** The sample's seed (domain/spot-check.ts checkpointSeed). */
  seed: number;
}

export interface SpotCheckOutcome {
  checked: number;
  passed: number;
  /** The first failing items and why (bounded). */
  failures: SpotCheckFailure[];
  judgeCostUsd: number;
  judgeTokens: TokenTotals;
  judgeCalls: number;
}

/** A rules module's check: true passes, a string is the reason it fails. */
export type CheckFunction = (item: SpotCheckItem, answer: string | null, response: unknown) => unknown;

/** What a retried attempt resumes from: the verdicts so far (by custom_id) and the judge's spend. */
export interface SpotCheckBeat {
  verdicts: Record<string, { pass: boolean; reason?: string }>;
  judgeCostUsd: number;
  judgeTokens: TokenTotals;
  judgeCalls: number;
}

/** Judge calls of one checkpoint in flight at once. */
const JUDGE_CONCURRENCY = 8;

/** Loads --check FILE: its default export, or an export named `check`, must be a function. */
export async function loadCheckModule(path: string): Promise<CheckFunction> {
  let mod: Record<string, unknown>;
  try {
    // The file's modification time in the URL: a module edited between runs is loaded afresh, not from the import cache.
    const url = pathToFileURL(resolve(path));
    url.searchParams.set('mtime', String(statSync(url).mtimeMs));
    mod = (await import(url.href)) as Record<string, unknown>;
  } catch (e) {
    throw ApplicationFailure.nonRetryable(`--check ${path}: cannot load the module: ${(e as Error).message}`, 'InvalidInput');
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.check;
  if (typeof fn !== 'function') throw ApplicationFailure.nonRetryable(`--check ${path}: the module must export a function (default export, or export named "check") taking (item, answer) and returning true or a reason`, 'InvalidInput');
  return fn as CheckFunction;
}

/** Where a checkpoint resumes from, and how it reports progress (the activity's context, in a worker). */
export interface SpotCheckProgress {
  /** The last heartbeat of an earlier attempt. */
  resumed?: SpotCheckBeat;
  heartbeat(beat: SpotCheckBeat): void;
  signal?: AbortSignal;
}

export function makeSpotCheck(deps: RunControlDeps) {
  return async function spotCheck(input: SpotCheckInput): Promise<SpotCheckOutcome> {
    const ctx = Context.current();
    return runSpotCheck(deps, input, { resumed: ctx.info.heartbeatDetails as SpotCheckBeat | undefined, heartbeat: (b) => ctx.heartbeat(b), signal: ctx.cancellationSignal });
  };
}

/** One checkpoint: sample, check, count; verdicts reported through `progress` as they come. */
export async function runSpotCheck(deps: Pick<RunControlDeps, 'store' | 'pricingFor' | 'providerFor'>, input: SpotCheckInput, progress: SpotCheckProgress): Promise<SpotCheckOutcome> {
  const { config, checkpoint, seed } = input;
  const sc = config.spotCheck;
  if (!sc) throw ApplicationFailure.nonRetryable('spotCheck: the run has no --spot-check configuration', 'InvalidInput');
  const beat: SpotCheckBeat = progress.resumed ? structuredClone(progress.resumed) : { verdicts: {}, judgeCostUsd: 0, judgeTokens: { prompt: 0, cached: 0, completion: 0, reasoning: 0 }, judgeCalls: 0 };
  const check = sc.checkModule ? await loadCheckModule(sc.checkModule) : undefined;
  const samples = await deps.store.spotCheckSample(config.runId, checkpoint, seed, sc.size);
  const pricing = sc.judgeModel ? await deps.pricingFor(config) : undefined;
  const provider = sc.judgeModel ? deps.providerFor(config) : undefined;

  const checkOne = async (s: SpotCheckSample): Promise<void> => {
    if (beat.verdicts[s.customId]) return;
    const item: SpotCheckItem = { custom_id: s.customId, body: JSON.parse(s.bodyJson) as unknown, metadata: s.metadata };
    const response = JSON.parse(s.responseJson) as unknown;
    const answer = answerOf(response);
    if (check) {
      let v: ReturnType<typeof verdictOf>;
      try {
        v = verdictOf(await check(item, answer, response));
      } catch (e) {
        v = { pass: false, reason: `the check threw: ${(e as Error)?.message ?? String(e)}` };
      }
      // A rules failure is enough: the judge is not paid to confirm it.
      if (!v.pass) {
        beat.verdicts[s.customId] = { pass: false, reason: v.reason };
        return;
      }
    }
    if (sc.judgeModel && provider && pricing) {
      const body = judgeRequest(sc.judgeModel, sc.judgePrompt ?? '', item, answer);
      const outcome = await provider.call({
        customId: `${s.customId}#judge-${checkpoint}`,
        url: '/v1/chat/completions',
        body,
        chargeTokens: countChatPromptTokens(sc.judgeModel, body.messages) + JUDGE_MAX_TOKENS,
        priorAttempts: 0,
        priority: priorityOf(config),
      }, progress.signal ? { signal: progress.signal } : {});
      if (outcome.kind === 'succeeded') {
        const u = outcome.usage;
        beat.judgeCalls++;
        beat.judgeCostUsd += costOfUsage(pricing, sc.judgeModel, { promptTokens: u.prompt, cachedTokens: u.cached, completionTokens: u.completion, reasoningTokens: u.reasoning });
        for (const k of ['prompt', 'cached', 'completion', 'reasoning'] as const) beat.judgeTokens[k] += u[k];
        const v = judgeVerdict(answerOf(outcome.body));
        beat.verdicts[s.customId] = v.pass ? { pass: true } : { pass: false, reason: v.reason };
        return;
      }
      if (outcome.kind === 'failed') {
        // The provider refused the judge's request (a 4xx): the item is not shown to pass.
        beat.verdicts[s.customId] = { pass: false, reason: `the judge call failed: ${outcome.error.code}: ${outcome.error.message}` };
        return;
      }
      // Out of quota, provider down, or told to stop: the activity is retried later, resuming from its heartbeat.
      const why = outcome.kind === 'quota_exhausted' ? outcome.message : outcome.kind === 'unavailable' ? `${outcome.error.code}: ${outcome.error.message}` : 'interrupted';
      throw ApplicationFailure.retryable(`spot-check ${checkpoint}: a judge call did not get through (${why})`, 'JudgeUnavailable');
    }
    beat.verdicts[s.customId] = { pass: true };
  };

  // A small pool: judge calls overlap; every finished item is heartbeated.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < samples.length) {
      const s = samples[next++]!;
      await checkOne(s);
      progress.heartbeat(beat);
    }
  };
  await Promise.all(Array.from({ length: Math.min(JUDGE_CONCURRENCY, samples.length) }, worker));

  const failures: SpotCheckFailure[] = [];
  let passed = 0;
  for (const s of samples) {
    const v = beat.verdicts[s.customId];
    if (v?.pass) passed++;
    else failures.push({ customId: s.customId, reason: v?.reason ?? 'not checked' });
  }
  return { checked: samples.length, passed, failures: boundedFailures(failures), judgeCostUsd: beat.judgeCostUsd, judgeTokens: beat.judgeTokens, judgeCalls: beat.judgeCalls };
}
