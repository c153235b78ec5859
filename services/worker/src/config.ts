// The worker's configuration: one schema, read once at start-up.
import { z } from "zod";
import { boolean, integer, keyPrefix, loadConfig, loadRouteTable, redisUrl, sentinelList, type EnvSource, type RouteTable } from "@switchboard/config";

/** Exported for the deployment tests, which check docker-compose.yml and infra/k8s against it. */
export const WorkerEnv = z.object({
  // Redis
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: keyPrefix(),
  /** REDIS_URL is a seed node (or configuration endpoint) of a Redis Cluster. */
  REDIS_CLUSTER: boolean(false),
  /** Find the primary through these sentinels (REDIS_URL then gives only credentials, database and TLS). */
  REDIS_SENTINELS: sentinelList(),
  REDIS_SENTINEL_MASTER: z.string().default("mymaster"),
  // Work
  WORKER_CONCURRENCY: integer(100, { min: 1, max: 10_000 }),
  /** A crashed worker's jobs are taken over after about this long (BullMQ's lock). */
  WORKER_LOCK_DURATION_MS: integer(2000, { min: 500 }),
  WORKER_STALLED_INTERVAL_MS: integer(1000, { min: 100 }),
  WORKER_HEARTBEAT_INTERVAL_MS: integer(1000, { min: 100 }),
  WORKER_SHUTDOWN_GRACE_MS: integer(10_000, { min: 0 }),
  /** Rewritten every heartbeat interval while the process runs; read by the container health check. */
  WORKER_HEALTH_FILE: z.string().optional(),
  // Upstreams
  UPSTREAM_TIMEOUT_MS: integer(30_000, { min: 100 }),
  SIMULATED_FIRST_TOKEN_DELAY_MS: integer(30, { min: 0 }),
  SIMULATED_TOKEN_DELAY_MS: integer(15, { min: 0 }),
  // Relay
  RELAY_LOG_TTL_SECONDS: integer(300, { min: 10 }),
  /** How long a reply channel may have no listener before the worker stops the request. */
  RELAY_NO_LISTENER_GRACE_MS: integer(500, { min: 50 }),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  // Telemetry (tracing itself is configured by the standard OTEL_* variables)
  /** Prometheus scrapes GET /metrics here; 0 picks a free port (logged in the "ready" line). */
  METRICS_PORT: integer(9464, { min: 0, max: 65_535 }),
  METRICS_HOST: z.string().default("0.0.0.0"),
  /** Record prompts and answers on the upstream call's span (gen_ai.input/output.messages). Off: they may hold personal data. */
  SWITCHBOARD_CAPTURE_CONTENT: boolean(false),
});

/** Every environment variable the worker's schema reads (the README documents each). */
export const workerVariables = Object.keys(WorkerEnv.shape);

export type WorkerConfig = z.infer<typeof WorkerEnv> & { routes: RouteTable; env: EnvSource };

export function loadWorkerConfig(env: EnvSource): WorkerConfig {
  return { ...loadConfig("worker", WorkerEnv, env), routes: loadRouteTable(env), env };
}
