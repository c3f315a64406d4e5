// `llm-batch worker`: one worker, connected through the standard TEMPORAL_* environment
// (and config profiles), calling OPENAI_BASE_URL or OpenAI with OPENAI_API_KEY, pacing
// alone or, with LLM_BATCH_REDIS_URL, with every other worker; items in SQLite in the data
// dir or, with LLM_BATCH_DATABASE_URL, in PostgreSQL.
import type { Command } from 'commander';
import { createWorker } from '../worker.ts';
import { dataDir, providerEnv } from '../settings.ts';
import { connectionConfig } from '../temporal-config.ts';
import { CliError, port } from './options.ts';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run a worker: Temporal from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (or a profile), provider from OPENAI_API_KEY / OPENAI_BASE_URL; ' +
        'with LLM_BATCH_REDIS_URL, every worker paces each account and model from one shared budget in that Redis; ' +
        'with LLM_BATCH_DATABASE_URL, the item store is that PostgreSQL database (its schema migrated on start)',
    )
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (all interfaces; default $LLM_BATCH_METRICS_PORT, none when unset); traces go by OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set', port)
    .action(async (opts: { metricsPort?: number }) => {
      const target = connectionConfig();
      const provider = providerEnv();
      const metricsPort = opts.metricsPort ?? metricsPortFromEnv();
      const w = await createWorker(metricsPort === undefined ? {} : { observability: { metricsPort } });
      if (w.observability.metricsPort !== undefined) console.error(`worker: metrics at http://0.0.0.0:${w.observability.metricsPort}/metrics`);
      console.error(`worker: Temporal ${target.connectionOptions.address} (namespace ${target.namespace}), provider ${provider.baseURL ?? 'https://api.openai.com/v1'}${provider.apiKey ? ' with OPENAI_API_KEY' : ''}, data dir ${dataDir()}, item store ${w.storeWhere}`);
      console.error(`worker: payloads ${w.encryptionKeyId ? `encrypted with key ${w.encryptionKeyId}` : 'plain (no LLM_BATCH_ENCRYPTION_KEY)'}`);
      // Temporal's runtime shuts the worker down gracefully on SIGINT/SIGTERM.
      await w.run();
    });
}

/** $LLM_BATCH_METRICS_PORT (how docker-compose.yml sets it), checked like the option. */
function metricsPortFromEnv(): number | undefined {
  const value = process.env.LLM_BATCH_METRICS_PORT;
  if (!value) return undefined;
  try {
    return port(value);
  } catch {
    throw new CliError(`LLM_BATCH_METRICS_PORT: expected a port number (0-65535), got "${value}"`);
  }
}
