// Where Temporal is: the standard TEMPORAL_* environment variables and config-file
// profiles (@temporalio/envconfig), with localhost:7233 / default as the fallback.
import { loadClientConnectConfig } from '@temporalio/envconfig';

/** Where the Temporal CLI's dev server listens unless told otherwise. */
export const DEFAULT_ADDRESS = 'localhost:7233';

export interface TemporalTarget {
  connectionOptions: { address: string } & Record<string, unknown>;
  namespace: string;
}

export function connectionConfig(): TemporalTarget {
  const cfg = loadClientConnectConfig();
  const given = cfg.connectionOptions as Record<string, unknown>;
  // envconfig gives `address: undefined` when nothing sets it: the fallback must survive the spread.
  const connectionOptions = { ...given, address: typeof given.address === 'string' && given.address !== '' ? given.address : DEFAULT_ADDRESS } as TemporalTarget['connectionOptions'];
  return { connectionOptions, namespace: cfg.namespace ?? 'default' };
}
