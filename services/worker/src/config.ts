// The worker's configuration: one schema, read once at start-up.
import { z } from "zod";
import {
  boolean,
  integer,
  loadConfig,
  loadRouteTable,
  metricsServerEnv,
  redisConnectionEnv,
  type EnvSource,
  type RouteTable,
} from "@switchboard/config";

/** Exported for the deployment tests, which check docker-compose.yml and infra/k8s against it. */
export const WorkerEnv = z.object({
  // Redis
  ...redisConnectionEnv(),
  // Work
  WORKER_CONCURRENCY: integer(500, { min: 1, max: 10_000 }),
  /** BullMQ consumers in the process, fetching jobs in parallel; WORKER_CONCURRENCY is split among them. */
  WORKER_FETCH_LOOPS: integer(1, { min: 1, max: 64 }),
  /**
   * BullMQ's job lock, renewed every half of it: the last resort for a worker that stopped
   * renewing. Dead processes are found much sooner by the crash reaper (crash-reaper.ts), so this
   * can stay long enough that a busy event loop never loses a healthy job.
   */
  WORKER_LOCK_DURATION_MS: integer(4000, { min: 500 }),
  /** How often workers move jobs whose lock is gone back to the queue. */
  WORKER_STALLED_INTERVAL_MS: integer(250, { min: 100 }),
  /** How often a worker checks whether other workers' processes are still connected. */
  WORKER_CRASH_CHECK_INTERVAL_MS: integer(250, { min: 50 }),
  /** A worker disconnected from Redis for this long is dead: its jobs go back to the queue. */
  WORKER_CRASH_GRACE_MS: integer(300, { min: 50 }),
  WORKER_HEARTBEAT_INTERVAL_MS: integer(1000, { min: 100 }),
  WORKER_SHUTDOWN_GRACE_MS: integer(10_000, { min: 0 }),
  /** Rewritten every heartbeat interval while the process runs; read by the container health check. */
  WORKER_HEALTH_FILE: z.string().optional(),
  // Upstreams
  UPSTREAM_TIMEOUT_MS: integer(30_000, { min: 100 }),
  /** No first token within this long: the attempt fails (and is retried or falls back). */
  UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: integer(5000, { min: 50 }),
  /** No chunk for this long after the first token: the stream ends with an explicit error. */
  UPSTREAM_IDLE_TIMEOUT_MS: integer(5000, { min: 50 }),
  /** Extra tries of the same target before the first token, on a retryable failure. */
  UPSTREAM_RETRIES: integer(1, { min: 0, max: 10 }),
  /** Wait before the first retry; doubled each time, with jitter. */
  UPSTREAM_RETRY_BACKOFF_MS: integer(100, { min: 0 }),
  /** Longest Retry-After passed on to a client from an upstream (an upstream once said 100000 s). */
  UPSTREAM_RETRY_AFTER_MAX_SECONDS: integer(60, { min: 1, max: 86_400 }),
  SIMULATED_FIRST_TOKEN_DELAY_MS: integer(30, { min: 0 }),
  SIMULATED_TOKEN_DELAY_MS: integer(15, { min: 0 }),
  // Relay
  RELAY_LOG_TTL_SECONDS: integer(300, { min: 10 }),
  /** How long a reply channel may have no listener before the worker stops its requests. */
  RELAY_NO_LISTENER_GRACE_MS: integer(400, { min: 50 }),
  /** How often the worker checks that the ingresses it answers still listen (one PUBSUB SHARDNUMSUB). */
  RELAY_LISTENER_CHECK_INTERVAL_MS: integer(200, { min: 20 }),
  /** How long a conversation's timeline is kept after its last write (the ingress's setting too). */
  TIMELINE_TTL_SECONDS: integer(86_400, { min: 60 }),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  // Telemetry (tracing itself is configured by the standard OTEL_* variables); METRICS_PORT is
  // shown in the "ready" log line.
  ...metricsServerEnv(),
  /** Record prompts and answers on the upstream call's span (gen_ai.input/output.messages). Off: they may hold personal data. */
  SWITCHBOARD_CAPTURE_CONTENT: boolean(false),
});

/** Every environment variable the worker's schema reads (the README documents each). */
export const workerVariables = Object.keys(WorkerEnv.shape);

export type WorkerConfig = z.infer<typeof WorkerEnv> & { routes: RouteTable; env: EnvSource };

export function loadWorkerConfig(env: EnvSource): WorkerConfig {
  return { ...loadConfig("worker", WorkerEnv, env), routes: loadRouteTable(env), env };
}
