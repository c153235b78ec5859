// Is a Redis answering? One PING without retries, or PINGs until one is answered (a redis-server
// just started refuses connections until it has loaded).
import { Redis } from "ioredis";

/** One PING: resolves if the Redis at url answers, else rejects with the connection's error. */
export async function pingRedis(url: string, connectTimeoutMs = 500): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}

/** PINGs every 10 ms until the Redis at url answers; after timeoutMs, rejects with the last error. */
export async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await pingRedis(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
