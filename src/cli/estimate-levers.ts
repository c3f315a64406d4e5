// The levers `llm-batch estimate` measures besides duplicates within the file, wired here
// and nowhere else (see src/domain/estimate-levers.ts for each one's contract):
//   cachedKeys  which exact-cache keys earlier runs answered: a lookup in the item store's cache
//   prefix      a fresh accumulator of the tokens the provider's prompt cache can serve
//   routeLine   the routing rules of a --route FILE applied to a line
// None of the three exists in this build yet: each is reported as "n/a (why)". Wiring one
// means setting it in `levers` (and opening what it needs here, closed in `close`).
import type { EstimateLevers } from '../domain/estimate-levers.ts';

export interface OpenedLevers {
  levers: EstimateLevers;
  /** Releases what the levers opened (a store connection, say). */
  close(): Promise<void>;
}

export async function openEstimateLevers(): Promise<OpenedLevers> {
  const levers: EstimateLevers = {
    why: {
      cachedKeys: 'the exact cache is not in this build',
      prefix: 'prompt-prefix caching is not in this build',
      routeLine: 'routing rules are not in this build',
    },
  };
  return { levers, close: async () => {} };
}
