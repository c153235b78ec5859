// Redis connections with the options each role needs.
//  - command:    fails fast while Redis is unreachable (a request gets a 503, never a hang);
//  - relay:      a command connection whose commands issued in one event-loop turn share one socket
//                write (ioredis auto-pipelining): a worker relays many small events per turn;
//  - subscriber: keeps its subscriptions across reconnects;
//  - blocking:   BullMQ workers (maxRetriesPerRequest must be null).
// All reconnect quickly (at most 1 s apart), so recovery after an outage is automatic and prompt.
import { Redis } from "ioredis";

export type RedisRole = "command" | "relay" | "subscriber" | "blocking";

export function createRedisClient(url: string, role: RedisRole, connectionName: string): Redis {
  const common = {
    connectionName,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
    connectTimeout: 2000,
    keepAlive: 10_000,
  };
  switch (role) {
    case "command":
      return new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    case "relay":
      return new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true });
    case "subscriber":
      return new Redis(url, { ...common, maxRetriesPerRequest: null });
    case "blocking":
      return new Redis(url, { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true });
  }
}

/** Resolve when the client is connected, or reject after timeoutMs with a message that says what to do. */
export async function waitForRedis(client: Redis, url: string, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `Cannot reach Redis at ${redactUrl(url)} within ${timeoutMs} ms. Start one (for example ` +
            `\`redis-server --daemonize yes --save ""\` or \`docker run -p 6379:6379 redis:7\`) or set REDIS_URL.`,
        ),
      );
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off("ready", onReady);
    };
    client.on("ready", onReady);
  });
}

/** A URL fit for logs: the password is never printed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}
