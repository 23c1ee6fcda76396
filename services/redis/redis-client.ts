import { Redis } from 'ioredis';

export interface RedisOptions {
  url: string;
}

/**
 * One ioredis connection per purpose. Commands fail fast while disconnected (no offline
 * queue growth), because every caller treats Redis as an accelerator with Postgres behind it.
 */
export function createRedisClient(options: RedisOptions, name = 'herald'): Redis {
  return new Redis(options.url, {
    connectionName: name,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
}

/** Quit politely, but never hang a shutdown on a dead connection. */
export async function closeRedisClient(client: Redis): Promise<void> {
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
  ]);
  client.disconnect();
}
