// The real redis-server the tests run against: the run-wide one from global setup answers
// ioredis (commands and Lua scripts), and a private one killed with SIGKILL makes a
// client's commands fail, as tests of Redis going away need.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startRedisServer } from '../../src/dev/redis-server.ts';

const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
});

/** A client that fails commands at once instead of queueing and reconnecting. */
function connect(url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
  c.on('error', () => {}); // failures are asserted through the commands
  clients.push(c);
  return c;
}

describe('redis-server for tests', () => {
  it('the run-wide server takes SET/GET and EVAL of a Lua script', async () => {
    const url = inject('redisUrl');
    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const redis = connect(url);
    await redis.connect();
    const key = `test:${process.pid}:${Date.now()}`;
    expect(await redis.set(key, 'v1', 'PX', 10_000)).toBe('OK');
    expect(await redis.get(key)).toBe('v1');
    const script = "redis.call('INCRBY', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])";
    expect(await redis.eval(script, 1, `${key}:n`, 5)).toBe('5');
    expect(await redis.eval(script, 1, `${key}:n`, 2)).toBe('7');
    await redis.del(key, `${key}:n`);
  });

  it('a server killed with SIGKILL makes the next command fail', async () => {
    const server = await startRedisServer();
    try {
      const redis = connect(server.url);
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
      const closed = new Promise((r) => redis.once('close', r));
      server.kill('SIGKILL');
      await closed;
      await expect(redis.get('anything')).rejects.toThrow();
    } finally {
      await server.stop();
    }
  });
});
