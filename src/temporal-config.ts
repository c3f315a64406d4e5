// Where Temporal is: the standard TEMPORAL_* environment variables and config-file
// profiles (@temporalio/envconfig), with localhost:7233 / default as the fallback.
import { loadClientConnectConfig } from '@temporalio/envconfig';

export interface TemporalTarget {
  connectionOptions: { address: string } & Record<string, unknown>;
  namespace: string;
}

export function connectionConfig(): TemporalTarget {
  const cfg = loadClientConnectConfig();
  const connectionOptions = { address: 'localhost:7233', ...(cfg.connectionOptions as Record<string, unknown>) } as TemporalTarget['connectionOptions'];
  return { connectionOptions, namespace: cfg.namespace ?? 'default' };
}
