// Finding the real servers and tools the project starts (temporal, go, redis-server, postgres):
// whether a path is an executable file, and where a name is on PATH.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const isExecutable = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** A throwaway server the tests and the benchmark start on a free loopback port. */
export interface RunningServer {
  url: string;
  port: number;
  pid: number;
  /** Stops it (a signal, SIGKILL after a grace), then removes the temp dir it created. Safe to call twice or after kill(). */
  stop(): Promise<void>;
  /** Sends a signal without waiting (default SIGKILL: the server dies as in a crash). */
  kill(signal?: NodeJS.Signals): void;
}

/** The first executable `name` on PATH, if any. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}
