// The worker's configuration: one schema, read once at start-up.
import { z } from "zod";
import { integer, keyPrefix, loadConfig, loadRouteTable, redisUrl, type EnvSource, type RouteTable } from "@switchboard/config";

const WorkerEnv = z.object({
  // Redis
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: keyPrefix(),
  // Work
  WORKER_CONCURRENCY: integer(100, { min: 1, max: 10_000 }),
  /** BullMQ consumers in the process, fetching jobs in parallel; WORKER_CONCURRENCY is split among them. */
  WORKER_FETCH_LOOPS: integer(1, { min: 1, max: 64 }),
  /** A crashed worker's jobs are taken over after about this long (BullMQ's lock). */
  WORKER_LOCK_DURATION_MS: integer(2000, { min: 500 }),
  WORKER_STALLED_INTERVAL_MS: integer(1000, { min: 100 }),
  WORKER_HEARTBEAT_INTERVAL_MS: integer(1000, { min: 100 }),
  WORKER_SHUTDOWN_GRACE_MS: integer(10_000, { min: 0 }),
  // Upstreams
  UPSTREAM_TIMEOUT_MS: integer(30_000, { min: 100 }),
  SIMULATED_FIRST_TOKEN_DELAY_MS: integer(30, { min: 0 }),
  SIMULATED_TOKEN_DELAY_MS: integer(15, { min: 0 }),
  // Relay
  RELAY_LOG_TTL_SECONDS: integer(300, { min: 10 }),
  /** How long a reply channel may have no listener before the worker stops the request. */
  RELAY_NO_LISTENER_GRACE_MS: integer(500, { min: 50 }),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type WorkerConfig = z.infer<typeof WorkerEnv> & { routes: RouteTable; env: EnvSource };

export function loadWorkerConfig(env: EnvSource): WorkerConfig {
  return { ...loadConfig("worker", WorkerEnv, env), routes: loadRouteTable(env), env };
}
