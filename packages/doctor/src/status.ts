// `switchboard status`: the upstream targets' shared health as the workers keep it in Redis (the
// hashes `<prefix>:health:{<provider>/<model>}` of services/worker/src/target-health.ts): per
// target, the breaker's state, the first-token estimate, the error rate and the consecutive
// failures. Reads the Redis variables the services read (REDIS_URL, REDIS_KEY_PREFIX, REDIS_CLUSTER,
// REDIS_SENTINELS, REDIS_SENTINEL_MASTER) and connects through their factory; writes nothing. On
// a Redis Cluster the hashes (one hash tag per target) are spread over the masters: each is scanned.
import { Cluster, type Redis } from "ioredis";
import { z } from "zod";
import { loadConfig, redisConnectionEnv, type EnvSource } from "@switchboard/config";
import { createRedisClient, redactUrl, redisTopology, type RedisConnection } from "@switchboard/relay";

const StatusEnv = z.object(redisConnectionEnv());
type StatusEnv = z.infer<typeof StatusEnv>;

/** How long to wait for Redis (every master of a Cluster, the primary the sentinels name) to answer. */
const connectTimeoutMs = 5000;

interface TargetStatus {
  target: string;
  state: "closed" | "open" | "half-open";
  firstTokenMs: number | undefined;
  errorRate: number;
  failures: number;
  /** Seconds until an open breaker lets a probe through. */
  opensInSeconds: number | undefined;
}

/** The keys matching the pattern on one server (a Cluster's master holds only its own slots' keys). */
async function scanKeys(server: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await server.scan(cursor, "MATCH", pattern, "COUNT", 500);
    cursor = next;
    keys.push(...found);
  } while (cursor !== "0");
  return keys;
}

/**
 * Resolve once the client is ready. It retries as the services' connections do (a Sentinel
 * failover or a Cluster's slot refresh may fail a first try); after connectTimeoutMs it gives up
 * with the last error seen. A single Redis that refuses the connection has nothing listening at
 * its address, which a retry within seconds rarely changes: that is said at once.
 */
function connected(redis: RedisConnection, single: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const settle = (error?: Error) => {
      clearTimeout(timer);
      redis.off("error", remember);
      if (error) reject(error);
      else resolve();
    };
    const remember = (error: Error) => {
      lastError = error;
      if (single && (error as NodeJS.ErrnoException).code === "ECONNREFUSED")
        settle(new Error("connection refused: is Redis running at that address?"));
    };
    const timer = setTimeout(
      () =>
        settle(new Error(`no connection within ${connectTimeoutMs} ms${lastError ? ` (${lastError.message})` : ""}`)),
      connectTimeoutMs,
    );
    redis.on("error", remember);
    redis.once("ready", () => settle());
  });
}

/** Every target with a health hash under the prefix, sorted by name. */
async function readTargetStatus(config: StatusEnv): Promise<TargetStatus[]> {
  const prefix = config.REDIS_KEY_PREFIX;
  const redis: RedisConnection = createRedisClient(
    config.REDIS_URL,
    "command",
    "switchboard:status",
    redisTopology(config),
  );
  redis.on("error", () => {});
  try {
    await connected(redis, !config.REDIS_CLUSTER && !config.REDIS_SENTINELS);
    const pattern = `${prefix}:health:{*}`;
    const servers = redis instanceof Cluster ? redis.nodes("master") : [redis];
    const keys = (await Promise.all(servers.map((server) => scanKeys(server, pattern)))).flat();
    const hashes = await Promise.all(keys.map((key) => redis.hgetall(key)));
    const now = Date.now();
    return keys
      .map((key, index) => {
        const hash = hashes[index] ?? {};
        const openUntil = Number(hash.openUntil ?? 0);
        const state: TargetStatus["state"] = hash.state !== "open" ? "closed" : openUntil > now ? "open" : "half-open";
        return {
          target: key.slice(`${prefix}:health:{`.length, -1),
          state,
          firstTokenMs: hash.firstTokenMs === undefined ? undefined : Number(hash.firstTokenMs),
          errorRate: Number(hash.errorRate ?? 0),
          failures: Number(hash.failures ?? 0),
          opensInSeconds: state === "open" ? Math.ceil((openUntil - now) / 1000) : undefined,
        };
      })
      .sort((a, b) => a.target.localeCompare(b.target));
  } finally {
    redis.disconnect();
  }
}

function formatTargetStatus(targets: TargetStatus[]): string {
  if (targets.length === 0) return "No target health recorded yet (routes with `health` record it as they are used).";
  const rows = targets.map((target) => [
    target.target,
    target.state + (target.opensInSeconds === undefined ? "" : ` (probe in ${target.opensInSeconds} s)`),
    target.firstTokenMs === undefined ? "—" : `${Math.round(target.firstTokenMs)} ms`,
    `${(target.errorRate * 100).toFixed(1)} %`,
    String(target.failures),
  ]);
  const header = ["target", "breaker", "first token (EWMA)", "error rate (EWMA)", "consecutive failures"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** The subcommand: prints the table; 0, or 1 when the configuration is bad or Redis cannot be read. */
export async function runStatus(env: EnvSource): Promise<number> {
  let config: StatusEnv;
  try {
    config = loadConfig("switchboard status", StatusEnv, env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  try {
    process.stdout.write(`${formatTargetStatus(await readTargetStatus(config))}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`switchboard status: cannot read ${redisDescription(config)}: ${(error as Error).message}\n`);
    return 1;
  }
}

/** Which Redis the command tried, fit for a terminal: the URL's password is never printed. */
function redisDescription(config: StatusEnv): string {
  if (config.REDIS_SENTINELS)
    return `the primary "${config.REDIS_SENTINEL_MASTER}" of the sentinels ${config.REDIS_SENTINELS}`;
  return `${config.REDIS_CLUSTER ? "the Redis Cluster at " : ""}${redactUrl(config.REDIS_URL)}`;
}
