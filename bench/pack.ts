// `npm run bench -- pack`: request packing measured. The same file of small labelling items
// (one ~150-token instruction as the system prompt, a one-line ticket each, a JSON Schema for
// the label) run through the CLI four ways, each on a fresh worker, data dir and emulator:
//   1. unpacked                       (the baseline)
//   2. --pack 10
//   3. --pack 20
//   4. --pack 10, the emulator dropping an id from 5% of packs (--pack-drop-rate 0.05)
// The emulator has OpenAI-like latency (300 ± 100 ms) and limits of 10,000 RPM / 4M TPM. The
// exact cache is off so every variant pays for every item. Printed per variant: cost (the
// run's status, priced from usage), the calls the emulator served, prompt and completion
// tokens, wall time, and cost, calls and wall time as ratios to the baseline of this run.
// BENCH_PACK_ITEMS sets the number of items (4,000 by default).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDevServer } from '../src/dev/dev-server.ts';
import { freePort } from '../src/dev/ports.ts';
import type { RunStatus } from '../src/domain/run-types.ts';
import { REPO, spawnEmulator, spawnWorker, stopAllChildren } from './processes.ts';

const run = promisify(execFile);
const log = (m: string): void => void process.stderr.write(`[bench pack] ${m}\n`);
const EMULATOR_ARGS = ['--rpm', '10000', '--tpm', '4000000', '--latency-ms', '300', '--jitter-ms', '100'];

const SYSTEM = [
  'You label customer support tickets for the operations team of a software company.',
  'Read the ticket and give the product area it concerns (export, import, billing, login, reporting, integrations or other),',
  'how urgent it is (low, normal, high: high only when a customer cannot work at all or data may be lost),',
  'and one concrete next step for the agent who picks it up, in a single short sentence.',
  'Do not repeat the ticket. Do not greet. Do not apologise. If the ticket is not about the product, say "other" and suggest closing it.',
  'Tickets come from the web form and may be terse, misspelled or in another language; answer in English either way.',
  'When a ticket names an error code, mention it in the next step so the agent can search the runbook for it.',
].join(' ');

const SCHEMA = {
  type: 'object',
  properties: {
    area: { type: 'string', enum: ['export', 'import', 'billing', 'login', 'reporting', 'integrations', 'other'] },
    urgency: { type: 'string', enum: ['low', 'normal', 'high'] },
    next_step: { type: 'string' },
  },
  required: ['area', 'urgency', 'next_step'],
  additionalProperties: false,
};

const SUBJECTS = ['the CSV export', 'the login page', 'the invoice', 'the weekly report', 'the Slack integration', 'the import wizard', 'two-factor codes', 'the API token'];
const SYMPTOMS = ['times out', 'shows error', 'is empty', 'charges twice', 'never arrives', 'rejects the file with code', 'logs me out after', 'is slow since update'];

function writeInput(path: string, n: number): void {
  const lines = Array.from({ length: n }, (_, i) => {
    const text = `${SUBJECTS[i % SUBJECTS.length]} ${SYMPTOMS[(i * 7) % SYMPTOMS.length]} ${1000 + (i % 97)} (ticket ${i + 1})`;
    return JSON.stringify({
      custom_id: `t-${i + 1}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: text }], max_tokens: 60, response_format: { type: 'json_schema', json_schema: { name: 'ticket_label', strict: true, schema: SCHEMA } } },
    });
  });
  writeFileSync(path, `${lines.join('\n')}\n`);
}

interface Variant {
  name: string;
  flags: string[];
  emulator: string[];
}

const VARIANTS: Variant[] = [
  { name: 'unpacked', flags: [], emulator: [] },
  { name: '--pack 10', flags: ['--pack', '10'], emulator: [] },
  { name: '--pack 20', flags: ['--pack', '20'], emulator: [] },
  { name: '--pack 10, 5% dropped ids', flags: ['--pack', '10'], emulator: ['--pack-drop-rate', '0.05'] },
];

interface Outcome {
  variant: Variant;
  costUsd: number;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  wallMs: number;
  succeeded: number;
}

async function runVariant(v: Variant, i: number, dir: string, inputPath: string, temporalAddress: string): Promise<Outcome> {
  const home = join(dir, `home-${i}`);
  mkdirSync(home, { recursive: true });
  const taskQueue = `bench-pack-${i}`;
  const emulator = await spawnEmulator([...EMULATOR_ARGS, ...v.emulator]);
  const worker = await spawnWorker({ temporalAddress, home, baseURL: emulator.baseUrl, taskQueue });
  try {
    const t0 = Date.now();
    const { stdout } = await run(process.execPath, [join(REPO, 'bin/llm-batch.js'), 'run', inputPath, '--wait', '--json', '--cache', 'off', '--run-id', `pack-${i}-${Date.now()}`, ...v.flags], {
      cwd: REPO,
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, LLM_BATCH_HOME: home, LLM_BATCH_TASK_QUEUE: taskQueue },
      maxBuffer: 64 * 1024 * 1024,
    });
    const wallMs = Date.now() - t0;
    const status = JSON.parse(stdout) as RunStatus;
    const stats = (await (await fetch(`${emulator.origin}/_emulator/stats`)).json()) as { served: number; promptTokens: number; completionTokens: number };
    const out: Outcome = { variant: v, costUsd: status.costUsd.spent, calls: stats.served, promptTokens: stats.promptTokens, completionTokens: stats.completionTokens, wallMs, succeeded: status.counts.succeeded };
    log(`${v.name}: $${out.costUsd.toFixed(5)}, ${out.calls} calls, ${(wallMs / 1000).toFixed(1)} s, ${out.succeeded} succeeded`);
    return out;
  } finally {
    await worker.stop();
    await emulator.stop();
  }
}

export async function benchPack(): Promise<number> {
  const items = Number(process.env.BENCH_PACK_ITEMS ?? 4000);
  const dir = mkdtempSync(join(tmpdir(), 'llm-batch-bench-pack-'));
  const server = await startDevServer({ dataDir: join(dir, 'temporal'), port: await freePort(), uiPort: 0, ui: false });
  try {
    const inputPath = join(dir, 'tickets.jsonl');
    writeInput(inputPath, items);
    log(`${items} items, gpt-4o-mini, a ~150-token system prompt, max_tokens 60, a JSON Schema`);
    const outcomes: Outcome[] = [];
    for (const [i, v] of VARIANTS.entries()) outcomes.push(await runVariant(v, i, dir, inputPath, server.address));
    const base = outcomes[0]!;
    const rows = outcomes.map((o) => [
      o.variant.name,
      `$${o.costUsd.toFixed(5)}`,
      `${(o.costUsd / base.costUsd).toFixed(3)}×`,
      String(o.calls),
      `${(o.calls / base.calls).toFixed(3)}×`,
      String(o.promptTokens),
      String(o.completionTokens),
      `${(o.wallMs / 1000).toFixed(1)} s`,
      `${(o.wallMs / base.wallMs).toFixed(2)}×`,
    ]);
    const head = ['variant', 'cost', 'cost ÷ unpacked', 'calls', 'calls ÷ unpacked', 'prompt tokens', 'completion tokens', 'wall', 'wall ÷ unpacked'];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
    const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c]!)).join(' | ')} |`;
    console.log([line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
    const complete = outcomes.every((o) => o.succeeded === items);
    console.log(`\nevery variant answered all ${items} items: ${complete ? 'yes' : 'NO'}`);
    return complete ? 0 : 1;
  } finally {
    await stopAllChildren();
    await server.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
