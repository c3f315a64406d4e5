// `llm-batch status RUN_ID`: the run's status from its workflow, once, as JSON, or live.
import type { Command } from 'commander';
import { connectClient, getRunStatus, isFinished } from '../client.ts';
import { followRun } from './run.ts';
import { summaryTable } from './format.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .argument('<run-id>', 'the id printed by `llm-batch run`')
    .description("show a run's state, counts, tokens and cost")
    .option('--json', 'machine output')
    .option('--watch', 'redraw live until the run finishes')
    .action(async (runId: string, opts: { json?: boolean; watch?: boolean }) => {
      const client = await connectClient();
      const status = opts.watch ? await followRun(client, runId, { quiet: opts.json ?? false }) : await getRunStatus(client, runId);
      if (opts.json) {
        console.log(JSON.stringify(status, null, 2));
        return;
      }
      const wall = Date.parse(status.updatedAt) - Date.parse(status.startedAt);
      console.log(summaryTable(status, wall));
      if (!isFinished(status)) console.log(`chunks ${status.chunks.done}/${status.chunks.total} done, in flight: ${status.chunks.inFlight.join(', ') || 'none'}`);
    });
}
