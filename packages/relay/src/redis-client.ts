// Redis connections with the options each role needs.
//  - command:    fails fast while Redis is unreachable (a request gets a 503, never a hang);
//  - relay:      a command connection for the worker's token events; their writes of one event-loop
//                turn share one system call (turn-cork.ts, or auto-pipelining on a Cluster);
//  - subscriber: keeps its subscriptions (classic and sharded) across reconnects;
//  - blocking:   BullMQ workers (maxRetriesPerRequest must be null).
// All reconnect quickly (at most 1 s apart), so recovery after an outage is automatic and prompt.
// The topology decides the client: one Redis at the URL; a Redis Cluster (the URL is a seed node or
// a managed service's configuration endpoint; an ioredis Cluster with the same per-role options on
// every node); or a primary found through Redis Sentinel (the URL's credentials, database and TLS
// apply to the primary and its host is ignored). Credentials and TLS apply to every node.
import { redactUrl } from "@switchboard/protocol";
import { Cluster, Redis } from "ioredis";
import { followFailovers } from "./sentinel-failover.ts";

export type RedisRole = "command" | "relay" | "subscriber" | "blocking";

/** One Redis, or a Redis Cluster: every relay function and BullMQ accept either. */
export type RedisConnection = Redis | Cluster;

/** How the Redis at the URL is deployed (REDIS_CLUSTER, REDIS_SENTINELS, REDIS_SENTINEL_MASTER). */
export interface RedisTopology {
  cluster?: boolean;
  /** Sentinels as `host:port,host:port`; the primary is the one they name `sentinelMaster`. */
  sentinels?: string | undefined;
  sentinelMaster?: string;
}

export interface RedisClientOptions {
  /** Reject a command that got no answer within this long (a Redis that hangs rather than refuses). */
  commandTimeoutMs?: number;
}

/** The topology from a service's configuration. */
export function redisTopology(config: {
  REDIS_CLUSTER: boolean;
  REDIS_SENTINELS?: string | undefined;
  REDIS_SENTINEL_MASTER: string;
}): RedisTopology {
  return {
    cluster: config.REDIS_CLUSTER,
    sentinels: config.REDIS_SENTINELS,
    sentinelMaster: config.REDIS_SENTINEL_MASTER,
  };
}

const reconnectDelay = (times: number) => Math.min(50 * times, 1000);

export function createRedisClient(
  url: string,
  role: RedisRole,
  connectionName: string,
  topology: RedisTopology = {},
  options: RedisClientOptions = {},
): RedisConnection {
  if (topology.cluster && topology.sentinels)
    throw new Error("REDIS_CLUSTER and REDIS_SENTINELS exclude each other: a Redis Cluster has no sentinels.");
  const commandTimeout = options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs };
  if (topology.cluster) return createClusterClient(url, role, connectionName, commandTimeout);
  const common = {
    connectionName,
    ...commandTimeout,
    retryStrategy: reconnectDelay,
    connectTimeout: 2000,
    keepAlive: 10_000,
  };
  const roleOptions = roleOptionsOf(role);
  if (topology.sentinels) {
    const options = sentinelOptions(url, topology.sentinels, topology.sentinelMaster ?? "mymaster");
    const { sentinels, name: master, tls } = options;
    return followFailovers(new Redis({ ...common, ...roleOptions, ...options }), {
      sentinels,
      master,
      retryStrategy: reconnectDelay,
      ...(tls ? { tls } : {}),
    });
  }
  return new Redis(url, { ...common, ...roleOptions });
}

/**
 * command and relay fail fast while Redis is unreachable (the relay's writer corks its socket per
 * event-loop turn: turn-cork.ts, measured against ioredis auto-pipelining in docs/performance.md).
 * subscriber and blocking keep waiting for Redis (BullMQ needs maxRetriesPerRequest null).
 */
function roleOptionsOf(role: RedisRole) {
  switch (role) {
    case "command":
      return { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    case "relay":
      return { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    case "subscriber":
    case "blocking":
      return { enableOfflineQueue: true, maxRetriesPerRequest: null };
  }
}

function sentinelOptions(url: string, sentinels: string, master: string) {
  const parsed = new URL(url);
  const database = Number(parsed.pathname.slice(1) || 0);
  return {
    sentinels: sentinels.split(",").map((address) => {
      const [host = "", port = "26379"] = address.trim().split(":");
      return { host, port: Number(port) };
    }),
    name: master,
    sentinelRetryStrategy: reconnectDelay,
    // Failovers are followed by sentinel-failover.ts, not ioredis's failoverDetector (which ends
    // for good a connection that is reconnecting when the failover is announced).
    // A connection still on the old primary (now a replica) gets READONLY: reconnect and resend.
    reconnectOnError: (error: Error) => (error.message.startsWith("READONLY") ? 2 : false),
    db: database,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}

function createClusterClient(
  url: string,
  role: RedisRole,
  connectionName: string,
  commandTimeout: { commandTimeout?: number },
): Cluster {
  const parsed = new URL(url);
  const tls = parsed.protocol === "rediss:";
  return new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    clusterRetryStrategy: reconnectDelay,
    // ioredis 6 does not reconnect a lost node connection by default; ours do, like single Redis.
    clusterNodeRetryStrategy: reconnectDelay,
    enableOfflineQueue: role !== "command" && role !== "relay",
    // The relay's events of one event-loop turn share one socket write per node (a Cluster's node
    // sockets are not reachable for corking, see relay-writer.ts).
    enableAutoPipelining: role === "relay",
    // Not the relay's scripts. Auto-pipelining groups a command by its first argument, which for
    // the batch script (a variable number of keys) is that number, not a key (ioredis 6); and the
    // two scripts must keep their order on a node's connection (a request's turns may go as either;
    // an auto-pipelined one can wait for the previous pipeline of its slot while a direct one
    // leaves, and a log refuses an entry id lower than its last). One script per ingress and turn
    // has nothing to share a write with anyway. (Direct commands are not kept in order either when
    // one is resent after a redirect or a closed node connection: relay-writer.ts keeps one script
    // in flight per request on a Cluster.)
    autoPipeliningIgnoredCommands: ["relayBatch", "relayOne"],
    // The ingress's reply channel is a sharded channel: ioredis then keeps one subscriber
    // connection per primary that holds a subscribed channel's slot (one, for one reply channel),
    // and follows the slot when it moves. Classic subscriptions (the workers' channels) are unchanged.
    shardedSubscribers: role === "subscriber",
    slotsRefreshTimeout: 2000,
    // TLS certificates name the host, not its IP: keep host names (AWS ElastiCache and others).
    ...(tls
      ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }
      : {}),
    redisOptions: {
      connectionName,
      ...commandTimeout,
      connectTimeout: 2000,
      keepAlive: 10_000,
      // BullMQ reads this from redisOptions for a Cluster: null for its blocking connections.
      maxRetriesPerRequest: role === "command" || role === "relay" ? 1 : null,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(tls ? { tls: {} } : {}),
    },
  });
}

/** The next "ready" of each client that someone waits for: one listener, however many wait. */
const nextReady = new WeakMap<RedisConnection, Promise<void>>();

function readyAgain(client: RedisConnection): Promise<void> {
  let ready = nextReady.get(client);
  if (!ready) {
    ready = new Promise<void>((resolve) =>
      client.once("ready", () => {
        nextReady.delete(client);
        resolve();
      }),
    );
    nextReady.set(client, ready);
  }
  return ready;
}

/**
 * Resolve when the client is connected, or reject after timeoutMs with a message that says what to
 * do. Any number of callers may wait at once (a worker's jobs after a failover): they share one
 * "ready" listener, and each gives up at its own time.
 */
export async function waitForRedis(client: RedisConnection, url: string, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Cannot reach Redis at ${redactUrl(url)} within ${timeoutMs} ms. Start one (for example ` +
              `\`redis-server --daemonize yes --save ""\` or \`docker run -p 6379:6379 redis:7\`) or set REDIS_URL.`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([readyAgain(client), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
