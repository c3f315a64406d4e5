// Operator commands on a running run: pause, resume, cancel, approve, reject, probe and
// budget. Each sends one signal to the run's workflow (the same signals the Temporal UI's
// Signal dialog sends), then reads the status for up to ~10 s to report what the run did
// (a run acts within a workflow task, but on a loaded box that can take seconds).
import { Command } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { RunStatus } from '../domain/run-types.ts';
import { connectClient, getRunStatus } from '../client.ts';
import {
  approveSignal,
  cancelSignal,
  pauseSignal,
  probeSignal,
  raiseBudgetSignal,
  rejectSignal,
  resumeSignal,
  setBudgetSignal,
  type BudgetAmount,
} from '../workflows/messages.ts';
import { CliError, EXIT, usdAmount } from './options.ts';
import { bold, usd } from './format.ts';

type SignalName = 'pause' | 'resume' | 'cancel' | 'approve' | 'reject' | 'probe' | 'raiseBudget' | 'setBudget';

interface Control {
  command: 'pause' | 'resume' | 'cancel' | 'approve' | 'reject' | 'probe';
  signal: SignalDefinition<[]>;
  /** One line for the command list. */
  summary: string;
  /** What the signal does to chunks in flight and to the run, for --help. */
  effect: string;
  /** Past tense for the report line. */
  done: string;
  /** The run has acted on the signal (compared with its status before it was sent). */
  settled(before: RunStatus | undefined, now: RunStatus): boolean;
}

const leftState = (state: RunStatus['state']) => (_b: RunStatus | undefined, now: RunStatus): boolean => now.state !== state;

const CONTROLS: Control[] = [
  {
    command: 'pause',
    signal: pauseSignal,
    summary: 'pause a run: no new chunks; chunks in flight stop at their next item',
    effect: 'Dispatch stops, and chunks in flight stop at their next item (a call already sent finishes and is recorded). Nothing is lost: `llm-batch resume RUN` continues exactly where it stopped. The run waits in state paused.',
    done: 'paused',
    settled: (_b, now) => now.state === 'paused',
  },
  {
    command: 'resume',
    signal: resumeSignal,
    summary: 'resume a paused run where it stopped',
    effect: 'A paused run dispatches again from its pending items; items already done are never sent again.',
    done: 'resumed',
    settled: leftState('paused'),
  },
  {
    command: 'cancel',
    signal: cancelSignal,
    summary: 'cancel a run: stop everything and export what was done',
    effect: 'Dispatch stops and chunks in flight stop at their next item. The run then exports: output.jsonl has what succeeded, and errors.jsonl lists every item not done as cancelled. The run ends in state cancelled (exit 1 for `run --wait`).',
    done: 'cancelled',
    settled: (_b, now) => now.state === 'cancelled' || now.state === 'exporting',
  },
  {
    command: 'approve',
    signal: approveSignal,
    summary: 'approve the measured sample of a run in awaiting_approval, or a run in quality_hold',
    effect: 'After `run --sample N --approve`, the run waits in awaiting_approval with the sample\'s measured cost per item and extrapolated total (see `llm-batch status RUN`). With `run --spot-check N`, a checkpoint below --min-pass-rate holds the run in quality_hold (the status lists the failing items and why). Approving dispatches the rest of the items.',
    done: 'approved',
    settled: (_b, now) => now.state !== 'awaiting_approval' && now.state !== 'quality_hold',
  },
  {
    command: 'reject',
    signal: rejectSignal,
    summary: 'reject a run after its sample or at a quality hold: it ends as rejected',
    effect: 'After `run --sample N --approve`, or in quality_hold (`run --spot-check N`), rejecting ends the run in state rejected without dispatching the rest. The results so far are kept and exported.',
    done: 'rejected',
    settled: (_b, now) => now.state === 'rejected' || now.state === 'exporting',
  },
  {
    command: 'probe',
    signal: probeSignal,
    summary: 'while the circuit is open, send the probe call now',
    effect: 'While the circuit is open (the provider kept failing), the run waits before one probe call, doubling the wait after each failed probe. This sends the probe now: on success the circuit closes and dispatch resumes.',
    done: 'probe requested for',
    settled: (b, now) => (b ? now.circuit?.probes !== b.circuit?.probes : false) || now.circuit?.state === 'closed',
  },
];

/** The run must exist and be running; otherwise a clear error (exit 2 for no such run, 1 for a closed one). */
async function checkRunning(client: Client, runId: string, action: string): Promise<void> {
  let status: string;
  try {
    status = (await client.workflow.getHandle(runId).describe()).status.name;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new CliError(`no run with id ${runId}`, EXIT.usage);
    throw e;
  }
  if (status === 'RUNNING') return;
  // A closed run still answers its status query: name its own final state (cancelled, rejected…).
  const state = (await statusWithin(client, runId, 2000))?.state ?? status.toLowerCase().replace(/_/g, ' ');
  throw new CliError(`run ${runId} is ${state}: nothing to ${action}`, EXIT.runNotCompleted);
}

/** The status within `ms`, or undefined when the run does not answer (no worker, or it is busy). */
async function statusWithin(client: Client, runId: string, ms: number): Promise<RunStatus | undefined> {
  try {
    return await client.withDeadline(Date.now() + ms, () => getRunStatus(client, runId));
  } catch {
    return undefined;
  }
}

/** How long a control command watches for the run to act on its signal. */
const OBSERVE_MS = 10_000;

/** Sends the signal, then polls the status for up to `waitMs` until `settled` or a refusal shows. */
async function sendAndObserve(
  client: Client,
  runId: string,
  send: () => Promise<void>,
  settled: (before: RunStatus | undefined, now: RunStatus) => boolean,
  waitMs = OBSERVE_MS,
): Promise<{ before?: RunStatus; after?: RunStatus; refused?: string }> {
  const before = await statusWithin(client, runId, 1500);
  await send();
  const deadline = Date.now() + waitMs;
  let after: RunStatus | undefined;
  for (;;) {
    after = (await statusWithin(client, runId, Math.max(200, deadline - Date.now()))) ?? after;
    if (after) {
      if (after.lastSignalError && after.lastSignalError !== before?.lastSignalError) return { before, after, refused: after.lastSignalError };
      if (settled(before, after)) break;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { before, after };
}

function report(opts: { json?: boolean }, runId: string, signal: SignalName, line: string, r: { after?: RunStatus; refused?: string }, extra: Record<string, unknown> = {}): void {
  const state = r.after?.state ?? null;
  if (opts.json) console.log(JSON.stringify({ runId, signal, state, ...extra, ...(r.refused ? { refused: r.refused } : {}) }));
  else if (r.refused) console.error(`llm-batch: ${signal} was sent to ${runId}, but the run refused it: ${r.refused} (state: ${state ?? 'unknown'})`);
  else console.log(`${line} (state: ${state ?? 'unknown: the run did not answer its status query within ${OBSERVE_MS / 1000} s'})`);
  if (r.refused) process.exitCode = EXIT.runNotCompleted;
}

const signalHelp = (signal: SignalName, effect: string): string => `
Sends the \`${signal}\` signal to the run's workflow. ${effect}
In the Temporal UI: the run's page → Signal → name \`${signal}\`${signal === 'raiseBudget' || signal === 'setBudget' ? ', input {"amountUsd": 25}' : ', no input'}.

Exit codes: 0 sent; 1 the run is closed, or refused the signal (shown as lastSignalError in status); 2 no such run or bad usage; 3 Temporal unreachable.`;

function registerControl(program: Command, c: Control): void {
  program
    .command(c.command)
    .argument('<run-id>', 'the run (its Temporal workflow id)')
    .description(c.summary)
    .option('--json', 'machine output: {runId, signal, state}')
    .addHelpText('after', signalHelp(c.signal.name as SignalName, c.effect))
    .action(async (runId: string, opts: { json?: boolean }) => {
      const client = await connectClient();
      await checkRunning(client, runId, c.command);
      const handle = client.workflow.getHandle(runId);
      const r = await sendAndObserve(client, runId, () => handle.signal(c.signal), c.settled);
      const acted = r.after !== undefined && c.settled(r.before, r.after);
      const line = acted ? `${c.done} ${bold(runId)}` : `${c.signal.name} sent to ${bold(runId)}; not acted on within ${OBSERVE_MS / 1000} s`;
      report(opts, runId, c.signal.name as SignalName, line, r);
    });
}

function registerBudget(program: Command): void {
  program
    .command('budget')
    .argument('<run-id>', 'the run (its Temporal workflow id)')
    .description("raise or set a run's budget (USD); a run in budget_exhausted resumes if the new budget allows")
    .option('--raise <usd>', 'add this much to the budget (signal raiseBudget)', usdAmount)
    .option('--set <usd>', 'set the budget to this amount (signal setBudget)', usdAmount)
    .option('--json', 'machine output: {runId, signal, state, budgetUsd}')
    .addHelpText('after', `
Give exactly one of --raise or --set. Sends the \`raiseBudget\` or \`setBudget\` signal with
{"amountUsd": N}. New chunks are dispatched only if spent + reserved + their estimate fits the
budget; chunks already in flight are not stopped by a lower budget, they finish within their cap.
A run waiting in budget_exhausted dispatches again when the new budget leaves room.
In the Temporal UI: the run's page → Signal → name \`raiseBudget\`, input {"amountUsd": 25}.

Exit codes: 0 sent; 1 the run is closed, or refused the signal; 2 no such run or bad usage; 3 Temporal unreachable.`)
    .action(async (runId: string, opts: { raise?: number; set?: number; json?: boolean }) => {
      if ((opts.raise === undefined) === (opts.set === undefined)) {
        throw new CliError('budget: give exactly one of --raise USD (add to the budget) or --set USD (set it), e.g. llm-batch budget RUN --raise 25');
      }
      const raise = opts.raise !== undefined;
      const amountUsd = (raise ? opts.raise : opts.set)!;
      const signal = raise ? raiseBudgetSignal : setBudgetSignal;
      const client = await connectClient();
      await checkRunning(client, runId, 'change the budget of');
      const handle = client.workflow.getHandle(runId);
      const arg: BudgetAmount = { amountUsd };
      const expected = (before: RunStatus | undefined): number | undefined =>
        raise ? (before ? (before.costUsd.budget ?? 0) + amountUsd : undefined) : amountUsd;
      const r = await sendAndObserve(client, runId, () => handle.signal(signal, arg), (before, now) => {
        const want = expected(before);
        return want === undefined ? now.costUsd.budget !== before?.costUsd.budget : now.costUsd.budget !== null && Math.abs(now.costUsd.budget - want) < 1e-9;
      });
      const budget = r.after?.costUsd.budget ?? null;
      const what = raise ? `raised the budget of ${bold(runId)} by ${usd(amountUsd)}` : `set the budget of ${bold(runId)} to ${usd(amountUsd)}`;
      report(opts, runId, signal.name as SignalName, `${what}; budget now ${budget === null ? 'not confirmed yet' : usd(budget)}, spent ${r.after ? usd(r.after.costUsd.spent) : '?'}`, r, { budgetUsd: budget });
    });
}

export function registerControlCommands(program: Command): void {
  for (const c of CONTROLS) registerControl(program, c);
  registerBudget(program);
}
