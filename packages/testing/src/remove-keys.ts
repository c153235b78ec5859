// Tests share one Redis: each stack removes the keys under its own prefix when it stops (never
// FLUSHALL), so repeated runs leave nothing behind — the queue's event stream holds up to 10,000
// entries otherwise.
import { Redis } from "ioredis";

export async function removeKeys(redisUrl: string, prefix: string): Promise<number> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  client.on("error", () => {});
  let removed = 0;
  try {
    await client.connect();
    for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) removed += await client.unlink(...keys);
      } while (cursor !== "0");
    }
  } catch {
    // A Redis that is gone (a test stopped it) has nothing left to clean.
  } finally {
    client.disconnect();
  }
  return removed;
}
