// Pacing shared through Redis (LLM_BATCH_REDIS_URL): one ioredis connection per worker
// process, and a RedisPacerStore per account and model on it. The connection fails fast
// instead of queueing (a limiter must not wait on a dead Redis: it paces alone meanwhile)
// and reconnects by itself.
import { Redis } from 'ioredis';
import { RedisPacerStore } from './redis-pacer-store.ts';
import type { StoreFactory } from './limiter-registry.ts';
import { redactUrl } from '../redact-url.ts';

export interface SharedPacing {
  storeFor: StoreFactory;
  close(): Promise<void>;
}

export async function connectSharedPacing(url: string, log: (message: string) => void): Promise<SharedPacing> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  // Errors surface through the commands (and the store's log); without a listener ioredis prints each reconnect failure.
  redis.on('error', () => {});
  try {
    await redis.connect();
    log(`rate limits shared through Redis at ${redactUrl(url)}`);
  } catch (e) {
    log(`Redis at ${redactUrl(url)} does not answer (${(e as Error).message}); pacing alone until it does`);
  }
  return {
    storeFor: (key, caps) => new RedisPacerStore({ redis, key, caps, log }),
    async close() {
      redis.disconnect();
    },
  };
}
