// `llm-batch results RUN_ID --out FILE`: the run's results in OpenAI Batch output format,
// read from the item store: the data dir's SQLite file, or LLM_BATCH_DATABASE_URL's PostgreSQL.
// The input's rejects come from the store too, so any machine can write rejects.jsonl.
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { exportParsed, type ParsedFormat } from '../activities/export-parsed.ts';
import { storePath } from '../store/sqlite.ts';
import { openItemStore } from '../store/open.ts';
import type { ItemStore } from '../store/item-store.ts';
import { exportResults, NOT_PROCESSED } from '../activities/export.ts';
import { notDoneFor, type NotDone } from '../domain/run-types.ts';
import { connectClient, getRunStatus } from '../client.ts';
import { databaseUrl, dataDir } from '../settings.ts';
import { CliError } from './options.ts';

export function registerResultsCommand(program: Command): void {
  program
    .command('results')
    .argument('<run-id>', 'the run to export')
    .description('write one line per accepted input: successes to --out, failures and undone items to --errors, both in input order')
    .requiredOption('--out <file>', 'output file (OpenAI Batch output format)')
    .option('--errors <file>', 'errors file (same format, with error set); default: beside --out as errors.jsonl')
    .option('--rejects <file>', "the input lines that were refused, as the run's rejects.jsonl; default: beside --out as rejects.jsonl")
    .option('--parsed <file>', "also write each success's parsed answer as one {custom_id, ...fields} record, ready for a data frame (a JSON object answer gives its fields; other JSON a `value`, text a `content`)")
    .addOption(new Option('--format <format>', 'format of --parsed: jsonl, or csv (header row; nested values as JSON in a cell)').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--json', 'print the counts as JSON')
    .action(async (runId: string, opts: { out: string; errors?: string; rejects?: string; parsed?: string; format: ParsedFormat; json?: boolean }) => {
      if (opts.format === 'csv' && opts.parsed === undefined) throw new CliError('--format csv is the format of --parsed FILE: add --parsed FILE');
      const home = dataDir();
      const url = databaseUrl();
      if (!url && !existsSync(storePath(home))) {
        throw new CliError(`no item store at ${storePath(home)}; set LLM_BATCH_HOME to the data dir the worker uses, or LLM_BATCH_DATABASE_URL to its database`);
      }
      const { store, where } = await openItemStore(home, url);
      try {
        const totals = await store.totals(runId);
        if (totals.items === 0) throw new CliError(`no items for run ${runId} in ${where}`);
        const out = resolve(opts.out);
        const errors = resolve(opts.errors ?? resolve(out, '..', 'errors.jsonl'));
        const r = await exportResults(store, runId, out, errors, await notDoneOf(runId));
        const rejectsPath = resolve(opts.rejects ?? resolve(out, '..', 'rejects.jsonl'));
        const rejected = await writeRejects(store, runId, rejectsPath);
        const parsedPath = opts.parsed === undefined ? undefined : resolve(opts.parsed);
        const parsed = parsedPath === undefined ? undefined : await exportParsed(store, runId, parsedPath, opts.format);
        if (opts.json) console.log(JSON.stringify({ ...r, rejected, rejectsPath, ...(parsedPath !== undefined ? { parsed, parsedPath } : {}) }));
        else {
          console.log(`${r.succeeded} succeeded → ${r.outputPath}`);
          console.log(`${r.failed} failed${r.notDone ? `, ${r.notDone} not done yet` : ''} → ${r.errorsPath}`);
          console.log(`${rejected} input ${rejected === 1 ? 'line' : 'lines'} rejected → ${rejectsPath}`);
          if (parsedPath !== undefined) console.log(`${parsed} parsed (${opts.format}) → ${parsedPath}`);
        }
      } finally {
        await store.close();
      }
    });
}

/** The run's rejects from the store, one JSON line each, in line order; returns how many. */
async function writeRejects(store: ItemStore, runId: string, path: string): Promise<number> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  let n = 0;
  try {
    for await (const r of store.rejects(runId)) {
      n++;
      if (!out.write(`${JSON.stringify(r)}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return n;
}

/** How items never done are listed: as the run ended (cancelled, rejected…), when Temporal can say. */
async function notDoneOf(runId: string): Promise<NotDone> {
  try {
    return notDoneFor((await getRunStatus(await connectClient(), runId)).state);
  } catch {
    // Temporal unreachable or the run forgotten: the store alone still gives the results.
    return NOT_PROCESSED;
  }
}
