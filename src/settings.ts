// Process-level settings read from the environment: the data dir and the provider.
// Secrets (OPENAI_API_KEY) are read here, on the worker, and never travel anywhere else.
import { resolve, join } from 'node:path';

export const TASK_QUEUE = 'llm-batch';

/** $LLM_BATCH_TASK_QUEUE, default llm-batch: lets several deployments (or test suites) share one Temporal. */
export const taskQueue = (): string => process.env.LLM_BATCH_TASK_QUEUE || TASK_QUEUE;

/** $LLM_BATCH_HOME, default ./.llm-batch: the item store, run folders, Temporal's state. */
export const dataDir = (): string => resolve(process.env.LLM_BATCH_HOME ?? '.llm-batch');

export const runDirOf = (home: string, runId: string): string => join(home, 'runs', runId);

export interface ProviderEnv {
  apiKey?: string;
  baseURL?: string;
}

export function providerEnv(env: NodeJS.ProcessEnv = process.env): ProviderEnv {
  const out: ProviderEnv = {};
  if (env.OPENAI_API_KEY) out.apiKey = env.OPENAI_API_KEY;
  if (env.OPENAI_BASE_URL) out.baseURL = env.OPENAI_BASE_URL;
  return out;
}

/** $LLM_BATCH_REDIS_URL: rate limits shared by every worker through this Redis; in-process when unset. */
export const redisUrl = (env: NodeJS.ProcessEnv = process.env): string | undefined => env.LLM_BATCH_REDIS_URL || undefined;

/** $LLM_BATCH_DATABASE_URL: `postgres://…` puts the item store in PostgreSQL; unset, it is SQLite in the data dir. */
export const databaseUrl = (env: NodeJS.ProcessEnv = process.env): string | undefined => env.LLM_BATCH_DATABASE_URL || undefined;
