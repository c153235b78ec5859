// Redis connections with the options each role needs.
//  - command:    fails fast while Redis is unreachable (a request gets a 503, never a hang);
//  - subscriber: keeps its subscriptions across reconnects;
//  - blocking:   BullMQ workers (maxRetriesPerRequest must be null).
// All reconnect quickly (at most 1 s apart), so recovery after an outage is automatic and prompt.
// With `cluster` the URL is a seed node (or a managed service's configuration endpoint) of a Redis
// Cluster, and the connection is an ioredis Cluster with the same per-role options, applied to every
// node; its credentials and TLS apply to every node too.
import { Cluster, Redis } from "ioredis";

export type RedisRole = "command" | "subscriber" | "blocking";

/** One Redis, or a Redis Cluster: every relay function and BullMQ accept either. */
export type RedisConnection = Redis | Cluster;

const reconnectDelay = (times: number) => Math.min(50 * times, 1000);

export function createRedisClient(url: string, role: RedisRole, connectionName: string, cluster = false): RedisConnection {
  if (cluster) return createClusterClient(url, role, connectionName);
  const common = {
    connectionName,
    retryStrategy: reconnectDelay,
    connectTimeout: 2000,
    keepAlive: 10_000,
  };
  switch (role) {
    case "command":
      return new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    case "subscriber":
      return new Redis(url, { ...common, maxRetriesPerRequest: null });
    case "blocking":
      return new Redis(url, { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true });
  }
}

function createClusterClient(url: string, role: RedisRole, connectionName: string): Cluster {
  const parsed = new URL(url);
  const tls = parsed.protocol === "rediss:";
  return new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    clusterRetryStrategy: reconnectDelay,
    // ioredis 6 does not reconnect a lost node connection by default; ours do, like single Redis.
    clusterNodeRetryStrategy: reconnectDelay,
    enableOfflineQueue: role !== "command",
    slotsRefreshTimeout: 2000,
    // TLS certificates name the host, not its IP: keep host names (AWS ElastiCache and others).
    ...(tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
    redisOptions: {
      connectionName,
      connectTimeout: 2000,
      keepAlive: 10_000,
      // BullMQ reads this from redisOptions for a Cluster: null for its blocking connections.
      maxRetriesPerRequest: role === "command" ? 1 : null,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(tls ? { tls: {} } : {}),
    },
  });
}

/** Resolve when the client is connected, or reject after timeoutMs with a message that says what to do. */
export async function waitForRedis(client: RedisConnection, url: string, timeoutMs: number): Promise<void> {
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
