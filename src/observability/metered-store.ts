// The item store as a worker with metrics uses it: every result recorded (realtime writes,
// batch collection, cache hits, circuit probes alike) is counted once its write committed,
// so the counters follow the store, the run's system of record. Everything else passes through
// to the store itself.
import type { ItemResult, ItemStore } from '../store/item-store.ts';
import type { WorkerMetrics } from './metrics.ts';

export function meteredStore(store: ItemStore, metrics: WorkerMetrics): ItemStore {
  const recordResults = async (runId: string, results: ItemResult[]): Promise<void> => {
    await store.recordResults(runId, results);
    metrics.itemResults(results);
  };
  return new Proxy(store, {
    get(target, key) {
      if (key === 'recordResults') return recordResults;
      const value: unknown = Reflect.get(target, key, target);
      // Methods run on the store itself (its own fields, private or not).
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
