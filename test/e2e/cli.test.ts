// The CLI as a user runs it: --help everywhere, --strict, run/status/results against a
// real dev server, and the README's Quick start (`npm run demo`) from start to finish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.ts';
import { freePort } from '../../src/dev/ports.ts';
import { getRunStatus } from '../../src/client.ts';
import { chatLine, client, readJsonl, startWorker, tempDir, waitFor, writeChatInput } from '../support/harness.ts';

const exec = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/llm-batch.js');

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const COMMANDS = ['demo', 'dev', 'worker', 'emulator', 'run', 'status', 'results', 'pause', 'resume', 'cancel', 'approve', 'reject', 'probe', 'budget', 'dashboard'];

/** Each operator command: the signal it sends and words of what it does, as its --help must say. */
const CONTROL_HELP: [string, string, RegExp][] = [
  ['pause', '`pause` signal', /chunks in flight stop at their next item/],
  ['resume', '`resume` signal', /paused run dispatches again/],
  ['cancel', '`cancel` signal', /errors\.jsonl lists every item not done as cancelled/],
  ['approve', '`approve` signal', /dispatches the rest/],
  ['reject', '`reject` signal', /ends the run in state rejected/],
  ['probe', '`probe` signal', /sends the probe now/],
  ['budget', '`raiseBudget` or `setBudget` signal', /\{"amountUsd": 25\}/],
];

describe('llm-batch CLI', () => {
  it('--help lists every command, and each has its own --help', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const helps = await Promise.all(COMMANDS.map((c) => cli([c, '--help'])));
    for (const [i, h] of helps.entries()) {
      expect(h.code, COMMANDS[i]).toBe(0);
      expect(h.stdout).toContain(`Usage: llm-batch ${COMMANDS[i]}`);
    }
  });

  it('each operator command says in --help which signal it sends and what it does', async () => {
    const helps = await Promise.all(CONTROL_HELP.map(([c]) => cli([c, '--help'])));
    for (const [i, h] of helps.entries()) {
      const [c, signal, effect] = CONTROL_HELP[i]!;
      expect(h.code, c).toBe(0);
      expect(h.stdout.replace(/\s+/g, ' '), c).toContain(signal);
      expect(h.stdout.replace(/\s+/g, ' '), c).toMatch(effect);
    }
    const top = await cli(['--help']);
    expect(top.stdout).toContain('llm-batch budget RUN --raise 25');
  });

  it('usage errors of run control exit 2 with a message, before contacting anything', async () => {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const neither = await cli(['budget', 'run-x'], unreachable);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give exactly one of --raise USD');
    const both = await cli(['budget', 'run-x', '--raise', '5', '--set', '10'], unreachable);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --raise USD');
    const negative = await cli(['budget', 'run-x', '--raise', '-5'], unreachable);
    expect(negative.code).toBe(2);

    const { path } = writeChatInput(tempDir(), 3);
    const approve = await cli(['run', path, '--approve'], unreachable);
    expect(approve.code).toBe(2);
    expect(approve.stderr).toContain('--approve needs --sample');
    const budget = await cli(['run', path, '--budget', '-5'], unreachable);
    expect(budget.code).toBe(2);
    expect(budget.stderr).toContain("option '--budget <usd>' argument '-5' is invalid");
    const delays = await cli(['run', path, '--circuit-initial-delay', '1m', '--circuit-max-delay', '30s'], unreachable);
    expect(delays.code).toBe(2);
    expect(delays.stderr).toContain('--circuit-max-delay (30000 ms) must be at least --circuit-initial-delay (60000 ms)');
    const hook = await cli(['run', path, '--alert-webhook', 'ftp://example.com'], unreachable);
    expect(hook.code).toBe(2);
    expect(hook.stderr).toContain('env:NAME');
    const warn = await cli(['run', path, '--budget', '10', '--budget-warn-at', '1.2'], unreachable);
    expect(warn.code).toBe(2);

    // Batch API options.
    const mode = await cli(['run', path, '--mode', 'overnight'], unreachable);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain('Allowed choices are realtime, batch, hybrid');
    const urgent = await cli(['run', path, '--urgent-if', 'feature=support'], unreachable);
    expect(urgent.code).toBe(2);
    expect(urgent.stderr).toContain('--urgent-if routes items in a hybrid run: add --mode hybrid');
    const rule = await cli(['run', path, '--mode', 'hybrid', '--urgent-if', 'priority=high'], unreachable);
    expect(rule.code).toBe(2);
    expect(rule.stderr).toContain('"priority=high" is not a rule clause');
    const deadline = await cli(['run', path, '--deadline', '6h'], unreachable);
    expect(deadline.code).toBe(2);
    expect(deadline.stderr).toContain('--deadline applies to Batch API work');
    const lines = await cli(['run', path, '--mode', 'batch', '--max-batch-lines', '60000'], unreachable);
    expect(lines.code).toBe(2);
    expect(lines.stderr).toContain('at most 50000 lines per file');
  });

  it('run --priority takes a whole number 1..5, says so in --help, and refuses others naming --priority', async () => {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const { path } = writeChatInput(tempDir(), 3);
    const help = await cli(['run', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain("--priority <n> 1 is most urgent, 5 least; Temporal serves this run's tasks, and the rate limiter its calls, in this order (default: 3)");
    const bad = await Promise.all(['0', '6', '2.5', 'high'].map((v) => cli(['run', path, '--priority', v], unreachable)));
    for (const [i, r] of bad.entries()) {
      expect(r.code, ['0', '6', '2.5', 'high'][i]).toBe(2);
      expect(r.stderr).toContain("option '--priority <n>' argument");
      expect(r.stderr).toContain('expected a whole number from 1 (most urgent) to 5 (least)');
    }
    // A good value passes validation and only then meets the unreachable server.
    const ok = await cli(['run', path, '--priority', '1'], unreachable);
    expect(ok.code).toBe(3);
    expect(ok.stderr).toContain('cannot reach Temporal');
  });

  it('run --cache takes read-write (the default), read, write or off, and --cache-ttl a duration; --help says so', async () => {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const { path } = writeChatInput(tempDir(), 3);
    const [helpOut, mode, ttl, zero, ok] = await Promise.all([
      cli(['run', '--help']),
      cli(['run', path, '--cache', 'sometimes'], unreachable),
      cli(['run', path, '--cache-ttl', 'a month'], unreachable),
      cli(['run', path, '--cache-ttl', '0'], unreachable),
      cli(['run', path, '--cache', 'read', '--cache-ttl', '12h'], unreachable),
    ]);
    const help = helpOut.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--cache <mode> exact cache. read-write: send identical requests of this run once');
    expect(help).toContain('(choices: "read-write", "read", "write", "off", default: "read-write")');
    expect(help).toContain('--cache-ttl <duration> reuse cached answers no older than this (e.g. 12h, 30d) (default: 30d)');
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain('Allowed choices are read-write, read, write, off');
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('expected a duration such as 500ms, 30s, 2m, 12h or 30d');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--cache-ttl must be longer than 0');
    // Good values pass validation and only then meet the unreachable server.
    expect(ok.code).toBe(3);
  });

  it('run --semantic-cache takes a similarity in (0, 1] or "default", needs the exact cache, says so in --help; bad values exit 2 naming it', async () => {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const { path } = writeChatInput(tempDir(), 3);
    const [helpOut, high, word, off, batch, unpriced, ok] = await Promise.all([
      cli(['run', '--help']),
      cli(['run', path, '--semantic-cache', '1.2'], unreachable),
      cli(['run', path, '--semantic-cache', 'strict'], unreachable),
      cli(['run', path, '--semantic-cache', 'default', '--cache', 'off'], unreachable),
      cli(['run', path, '--semantic-cache', '0.9', '--mode', 'batch'], unreachable),
      cli(['run', path, '--semantic-cache', '0.9', '--embedding-model', 'my-embedder'], unreachable),
      cli(['run', path, '--semantic-cache', 'default', '--embedding-model', 'text-embedding-3-large'], unreachable),
    ]);
    const help = helpOut.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--semantic-cache <threshold> semantic cache (off unless given): before a realtime call, embed the prompt (text-embedding-3-small, priced and counted in spend, hit or not)');
    expect(help).toContain('or "default" for 0.92');
    expect(help).toContain('--embedding-model <name> with --semantic-cache');
    for (const r of [high, word]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("option '--semantic-cache <threshold>' argument");
      expect(r.stderr).toContain('expected a cosine similarity in (0, 1]');
    }
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('--semantic-cache reuses answers the exact cache keeps: it cannot run with --cache off');
    expect(batch.code).toBe(2);
    expect(batch.stderr).toContain('--mode batch');
    expect(unpriced.code).toBe(2);
    expect(unpriced.stderr).toContain('--embedding-model my-embedder: the pricing table has no price for it');
    // Good values pass validation and only then meet the unreachable server.
    expect(ok.code).toBe(3);
  });

  it('run --route refuses an invalid rules file, naming file, line and field, before contacting anything', async () => {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const dir = tempDir();
    const { path } = writeChatInput(dir, 3);
    writeFileSync(join(dir, 'bad.yaml'), 'rules:\n  - name: refunds\n    match:\n      regex: "refund("\n    model: gpt-4.1\n  - model: gpt-9\n    colour: red\n');
    writeFileSync(join(dir, 'unpriced.yaml'), 'rules:\n  - model: gpt-9\n');
    const [bad, unpriced, batch, missing, ok, help] = await Promise.all([
      cli(['run', path, '--route', join(dir, 'bad.yaml')], unreachable),
      cli(['run', path, '--route', join(dir, 'unpriced.yaml')], unreachable),
      cli(['run', path, '--route', join(REPO, 'examples/routes.yaml'), '--mode', 'batch'], unreachable),
      cli(['run', path, '--route', join(dir, 'none.yaml')], unreachable),
      cli(['run', path, '--route', join(REPO, 'examples/routes.yaml')], unreachable),
      cli(['run', '--help']),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${join(dir, 'bad.yaml')}:4: rules[0].match.regex: invalid regular expression: /refund(/: Unterminated group`);
    expect(bad.stderr).toContain(`${join(dir, 'bad.yaml')}:7: rules[1].colour: Unrecognized key: "colour"`);
    expect(unpriced.code).toBe(2);
    expect(unpriced.stderr).toContain('no price for "gpt-9"');
    expect(batch.code).toBe(2);
    expect(batch.stderr).toContain('reply-draft is a classifier rule');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the rules file (ENOENT)');
    // A valid file passes and only then meets the unreachable server.
    expect(ok.code).toBe(3);
    expect(help.stdout).toContain('--route <file>');
  });

  it('run --schema refuses a schema file that is missing, not JSON or not strict, naming the file, before contacting anything', async () => {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const dir = tempDir();
    const { path } = writeChatInput(dir, 3);
    writeFileSync(join(dir, 'loose.json'), JSON.stringify({ type: 'object', properties: { a: { type: 'string' } } }));
    writeFileSync(join(dir, 'bad.json'), '{"type":');
    const [loose, bad, missing, retries, zod, help] = await Promise.all([
      cli(['run', path, '--schema', join(dir, 'loose.json')], unreachable),
      cli(['run', path, '--schema', join(dir, 'bad.json')], unreachable),
      cli(['run', path, '--schema', join(dir, 'none.json')], unreachable),
      cli(['run', path, '--schema', join(dir, 'loose.json'), '--schema-retries', 'two'], unreachable),
      cli(['run', path, '--schema', join(REPO, 'examples/ticket-schema.ts')], unreachable),
      cli(['run', '--help']),
    ]);
    expect(loose.code).toBe(2);
    expect(loose.stderr).toContain(`--schema ${join(dir, 'loose.json')}: not a strict Structured Outputs schema: In context=(), 'additionalProperties' is required to be supplied and to be false.`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--schema ${join(dir, 'bad.json')}: not valid JSON`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--schema ${join(dir, 'none.json')}: no such file`);
    expect(retries.code).toBe(2);
    expect(retries.stderr).toContain("option '--schema-retries <n>' argument 'two' is invalid");
    // A zod module passes and only then meets the unreachable server.
    expect(zod.code, zod.stderr).toBe(3);
    expect(help.stdout).toContain('--schema <file>');
    expect(help.stdout).toContain('--schema-retries <n>');
  });

  it('a signal to a run that does not exist exits 2 naming it', async () => {
    const env = { TEMPORAL_ADDRESS: inject('temporalAddress') };
    const results = await Promise.all([cli(['pause', 'no-such-run'], env), cli(['budget', 'no-such-run', '--raise', '5'], env), cli(['status', 'no-such-run'], env)]);
    for (const r of results) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no run with id no-such-run');
    }
  });

  it('run --strict refuses a file with bad lines, naming file and line, before contacting anything', async () => {
    const dir = tempDir();
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, `${chatLine('a', 'x')}\n{"nope"\n${chatLine('a', 'y')}\n`);
    const r = await cli(['run', path, '--strict'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:2: not valid JSON`);
    expect(r.stderr).toContain(`${path}:3: custom_id "a" was already used on line 1`);
    expect(r.stderr).toContain('2 invalid lines');
  });

  it('an input file without requests is refused at once (exit 2), by run and by estimate', async () => {
    const dir = tempDir();
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const blank = join(dir, 'blank.jsonl');
    writeFileSync(blank, '\n  \r\n\n');
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const [run, runBlank, estimate] = await Promise.all([cli(['run', empty], unreachable), cli(['run', blank], unreachable), cli(['estimate', empty], unreachable)]);
    for (const [r, file] of [[run, empty], [runBlank, blank], [estimate, empty]] as const) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${file} has no requests`);
      expect(r.stderr).not.toContain('cannot reach Temporal');
    }
  });

  it('says clearly when Temporal cannot be reached', async () => {
    const dir = tempDir();
    const { path } = writeChatInput(dir, 3);
    const r = await cli(['run', path], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  });

  describe('run, status and results against a dev server', () => {
    let emu: RunningEmulator;
    let worker: Awaited<ReturnType<typeof startWorker>>;
    const home = tempDir();
    const taskQueue = `e2e-${Date.now()}`;
    const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), LLM_BATCH_HOME: home, LLM_BATCH_TASK_QUEUE: taskQueue };
    beforeAll(async () => {
      emu = await startEmulator({ port: 0 });
      worker = await startWorker({ home, baseURL: emu.baseUrl, taskQueue });
    });
    afterAll(async () => {
      await worker?.stop();
      await emu?.close();
    });

    it('run --wait --json, then status --json and results', async () => {
      const dir = tempDir();
      const prompts = join(dir, 'prompts.txt');
      writeFileSync(prompts, 'Name three rivers.\nWhat is a durable workflow?\n\nSay hi.\n');
      const run = await cli(['run', prompts, '--model', 'gpt-4o-mini', '--system', 'Be brief.', '--max-tokens', '30', '--run-id', `e2e-${Date.now()}`, '--wait', '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const final = JSON.parse(run.stdout);
      expect(final).toMatchObject({ state: 'completed', counts: { total: 3, succeeded: 3, failed: 0, rejected: 1, pending: 0 } });

      const status = await cli(['status', final.runId, '--json'], env);
      expect(status.code).toBe(0);
      const s = JSON.parse(status.stdout);
      for (const k of ['runId', 'state', 'counts', 'costUsd', 'tokens', 'startedAt', 'updatedAt']) expect(s).toHaveProperty(k);
      expect(s.costUsd.spent).toBeGreaterThan(0);
      expect(s.tokens.prompt).toBeGreaterThan(0);

      const out = join(dir, 'out.jsonl');
      const errors = join(dir, 'errs.jsonl');
      const res = await cli(['results', final.runId, '--out', out, '--errors', errors], env);
      expect(res.code, res.stderr).toBe(0);
      const lines = readJsonl<{ custom_id: string; response: { status_code: number } }>(out);
      expect(lines.map((l) => l.custom_id)).toEqual(['line-1', 'line-2', 'line-4']);
      expect(lines.every((l) => l.response.status_code === 200)).toBe(true);
      expect(readJsonl(errors)).toEqual([]);
      // The empty line 3, from the store, beside --out.
      expect(readJsonl<{ line: number; code: string }>(join(dir, 'rejects.jsonl'))).toEqual([expect.objectContaining({ line: 3, code: 'empty_line' })]);
      expect(res.stdout).toContain(`1 input line rejected → ${join(dir, 'rejects.jsonl')}`);

      const pause = await cli(['pause', final.runId], env);
      expect(pause.code).toBe(1);
      expect(pause.stderr).toContain(`run ${final.runId} is completed: nothing to pause`);
    });

    it('run --schema (a zod module) --wait, then results --parsed --format csv: one row per answer, the schema\'s fields as columns', async () => {
      const dir = tempDir();
      const prompts = join(dir, 'tickets.txt');
      writeFileSync(prompts, 'My invoice is wrong.\nThe export button crashes.\nPlease add dark mode.\n');
      const run = await cli(['run', prompts, '--model', 'gpt-4o-mini', '--schema', 'examples/ticket-schema.ts', '--run-id', `e2e-schema-${Date.now()}`, '--wait', '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const final = JSON.parse(run.stdout);
      expect(final).toMatchObject({ state: 'completed', counts: { total: 3, succeeded: 3, failed: 0 } });
      const csv = join(dir, 'tickets.csv');
      const res = await cli(['results', final.runId, '--out', join(dir, 'out.jsonl'), '--parsed', csv, '--format', 'csv'], env);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain(`3 parsed (csv) → ${csv}`);
      const rows = readFileSync(csv, 'utf8').trimEnd().split('\n');
      expect(rows[0]).toBe('custom_id,category,urgency,summary,needs_human');
      expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(['line-1', 'line-2', 'line-3']);
      for (const r of rows.slice(1)) expect(r).toMatch(/^line-\d,(billing|bug|feature_request|account|other),[1-5],[^,]*,(true|false)$/);
    });

    it('run --route examples/routes.yaml: status shows spend by model and by rule, results carry the route', async () => {
      const dir = tempDir();
      const tickets = join(dir, 'tickets.jsonl');
      // The example's first 120 tickets: summaries, reply drafts (rated by the classifier) and triage.
      writeFileSync(tickets, `${readFileSync(join(REPO, 'examples/support-tickets.jsonl'), 'utf8').split('\n').slice(0, 120).join('\n')}\n`);
      const runId = `e2e-route-${Date.now()}`;
      const run = await cli(['run', tickets, '--route', join(REPO, 'examples/routes.yaml'), '--run-id', runId, '--wait', '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ state: 'completed', counts: { succeeded: 120 } });
      const status = await cli(['status', runId], env);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('spend by model');
      expect(status.stdout).toContain('spend by rule');
      for (const rule of ['summary', 'reply-draft', 'triage', 'money']) expect(status.stdout).toContain(rule);
      const json = JSON.parse((await cli(['status', runId, '--json'], env)).stdout);
      expect(json.spendBy.routed).toBe(true);
      expect(json.spendBy.byRule.reduce((n: number, r: { items: number }) => n + r.items, 0)).toBe(120);
      expect(json.spendBy.byModel.find((m: { model: string }) => m.model === 'gpt-4.1-nano').classifierCalls).toBeGreaterThan(0);
      expect(json.spendBy.byModel.reduce((usd: number, m: { costUsd: number }) => usd + m.costUsd, 0)).toBeCloseTo(json.costUsd.spent, 9);
      const out = join(dir, 'out.jsonl');
      expect((await cli(['results', runId, '--out', out], env)).code).toBe(0);
      const lines = readJsonl<{ response: { body: { model: string } }; llm_batch: { route: { model: string; rule: string; reason: string } } }>(out);
      expect(lines).toHaveLength(120);
      for (const l of lines) expect(l.llm_batch.route.model).toBe(l.response.body.model);
      expect(lines.filter((l) => l.llm_batch.route.rule === 'reply-draft').every((l) => /^feature=reply-draft → classifier: (simple|complex)$/.test(l.llm_batch.route.reason))).toBe(true);
    });

    it('run --mode hybrid --wait: urgent items realtime, the rest through the Batch API; the summary shows the split', async () => {
      emu.configure({ batchValidatingMs: 100, batchInProgressMs: 500, batchFinalizingMs: 100 });
      const { path } = writeChatInput(tempDir(), 40);
      const run = await cli(['run', path, '--mode', 'hybrid', '--urgent-if', 'custom_id^=item-0000', '--batch-poll-interval', '200ms', '--batch-poll-max', '1s', '--run-id', `e2e-hyb-${Date.now()}`, '--wait'], env);
      expect(run.code, run.stderr).toBe(0);
      // item-00001 … item-00009 are urgent: 9 realtime, 31 through the Batch API.
      expect(run.stdout).toContain('realtime 9 items (9 routed)');
      expect(run.stdout).toContain('Batch API 31 items (31 routed)');
      expect(run.stdout).toMatch(/all-realtime \$[\d.]+ \(saved \$[\d.]+\)/);
    });

    it('pause, resume and cancel a live run; status --watch piped follows it to the end', async () => {
      emu.configure({ latencyMs: 200 });
      try {
        const { path } = writeChatInput(tempDir(), 300);
        const runId = `e2e-pause-${Date.now()}`;
        const start = await cli(['run', path, '--run-id', runId, '--concurrency', '2', '--chunk-size', '10', '--max-chunks-in-flight', '2'], env);
        expect(start.code, start.stderr).toBe(0);
        const watching = cli(['status', runId, '--watch'], env);
        const c = await client();
        await waitFor(async () => {
          const s = await getRunStatus(c, runId).catch(() => undefined);
          return s?.state === 'running' && s.counts.succeeded > 0;
        }, 60_000, 'the run to be running');

        const pause = await cli(['pause', runId, '--json'], env);
        expect(pause.code, pause.stderr).toBe(0);
        expect(JSON.parse(pause.stdout)).toEqual({ runId, signal: 'pause', state: 'paused' });
        const paused = await cli(['status', runId], env);
        expect(paused.stdout).toContain(`paused: llm-batch resume ${runId}`);

        const resume = await cli(['resume', runId], env);
        expect(resume.code, resume.stderr).toBe(0);
        expect(resume.stdout).toMatch(new RegExp(`^resumed ${runId} \\(state: running\\)`));

        const cancel = await cli(['cancel', runId], env);
        expect(cancel.code, cancel.stderr).toBe(0);
        expect(cancel.stdout).toMatch(new RegExp(`^cancelled ${runId} \\(state: (exporting|cancelled)\\)`));

        const watch = await watching;
        expect(watch.code, watch.stderr).toBe(0);
        expect(watch.stdout).toMatch(/^paused: \d+\/300 done/m);
        expect(watch.stdout).toMatch(/state\s+│ cancelled/);
        const final = await getRunStatus(c, runId);
        expect(final.counts.pending).toBeGreaterThan(0);
        const errors = readJsonl<{ error: { code: string } }>(final.errorsPath!);
        expect(errors.length).toBe(final.counts.pending + final.counts.failed);
        expect(errors.some((e) => e.error.code === 'cancelled')).toBe(true);

        const again = await cli(['resume', runId], env);
        expect(again.code).toBe(1);
        expect(again.stderr).toContain(`run ${runId} is cancelled: nothing to resume`);
      } finally {
        emu.configure({ latencyMs: 0 });
      }
    });

    it('sample and approve: run --wait follows through awaiting_approval with a hint; budget, probe and approve act on the live run', async () => {
      const { path } = writeChatInput(tempDir(), 12);
      const runId = `e2e-approve-${Date.now()}`;
      const waiting = cli(['run', path, '--run-id', runId, '--sample', '3', '--approve', '--budget', '5', '--wait'], env);
      const c = await client();
      await waitFor(async () => (await getRunStatus(c, runId).catch(() => undefined))?.state === 'awaiting_approval', 60_000, 'awaiting_approval');

      const status = await cli(['status', runId], env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/state\s+│ awaiting_approval/);
      expect(status.stdout).toMatch(/cost\s+│ spent \$\S+ · reserved \$\S+ · budget \$5\.00 \(green\)/);
      expect(status.stdout).toMatch(/sample\s+│ \$\S+\/item over 3 measured/);
      expect(status.stdout).toContain(`awaiting approval (the sample extrapolates to`);

      const budget = await cli(['budget', runId, '--set', '10', '--json'], env);
      expect(budget.code, budget.stderr).toBe(0);
      expect(JSON.parse(budget.stdout)).toMatchObject({ runId, signal: 'setBudget', state: 'awaiting_approval', budgetUsd: 10 });

      const probe = await cli(['probe', runId], env);
      expect(probe.code).toBe(1);
      expect(probe.stderr).toContain('the circuit is closed');

      const approve = await cli(['approve', runId], env);
      expect(approve.code, approve.stderr).toBe(0);
      expect(approve.stdout).toMatch(new RegExp(`^approved ${runId} \\(state: (running|exporting|completed)\\)`));

      const run = await waiting;
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`awaiting approval (the sample extrapolates to`);
      expect(run.stdout).toContain(`llm-batch approve ${runId}`);
      expect(run.stdout).toMatch(/state\s+│ completed/);
      expect(run.stdout).toMatch(/items ok\s+│ 12/);
      expect(run.stdout).toMatch(/budget \$10\.00/);
    });
  });

  it('Quick start: `npm run demo` runs the 2,400-request example to completion', async () => {
    const home = tempDir();
    const [tp, up, ep] = [await freePort(), await freePort(), await freePort()];
    const { stdout, stderr } = await exec('npm', ['run', 'demo', '--', '--no-keep-running', '--temporal-port', String(tp), '--ui-port', String(up), '--emulator-port', String(ep)], {
      cwd: REPO,
      env: { ...process.env, LLM_BATCH_HOME: home },
      timeout: 240_000,
    });
    expect(stdout).toMatch(/state\s+│ completed/);
    expect(stdout).toMatch(/items ok\s+│ 2,400/);
    expect(stdout).toContain(`Temporal UI http://127.0.0.1:${up}/namespaces/default/workflows/`);
    const outputPath = /output\s+(\S+output\.jsonl)/.exec(stdout)?.[1];
    expect(outputPath, stderr).toBeDefined();
    expect(existsSync(outputPath!)).toBe(true);
    expect(readJsonl(outputPath!)).toHaveLength(2400);
  }, 300_000);
});
