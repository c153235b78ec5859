// Follow a Redis Sentinel failover at once. On the sentinels' +switch-master announcement, every
// connection of this process that is on another server than the new primary reconnects (one
// waiting to reconnect, its primary crashed, tries at once), and so asks the sentinels for the new
// one, and again at each ready on another server (a sentinel that has not heard of the failover yet
// still names the old primary) for up to 10 s. Without this,
// after a forced failover (SENTINEL FAILOVER) or a partition, an idle connection stays on the old
// primary until the sentinels demote it, about 10 s later, and what is written there meanwhile is
// lost; a worker and an ingress can be on different primaries.
//
// This replaces ioredis's failoverDetector, which closes the connector on the announcement: a
// connection reconnecting at that moment (its primary just crashed) ends for good, status "end",
// and one already on the new primary is dropped too (test/sentinel/sentinel-connections.test.ts).
// One subscription per sentinel per process, however many connections follow it.
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { Redis } from "ioredis";

export interface SentinelWatchOptions {
  sentinels: { host: string; port: number }[];
  /** The name the sentinels monitor the primary under. */
  master: string;
  /** TLS for the sentinels too, as the connections use it. */
  tls?: ConnectionOptions;
  retryStrategy: (times: number) => number;
}

interface Server {
  host: string;
  port: number;
}

interface Watch {
  subscribers: Redis[];
  connections: Set<Redis>;
  /** Connections not yet seen on the announced primary: which one, and until when to keep moving them. */
  moving: WeakMap<Redis, { primary: Server; until: number }>;
}

/** How long a connection keeps reconnecting until it lands on the announced primary. */
const movingForMs = 10_000;

const watches = new Map<string, Watch>();

/** Make a sentinel-mode connection, and every duplicate of it (BullMQ's), follow failovers. */
export function followFailovers(connection: Redis, options: SentinelWatchOptions): Redis {
  const key = `${options.master}@${options.sentinels.map(({ host, port }) => `${host}:${port}`).join(",")}`;
  const watch = watches.get(key) ?? startWatch(key, options);
  watch.connections.add(connection);
  connection.on("ready", () => {
    const move = watch.moving.get(connection);
    if (!move) return;
    if (Date.now() < move.until && !isOn(connection, move.primary)) connection.disconnect(true);
    else watch.moving.delete(connection);
  });
  connection.once("end", () => {
    watch.connections.delete(connection);
    if (watch.connections.size > 0) return;
    for (const subscriber of watch.subscribers) subscriber.disconnect();
    watches.delete(key);
  });
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = (override) => followFailovers(duplicate(override), options);
  return connection;
}

function startWatch(key: string, options: SentinelWatchOptions): Watch {
  const watch: Watch = { subscribers: [], connections: new Set(), moving: new WeakMap() };
  watches.set(key, watch);
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
  const move = { primary: { host, port: Number(port) }, until: Date.now() + movingForMs };
  for (const connection of watch.connections) {
    const ready = connection.status === "ready";
    if (ready && isOn(connection, move.primary)) continue;
    watch.moving.set(connection, move);
    if (ready) connection.disconnect(true);
    else if (connection.status === "reconnecting") reconnectNow(connection);
  }
}

/**
 * A connection waiting out its reconnect delay (after a crashed primary, up to a second by then)
 * tries at once: the sentinels now name a primary that answers. Without this, requests were
 * refused redis_unavailable for up to that second after the promotion. ioredis keeps the pending
 * attempt's timer in a private field; its own timer callback does just this.
 */
function reconnectNow(connection: Redis): void {
  const pending = connection as unknown as { reconnectTimeout: NodeJS.Timeout | null };
  if (!pending.reconnectTimeout) return;
  clearTimeout(pending.reconnectTimeout);
  pending.reconnectTimeout = null;
  connection.connect().catch(() => {});
}

/** Whether the connection is on that server (by port alone when the sentinels announce host names). */
function isOn(connection: Redis, server: Server): boolean {
  const { remoteAddress, remotePort } = connection.stream;
  return remotePort === server.port && (isIP(server.host) === 0 || remoteAddress === server.host);
}
