// A run's state as Temporal knows it (paused, awaiting approval, budget exhausted, completed …),
// for the dashboard when Temporal is reachable. Asked with a deadline and remembered a few
// seconds, so a page never waits long on Temporal, and without it the page works from the
// store alone.
import type { Client } from '@temporalio/client';
import { statusQuery } from '../workflows/messages.ts';

export type TemporalStateOf = (runId: string) => Promise<string | undefined>;

export function temporalStates(client: Client, ttlMs = 5000, timeoutMs = 1500): TemporalStateOf {
  const known = new Map<string, { at: number; state: string | undefined }>();
  const ask = async (runId: string): Promise<string | undefined> => {
    const handle = client.workflow.getHandle(runId);
    try {
      return (await handle.query(statusQuery)).state;
    } catch {
      // A run that cannot answer (failed, terminated, no worker): what the server says of it.
      return (await handle.describe()).status.name.toLowerCase();
    }
  };
  return async (runId) => {
    const seen = known.get(runId);
    if (seen && Date.now() - seen.at < ttlMs) return seen.state;
    let timer: NodeJS.Timeout | undefined;
    const state = await Promise.race([
      ask(runId).catch(() => undefined),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    known.set(runId, { at: Date.now(), state });
    return state;
  };
}
