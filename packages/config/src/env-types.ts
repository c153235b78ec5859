// Small zod builders for environment variables: integers with units, booleans, URLs, and the
// groups of variables several processes read alike (Redis, the metrics server).
import { z } from "zod";

export function integer(defaultValue: number, options: { min?: number; max?: number } = {}) {
  let schema = z.coerce.number({ message: "expected a whole number" }).int({ message: "expected a whole number" });
  if (options.min !== undefined) schema = schema.min(options.min, { message: `expected at least ${options.min}` });
  if (options.max !== undefined) schema = schema.max(options.max, { message: `expected at most ${options.max}` });
  return schema.default(defaultValue);
}

export function boolean(defaultValue: boolean) {
  return z
    .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
    .transform((value) => value === "true" || value === "1" || value === "yes")
    .default(defaultValue);
}

export function redisUrl() {
  return z
    .string()
    .regex(/^rediss?:\/\//, { message: "expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379" })
    .default("redis://127.0.0.1:6379");
}

/**
 * Prefix of every Redis key and channel, so several deployments or test runs can share one Redis.
 * No braces: the queue's keys get the prefix as their hash tag ({prefix}) automatically, and a
 * braced prefix would put every request's keys in one Redis Cluster slot.
 */
export function keyPrefix() {
  return z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, {
      message: "expected letters, digits, '_', '-' or '.' (no braces: the queue's hash tag is added for you)",
    })
    .default("switchboard");
}

/** Redis Sentinel addresses, `host:port,host:port` (port 26379 when left out). */
export function sentinelList() {
  return z
    .string()
    .regex(/^[^\s,:]+(:\d+)?(,[^\s,:]+(:\d+)?)*$/, {
      message: "expected host:port of each sentinel, comma-separated, e.g. sentinel-1:26379,sentinel-2:26379",
    })
    .optional();
}

/**
 * How a process finds its Redis: the URL and key prefix, and whether it is a Cluster or found
 * through sentinels. The ingress, the worker and `switchboard status` read the same variables.
 */
export function redisConnectionEnv() {
  return {
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: keyPrefix(),
    /** REDIS_URL is a seed node (or configuration endpoint) of a Redis Cluster. */
    REDIS_CLUSTER: boolean(false),
    /** Find the primary through these sentinels (REDIS_URL then gives only credentials, database and TLS). */
    REDIS_SENTINELS: sentinelList(),
    REDIS_SENTINEL_MASTER: z.string().default("mymaster"),
  };
}

/** Where a service serves GET /metrics for Prometheus, off its public port, and who may scrape it. */
export function metricsServerEnv() {
  return {
    /** 0: any free port (logged at start-up). */
    METRICS_PORT: integer(9464, { min: 0, max: 65_535 }),
    METRICS_HOST: z.string().default("0.0.0.0"),
    /** Set: scrapes must send `Authorization: Bearer <token>`. */
    METRICS_TOKEN: z.string().min(16, "METRICS_TOKEN must be at least 16 characters").optional(),
  };
}
