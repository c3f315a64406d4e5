// The pure pieces of quality spot-checks (domain/spot-check.ts): when a checkpoint is due,
// each checkpoint's seed, the gate's decision, verdicts of rules and judge, what the alert
// and the status carry; the CLI's option checks; and the emulator's boolean lean, which lets
// it play a judge that fails a share of answers without knowing about our judge.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addCheckpoint, answerOf, boundedFailures, checkpointDue, checkpointSeed, gateDecision, holdDetail, JUDGE_RESPONSE_FORMAT, judgeRequest, judgeVerdict,
  MAX_CHECKPOINTS_SHOWN, MAX_FAILURES_SHOWN, MAX_REASON_CHARS, newQualityProgress, verdictOf, type CheckpointResult,
} from '../../src/domain/spot-check.ts';
import { spotCheckConfig } from '../../src/cli/spot-check-option.ts';
import { qualityHoldHint, spotCheckFailuresText, spotCheckLine } from '../../src/cli/spot-check-format.ts';
import { qualityStatusOf } from '../../src/domain/spot-check.ts';
import type { RunStatus } from '../../src/domain/run-types.ts';
import { CliError } from '../../src/cli/options.ts';
import { buildChatCompletion } from '../../src/emulator/chat.ts';
import { checkResponseFormat } from '../../src/emulator/structured-output.ts';

const cfg = { size: 10, everyItems: 100, minPassRate: 0.95 };

describe('checkpoints', () => {
  it('are due every K finished items since the last one, and never by count without K (windows decide)', () => {
    const q = newQualityProgress(7);
    expect(checkpointDue(cfg, q, 99)).toBe(false);
    expect(checkpointDue(cfg, q, 100)).toBe(true);
    q.doneAtLastCheckpoint = 130;
    expect(checkpointDue(cfg, q, 229)).toBe(false);
    expect(checkpointDue(cfg, q, 230)).toBe(true);
    expect(checkpointDue({ size: 10, minPassRate: 0.95 }, newQualityProgress(7), 1_000_000)).toBe(false);
  });

  it('draw each checkpoint its own seed, the same for the same run seed, in 1 … 2^31−2', () => {
    const seeds = Array.from({ length: 50 }, (_, i) => checkpointSeed(12345, i + 1));
    expect(new Set(seeds).size).toBe(50);
    expect(seeds).toEqual(Array.from({ length: 50 }, (_, i) => checkpointSeed(12345, i + 1)));
    expect(checkpointSeed(1, 1)).not.toBe(checkpointSeed(2, 1));
    for (const s of [...seeds, checkpointSeed(0, 0), checkpointSeed(-5, 3), checkpointSeed(2 ** 31 - 1, 9)]) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(1);
      expect(s).toBeLessThanOrEqual(2147483646);
    }
  });

  it('keep the latest MAX_CHECKPOINTS_SHOWN results', () => {
    const q = newQualityProgress(1);
    for (let i = 1; i <= MAX_CHECKPOINTS_SHOWN + 5; i++) addCheckpoint(q, { index: i, checked: 1, passed: 1, passRate: 1, failures: [], judgeCostUsd: 0, at: '', outcome: 'pass' });
    expect(q.results).toHaveLength(MAX_CHECKPOINTS_SHOWN);
    expect(q.results[0]!.index).toBe(6);
  });
});

describe('the gate', () => {
  it('passes at or above the minimum rate, holds below it', () => {
    expect(gateDecision(19, 20, 0.95)).toEqual({ passRate: 0.95, outcome: 'pass' });
    expect(gateDecision(18, 20, 0.95)).toEqual({ passRate: 0.9, outcome: 'hold' });
    expect(gateDecision(16, 20, 0.95)).toEqual({ passRate: 0.8, outcome: 'hold' });
    expect(gateDecision(20, 20, 1)).toEqual({ passRate: 1, outcome: 'pass' });
    expect(gateDecision(2, 3, 0.66)).toEqual({ passRate: 0.666667, outcome: 'pass' });
    expect(gateDecision(0, 20, 0)).toEqual({ passRate: 0, outcome: 'pass' });
  });

  it('passes a checkpoint that had nothing to check', () => {
    expect(gateDecision(0, 0, 0.95)).toEqual({ passRate: 1, outcome: 'pass' });
  });
});

describe('verdicts', () => {
  it('of a rules check: true passes, a string is the reason, anything else fails saying what came back', () => {
    expect(verdictOf(true)).toEqual({ pass: true });
    expect(verdictOf('too short')).toEqual({ pass: false, reason: 'too short' });
    expect(verdictOf('')).toEqual({ pass: false, reason: 'failed (no reason given)' });
    expect(verdictOf(false)).toEqual({ pass: false, reason: 'failed (no reason given)' });
    expect(verdictOf(undefined)).toEqual({ pass: false, reason: 'the check returned undefined, not true or a reason' });
    expect(verdictOf(1)).toEqual({ pass: false, reason: 'the check returned 1, not true or a reason' });
  });

  it('of the judge: {pass, reason} JSON; anything else fails the item, saying why', () => {
    expect(judgeVerdict('{"pass":true,"reason":"fine"}')).toEqual({ pass: true });
    expect(judgeVerdict('{"pass":false,"reason":"made up a number"}')).toEqual({ pass: false, reason: 'judge: made up a number' });
    expect(judgeVerdict('{"pass":false,"reason":""}')).toEqual({ pass: false, reason: 'judge: failed (no reason given)' });
    expect(judgeVerdict('{"pass":"yes"}')).toMatchObject({ pass: false, reason: expect.stringContaining('no boolean "pass"') });
    expect(judgeVerdict('{"pass":tr')).toMatchObject({ pass: false, reason: expect.stringContaining('not JSON') });
    expect(judgeVerdict(null)).toMatchObject({ pass: false });
  });

  it('judge the first choice\'s content', () => {
    expect(answerOf({ choices: [{ message: { content: 'hello' } }] })).toBe('hello');
    expect(answerOf({ choices: [{ message: { content: null, refusal: 'no' } }] })).toBeNull();
    expect(answerOf({ data: [] })).toBeNull();
    expect(answerOf(null)).toBeNull();
  });
});

describe('the judge request', () => {
  const item = { custom_id: 'a-1', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Summarise: the cat sat.' }] }, metadata: {} };

  it('puts the judge prompt first, then the request and the answer, with a strict {pass, reason} schema the provider accepts', () => {
    const r = judgeRequest('gpt-4.1-mini', 'Pass summaries that are faithful.', item, 'A cat sat.');
    expect(r.model).toBe('gpt-4.1-mini');
    expect(r.messages[0]).toMatchObject({ role: 'system', content: expect.stringMatching(/^Pass summaries that are faithful\./) });
    expect(r.messages[1]!.content).toContain('Summarise: the cat sat.');
    expect(r.messages[1]!.content).toContain('A cat sat.');
    expect(r.messages[1]!.content).toContain('a-1');
    expect(r.response_format).toBe(JUDGE_RESPONSE_FORMAT);
    // The emulator checks strict schemas as the Structured Outputs guide says.
    expect(checkResponseFormat(r.response_format).ok).toBe(true);
  });

  it('cuts a long request short', () => {
    const long = { ...item, body: { messages: [{ role: 'user', content: 'x'.repeat(50_000) }] } };
    expect(judgeRequest('m', 'p', long, 'a').messages[1]!.content.length).toBeLessThan(9000);
  });
});

describe('what the alert and the status carry', () => {
  it('the first failures, reasons cut short', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ customId: `c${i}`, reason: i === 0 ? 'r'.repeat(1000) : `reason ${i}` }));
    const b = boundedFailures(many);
    expect(b).toHaveLength(MAX_FAILURES_SHOWN);
    expect(b[0]!.reason).toHaveLength(MAX_REASON_CHARS);
    expect(b[1]).toEqual({ customId: 'c1', reason: 'reason 1' });
  });

  it('the hold detail names the rate, the gate, the failing ids and reasons, and the commands', () => {
    const r: CheckpointResult = { index: 2, checked: 20, passed: 16, passRate: 0.8, failures: [{ customId: 'x-3', reason: 'judge: wrong' }, { customId: 'x-9', reason: 'too short' }], judgeCostUsd: 0.001, at: '', outcome: 'hold' };
    const d = holdDetail(r, 0.95, 'run-7');
    expect(d).toBe('checkpoint 2: 16/20 passed (80%, below 95%). Failing: x-3: judge: wrong; x-9: too short (and 2 more). Continue with: llm-batch approve run-7; stop with: llm-batch reject run-7');
  });
});

describe('run options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-opts-'));
  const prompt = join(dir, 'judge.txt');
  writeFileSync(prompt, 'Pass answers that are polite.\n');
  const checkFile = join(dir, 'check.mjs');
  writeFileSync(checkFile, 'export default () => true;\n');
  const usage = (o: Parameters<typeof spotCheckConfig>[0]): string => {
    try {
      spotCheckConfig(o);
    } catch (e) {
      expect(e).toBeInstanceOf(CliError);
      return (e as Error).message;
    }
    return 'no error';
  };

  it('build the config: the judge prompt read in, the check module resolved, 0.95 by default', () => {
    expect(spotCheckConfig({})).toBeUndefined();
    expect(spotCheckConfig({ spotCheck: 20, spotCheckEvery: 500, judgeModel: 'gpt-4o-mini', judgePrompt: prompt, check: checkFile, spotCheckSeed: 3 })).toEqual({
      size: 20, everyItems: 500, minPassRate: 0.95, seed: 3, checkModule: checkFile, judgeModel: 'gpt-4o-mini', judgePrompt: 'Pass answers that are polite.',
    });
    expect(spotCheckConfig({ spotCheck: 5, check: checkFile, window: { everyMs: 1000 } })).toEqual({ size: 5, minPassRate: 0.95, checkModule: checkFile });
  });

  it('refuse what cannot work, saying what to add', () => {
    expect(usage({ check: checkFile })).toMatch(/--check needs --spot-check N/);
    expect(usage({ spotCheck: 5, spotCheckEvery: 10 })).toMatch(/--spot-check needs a way to check/);
    expect(usage({ spotCheck: 5, check: checkFile })).toMatch(/--spot-check-every K/);
    expect(usage({ spotCheck: 5, spotCheckEvery: 10, judgeModel: 'gpt-4o-mini' })).toMatch(/--judge-model needs --judge-prompt/);
    expect(usage({ spotCheck: 5, spotCheckEvery: 10, judgeModel: 'no-such-model', judgePrompt: prompt })).toMatch(/--judge-model: .*no-such-model/);
    expect(usage({ spotCheck: 5, spotCheckEvery: 10, check: join(dir, 'missing.mjs') })).toMatch(/--check .*missing\.mjs: no such file/);
    expect(usage({ spotCheck: 5000, spotCheckEvery: 10, check: checkFile })).toMatch(/at most 1000/);
  });
});

describe('the emulator as a judge (booleanFalseRate)', () => {
  const judgeAnswer = (i: number, booleanFalseRate?: number): { pass: boolean } => {
    const req = judgeRequest('gpt-4o-mini', 'Judge it.', { custom_id: `c${i}`, body: { messages: [{ role: 'user', content: `question ${i}` }] }, metadata: {} }, `answer ${i}`);
    const body = buildChatCompletion(req, booleanFalseRate === undefined ? {} : { shaping: { booleanFalseRate } });
    return JSON.parse(body.choices[0]!.message.content) as { pass: boolean };
  };

  it('answers boolean fields false at the configured share, the same answer for the same request', () => {
    const n = 1000;
    const fails = Array.from({ length: n }, (_, i) => judgeAnswer(i, 0.2)).filter((a) => !a.pass).length;
    expect(fails / n).toBeGreaterThan(0.16);
    expect(fails / n).toBeLessThan(0.24);
    expect(judgeAnswer(42, 0.2)).toEqual(judgeAnswer(42, 0.2));
    expect(Array.from({ length: 50 }, (_, i) => judgeAnswer(i, 0)).every((a) => a.pass)).toBe(true);
    expect(Array.from({ length: 50 }, (_, i) => judgeAnswer(i, 1)).every((a) => !a.pass)).toBe(true);
  });

  it('leaves the default draw (half) as it was', () => {
    const fails = Array.from({ length: 400 }, (_, i) => judgeAnswer(i)).filter((a) => !a.pass).length;
    expect(fails / 400).toBeGreaterThan(0.4);
    expect(fails / 400).toBeLessThan(0.6);
  });
});

describe('what status prints', () => {
  const usd = (n: number): string => `$${n.toFixed(4)}`;
  const result = (index: number, passed: number, outcome: CheckpointResult['outcome'], failures: CheckpointResult['failures'] = []): CheckpointResult => ({ index, checked: 20, passed, passRate: passed / 20, failures, judgeCostUsd: 0.0005, at: '', outcome });
  const withQuality = (q: ReturnType<typeof newQualityProgress>): RunStatus => ({ runId: 'run-9', state: q.holding ? 'quality_hold' : 'running', quality: qualityStatusOf(q, 0.95) }) as RunStatus;

  it('each checkpoint\'s pass rate, the gate and the judge\'s spend', () => {
    const q = newQualityProgress(1);
    expect(spotCheckLine(withQuality(q), usd)).toBe('no checkpoint yet · gate 95%');
    addCheckpoint(q, result(1, 17, 'approved'));
    addCheckpoint(q, result(2, 20, 'pass'));
    q.judgeCostUsd = 0.001;
    expect(spotCheckLine(withQuality(q), usd)).toBe('#1 85% (17/20) held → approved · #2 100% (20/20) · gate 95% · judge $0.0010');
    for (let i = 3; i <= 12; i++) addCheckpoint(q, result(i, 20, 'pass'));
    expect(spotCheckLine(withQuality(q), usd)).toMatch(/^4 earlier · #5 100%/);
  });

  it('while held: the failing items, and the commands that move the run on', () => {
    const q = newQualityProgress(1);
    addCheckpoint(q, result(1, 16, 'hold', [{ customId: 'a', reason: 'judge: off topic' }, { customId: 'b', reason: 'too short' }]));
    expect(spotCheckFailuresText(withQuality(q))).toBeUndefined();
    q.holding = 1;
    const s = withQuality(q);
    expect(spotCheckLine(s, usd)).toContain('#1 80% (16/20) HOLD');
    expect(spotCheckFailuresText(s)).toBe('a: judge: off topic\nb: too short\n… and 2 more');
    expect(qualityHoldHint(s)).toBe('quality hold: checkpoint 1 passed 80% (16/20), below 95%; see the failing items with llm-batch status run-9; continue with llm-batch approve run-9 (or stop with llm-batch reject run-9)');
  });
});
