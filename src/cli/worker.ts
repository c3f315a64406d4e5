// `llm-batch worker`: one worker, connected through the standard TEMPORAL_* environment
// (and config profiles), calling OPENAI_BASE_URL or OpenAI with OPENAI_API_KEY, pacing
// alone or, with LLM_BATCH_REDIS_URL, with every other worker; items in SQLite in the data
// dir or, with LLM_BATCH_DATABASE_URL, in PostgreSQL.
import type { Command } from 'commander';
import { createWorker } from '../worker.ts';
import { dataDir, providerEnv } from '../settings.ts';
import { connectionConfig } from '../temporal-config.ts';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run a worker: Temporal from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (or a profile), provider from OPENAI_API_KEY / OPENAI_BASE_URL; ' +
        'with LLM_BATCH_REDIS_URL, every worker paces each account and model from one shared budget in that Redis; ' +
        'with LLM_BATCH_DATABASE_URL, the item store is that PostgreSQL database (its schema migrated on start)',
    )
    .action(async () => {
      const target = connectionConfig();
      const provider = providerEnv();
      const w = await createWorker();
      console.error(`worker: Temporal ${target.connectionOptions.address} (namespace ${target.namespace}), provider ${provider.baseURL ?? 'https://api.openai.com/v1'}${provider.apiKey ? ' with OPENAI_API_KEY' : ''}, data dir ${dataDir()}, item store ${w.storeWhere}`);
      console.error(`worker: payloads ${w.encryptionKeyId ? `encrypted with key ${w.encryptionKeyId}` : 'plain (no LLM_BATCH_ENCRYPTION_KEY)'}`);
      // Temporal's runtime shuts the worker down gracefully on SIGINT/SIGTERM.
      await w.run();
    });
}
