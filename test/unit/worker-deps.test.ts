// A worker lives through many runs: each run's concurrency gate and circuit tripwire are
// dropped once the run has been idle for an hour, but never while the gate has calls.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWorkerDeps } from '../../src/worker-deps.ts';
import type { ItemStore } from '../../src/store/item-store.ts';
import type { RunConfig } from '../../src/domain/run-types.ts';
import { DEFAULTS } from '../../src/client.ts';

const config = (runId: string): RunConfig => ({ mode: 'realtime', ...DEFAULTS, runId, inputPath: '/dev/null', concurrency: 4 });
const HOUR = 60 * 60_000;

describe('createWorkerDeps: per-run state', () => {
  afterEach(() => void vi.useRealTimers());

  it('drops an idle run\'s gate and tripwire after an hour, keeps a busy one', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    const deps = createWorkerDeps({} as ItemStore, '/tmp/unused', { baseURL: 'http://127.0.0.1:1/v1' });
    const idle = deps.runSlots(config('idle'));
    const idleHealth = deps.providerHealth(config('idle'), 0);
    const busy = deps.runSlots(config('busy'));
    let release: (() => void) | undefined;
    const inFlight = busy(() => new Promise<void>((r) => (release = r)));
    while (!release) await new Promise((r) => setImmediate(r)); // p-limit starts it a tick later

    expect(deps.runSlots(config('idle'))).toBe(idle); // same run, same gate
    vi.setSystemTime(2 * HOUR);
    deps.runSlots(config('other')); // a call from another run sweeps
    expect(deps.runSlots(config('idle'))).not.toBe(idle);
    expect(deps.providerHealth(config('idle'), 0)).not.toBe(idleHealth);
    expect(deps.runSlots(config('busy'))).toBe(busy);

    release!();
    await inFlight;
  });
});

describe('createWorkerDeps: the semantic cache', () => {
  it('is one per embedding model in the process, shared by every run, and closed with the worker', () => {
    const deps = createWorkerDeps({} as ItemStore, '/tmp/unused', { baseURL: 'http://127.0.0.1:1/v1' });
    const small = deps.semanticCacheFor(undefined);
    expect(deps.semanticCacheFor('text-embedding-3-small')).toBe(small);
    expect(small.space).toEqual({ embeddingModel: 'text-embedding-3-small', dimensions: 1536 });
    const large = deps.semanticCacheFor('text-embedding-3-large');
    expect(large).not.toBe(small);
    expect(large.space).toEqual({ embeddingModel: 'text-embedding-3-large', dimensions: 3072 });
    deps.close();
  });
});
