// With a shared item store (LLM_BATCH_DATABASE_URL), `run FILE` stages the input itself:
// it streams the file from this machine into PostgreSQL (validated, tokens counted exactly,
// as the staging activity does) and starts the run with the result, so no worker needs to
// see the file. rejects.jsonl is written here, next to the user, in the local data dir.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { RunConfig, StageResult } from '../domain/run-types.ts';
import { stageInput } from '../input/stage-input.ts';
import { loadPricing } from '../llm/pricing-file.ts';
import { openItemStore } from '../store/open.ts';
import { dataDir, runDirOf } from '../settings.ts';
import { CliError } from './options.ts';

/** Stages `config.inputPath` into the shared store; progress on stderr unless quiet. */
export async function stageHere(client: Client, config: RunConfig, databaseUrl: string, quiet: boolean): Promise<StageResult> {
  // A taken run id must be refused before its id's items are touched.
  try {
    await client.workflow.getHandle(config.runId).describe();
    throw new CliError(`a run with id ${config.runId} already exists; choose another --run-id`);
  } catch (e) {
    if (!(e instanceof WorkflowNotFoundError)) throw e;
  }
  const { store, where } = await openItemStore(dataDir(), databaseUrl);
  const say = (m: string): void => void (quiet || process.stderr.write(`${m}\n`));
  say(`staging ${config.inputPath} into ${where} …`);
  try {
    const t0 = Date.now();
    const staged = await stageInput(
      { store, pricingFor: async (c) => loadPricing(c.pricingPath), runDir: (runId) => runDirOf(dataDir(), runId) },
      config,
      (lines) => say(`  ${lines.toLocaleString('en-US')} lines`),
    );
    say(`staged ${staged.accepted.toLocaleString('en-US')} items (${staged.rejected} rejected, in ${staged.rejectsPath}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const w of staged.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
    return staged;
  } catch (e) {
    // The staging activity's non-retryable failures (unreadable input, unknown model) are the user's to fix.
    throw new CliError((e as Error).message);
  } finally {
    await store.close();
  }
}
