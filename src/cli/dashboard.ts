// `llm-batch dashboard`: serves the read-only cost dashboard (src/dashboard/) from the item
// store until Ctrl-C. Loopback by default; any other address needs a token.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { databaseUrl, dataDir } from '../settings.ts';
import { openItemStore } from '../store/open.ts';
import { storePath } from '../store/sqlite.ts';
import { isLoopback } from '../dashboard/access.ts';
import { startDashboard } from '../dashboard/server.ts';
import { temporalStates } from '../dashboard/temporal-state.ts';
import { connectClient } from '../client.ts';
import { loadDefaultPricing, loadPricingFile } from '../llm/pricing-file.ts';
import { CliError, EXIT, port } from './options.ts';

export const DEFAULT_DASHBOARD_PORT = 8234;
const TOKEN_ENV = 'LLM_BATCH_DASHBOARD_TOKEN';
const MIN_TOKEN = 16;

interface DashboardCliOptions {
  port: number;
  host: string;
  authToken?: string;
  pricing?: string;
}

export function registerDashboardCommand(program: Command): Command {
  return program
    .command('dashboard')
    .description('Serve a read-only cost dashboard from the item store: spend by feature, model, mode and day, the runs, one run\'s progress, spend against its budget, 429s, latency and errors. Updates live.')
    .option('--port <n>', 'port to listen on (0 = any free port)', port, DEFAULT_DASHBOARD_PORT)
    .option('--host <host>', 'interface to bind; anything but loopback (127.0.0.1, ::1, localhost) requires --auth-token', '127.0.0.1')
    .option('--auth-token <token>', `a secret every request must carry (Authorization: Bearer, or ?token= once in the URL, which sets a cookie); at least ${MIN_TOKEN} characters; default: $${TOKEN_ENV}`)
    .option('--pricing <file>', 'pricing table whose Batch API discount gives the all-realtime cost (default: the bundled table)')
    .addHelpText('after', `\nThe store is the SQLite file in $LLM_BATCH_HOME (default .llm-batch), or PostgreSQL when LLM_BATCH_DATABASE_URL is set.\n\nExamples:\n  llm-batch dashboard                       # http://127.0.0.1:${DEFAULT_DASHBOARD_PORT}/\n  ${TOKEN_ENV}=$(openssl rand -hex 24) llm-batch dashboard --host 0.0.0.0\n`)
    .action(async (opts: DashboardCliOptions) => {
      const token = opts.authToken ?? (process.env[TOKEN_ENV] || undefined);
      if (token !== undefined && token.length < MIN_TOKEN) throw new CliError(`--auth-token must be at least ${MIN_TOKEN} characters`, EXIT.usage);
      if (!isLoopback(opts.host) && token === undefined) {
        throw new CliError(`--host ${opts.host} is reachable from other machines: give --auth-token (or set ${TOKEN_ENV}), or bind to 127.0.0.1`, EXIT.usage);
      }
      const pricing = opts.pricing ? loadPricingFile(opts.pricing) : loadDefaultPricing();
      const home = dataDir();
      const url = databaseUrl();
      if (!url && !existsSync(storePath(home))) {
        throw new CliError(`no item store at ${storePath(home)}; set LLM_BATCH_HOME to the data dir the worker uses, or LLM_BATCH_DATABASE_URL to its database`);
      }
      const { store, where } = await openItemStore(home, url);
      // Temporal adds the states only it knows (paused, awaiting approval …); the page works without it.
      const temporal = await connectClient().catch(() => undefined);
      const temporalNote = temporal ? 'run states from Temporal and the item store' : 'Temporal not reachable: run states from the item store alone';
      let dashboard;
      try {
        dashboard = await startDashboard({ store, host: opts.host, port: opts.port, batchDiscount: pricing.batchDiscount, ...(token !== undefined ? { token } : {}), ...(temporal ? { temporalState: temporalStates(temporal) } : {}) });
      } catch (e) {
        await store.close();
        const err = e as NodeJS.ErrnoException;
        const hint = err.code === 'EADDRINUSE' ? ` (port ${opts.port} is in use; pick another with --port, or --port 0)` : '';
        throw new CliError(`cannot start the dashboard: ${err.message}${hint}`, EXIT.unavailable);
      }
      console.log(`${temporalNote}`);
      console.log(`dashboard on ${dashboard.url} (item store: ${where})${token !== undefined ? '; open it with ?token=<your token>' : ''}. Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await dashboard.close();
      await store.close();
      await temporal?.connection.close();
    });
}
