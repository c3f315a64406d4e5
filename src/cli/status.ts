// `llm-batch status RUN_ID`: the run's status from its workflow, once, as JSON, or live.
import type { Command } from 'commander';
import { connectClient, getRunStatus, isFinished } from '../client.ts';
import { followRun } from './run.ts';
import { stateHint, summaryTable } from './format.ts';
import { CliError } from './options.ts';
import { readRouteSpend, routeSpendTables } from './route-spend.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .argument('<run-id>', 'the id printed by `llm-batch run`')
    .description("show a run's state, counts, tokens, cost against its budget, circuit and sample")
    .option('--json', 'machine output: the status as the run reports it')
    .option('--watch', 'redraw live until the run ends: bar, state, spent/reserved/budget, items/s and ETA, circuit (one line per change when piped)')
    .addHelpText('after', `
The cost line reads: spent (priced from the provider's usage) · reserved (estimates of the
chunks in flight) · budget (green, yellow past --budget-warn-at, red at 100%) · overshoot.
States that wait for you: paused (resume), awaiting_approval (approve/reject),
budget_exhausted (budget --raise), circuit_open (probe), quality_hold (approve/reject; the
spot-checks row shows each checkpoint's pass rate, and while held, the failing items).
Where this machine sees the item store, it also shows spend by model and, for a run with
--route, by routing rule (spendBy in --json).`)
    .action(async (runId: string, opts: { json?: boolean; watch?: boolean }) => {
      const client = await connectClient();
      const status = await (opts.watch ? followRun(client, runId, { quiet: opts.json ?? false }) : getRunStatus(client, runId)).catch((e: Error) => {
        throw e.message === `no run with id ${runId}` ? new CliError(e.message) : e;
      });
      const spendBy = await readRouteSpend(runId);
      if (opts.json) {
        console.log(JSON.stringify(spendBy ? { ...status, spendBy } : status, null, 2));
        return;
      }
      const wall = Date.parse(status.updatedAt) - Date.parse(status.startedAt);
      console.log(summaryTable(status, wall));
      const tables = spendBy && routeSpendTables(spendBy);
      if (tables) console.log(tables);
      if (!isFinished(status)) {
        console.log(`chunks ${status.chunks.done}/${status.chunks.total} done, in flight: ${status.chunks.inFlight.join(', ') || 'none'}`);
        const hint = stateHint(status);
        if (hint) console.log(hint);
      }
    });
}
