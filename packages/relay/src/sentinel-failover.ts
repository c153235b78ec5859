// Follow a Redis Sentinel failover at once. On the sentinels' +switch-master announcement, every
// connection of this process that is on another server than the new primary reconnects, and so
// asks the sentinels for the new one, and again at each ready on another server (a sentinel that
// has not heard of the failover yet still names the old primary) for up to 10 s. Without this, after a forced failover (SENTINEL FAILOVER) or a partition, an
// idle connection stays on the old primary until the sentinels demote it, about 10 s later, and
// what is written there meanwhile is lost; a worker and an ingress can be on different primaries.
//
// This replaces ioredis's failoverDetector, which closes the connector on the announcement: a
// connection reconnecting at that moment (its primary just crashed) ends for good, status "end",
// and one already on the new primary is dropped too (test/sentinel/sentinel-connections.test.ts).
// One subscription per sentinel per process, however many connections follow it.
import { isIP } from "node:net";
import { Redis } from "ioredis";

export interface SentinelWatchOptions {
  sentinels: { host: string; port: number }[];
  /** The name the sentinels monitor the primary under. */
  master: string;
  /** TLS for the sentinels too, as the connections use it. */
  tls?: Record<string, never>;
  retryStrategy: (times: number) => number;
}

interface Watch {
  subscribers: Redis[];
  connections: Set<Redis>;
  /** Connections not yet seen on the announced primary, and until when to keep moving them. */
  moving: WeakMap<Redis, number>;
  /** The primary the sentinels announced last. */
  primary?: { host: string; port: number };
}

/** How long a connection keeps reconnecting until it lands on the announced primary. */
const movingForMs = 10_000;

const watches = new Map<string, Watch>();

/** Make a sentinel-mode connection, and every duplicate of it (BullMQ's), follow failovers. */
export function followFailovers(connection: Redis, options: SentinelWatchOptions): Redis {
  const key = `${options.master}@${options.sentinels.map(({ host, port }) => `${host}:${port}`).join(",")}`;
  let watch = watches.get(key);
  if (!watch) {
    watch = startWatch(options);
    watches.set(key, watch);
  }
  const current = watch;
  current.connections.add(connection);
  connection.on("ready", () => {
    const until = current.moving.get(connection);
    if (until === undefined) return;
    if (Date.now() < until && !isOn(connection, current.primary)) connection.disconnect(true);
    else current.moving.delete(connection);
  });
  connection.once("end", () => {
    current.connections.delete(connection);
    if (current.connections.size > 0) return;
    for (const subscriber of current.subscribers) subscriber.disconnect();
    watches.delete(key);
  });
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = (override) => followFailovers(duplicate(override), options);
  return connection;
}

function startWatch(options: SentinelWatchOptions): Watch {
  const watch: Watch = { subscribers: [], connections: new Set(), moving: new WeakMap() };
  for (const { host, port } of options.sentinels) {
    const subscriber = new Redis({
      host,
      port,
      connectionName: "switchboard:sentinel-watch",
      retryStrategy: options.retryStrategy,
      connectTimeout: 2000,
      maxRetriesPerRequest: null,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    // A sentinel that is down only delays the move: connections still follow when the sentinels
    // demote the old primary (they close its connections, and a write there gets READONLY).
    subscriber.on("error", () => {});
    subscriber.subscribe("+switch-master").catch(() => {});
    subscriber.on("message", (_channel: string, message: string) => switchTo(watch, options.master, message));
    watch.subscribers.push(subscriber);
  }
  return watch;
}

/** "+switch-master <name> <old host> <old port> <new host> <new port>", once from each sentinel. */
function switchTo(watch: Watch, master: string, message: string): void {
  const [name, , , host, port] = message.split(" ");
  if (name !== master || !host || !port) return;
  const primary = { host, port: Number(port) };
  watch.primary = primary;
  const until = Date.now() + movingForMs;
  for (const connection of watch.connections) {
    const ready = connection.status === "ready";
    if (ready && isOn(connection, primary)) continue;
    watch.moving.set(connection, until);
    if (ready) connection.disconnect(true);
  }
}

/** Whether the connection is on that server (by port alone when the sentinels announce host names). */
function isOn(connection: Redis, server: { host: string; port: number } | undefined): boolean {
  if (!server) return true;
  const { remoteAddress, remotePort } = connection.stream;
  return remotePort === server.port && (isIP(server.host) === 0 || remoteAddress === server.host);
}
