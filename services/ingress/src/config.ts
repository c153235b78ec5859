// The ingress's configuration: one schema, read once at start-up.
import { z } from "zod";
import { integer, keyPrefix, loadConfig, loadRouteTable, redisUrl, type EnvSource, type RouteTable } from "@switchboard/config";

const IngressEnv = z.object({
  // HTTP
  HOST: z.string().default("0.0.0.0"),
  PORT: integer(8080, { min: 0, max: 65_535 }),
  /** ElevenLabs system prompts reach 2 MB; the default leaves room for long histories. */
  BODY_LIMIT_BYTES: integer(10 * 1024 * 1024, { min: 1024 }),
  /** A client must have sent its whole request (headers and body) within this long, else 408. */
  REQUEST_BODY_TIMEOUT_MS: integer(10_000, { min: 100 }),
  /** Deeper JSON nesting is refused with 400 (nothing legitimate nests this deep). */
  JSON_MAX_DEPTH: integer(64, { min: 8, max: 1000 }),
  // Requests
  REQUEST_TIMEOUT_MS: integer(60_000, { min: 100 }),
  // Admission
  /** Requests waiting for a worker, across the whole deployment, beyond which new ones get 503. */
  MAX_QUEUED_REQUESTS: integer(1000, { min: 1 }),
  /** A request no worker started within this long is answered 503 queue_timeout and never started. */
  QUEUE_MAX_WAIT_MS: integer(3000, { min: 50 }),
  /** How often the ingress re-reads the queue's depth (admission uses this cached figure). */
  QUEUE_DEPTH_REFRESH_MS: integer(200, { min: 20 }),
  /** Per key (API key hash, else client IP), across every ingress; 0 = no limit. */
  RATE_LIMIT_REQUESTS_PER_MINUTE: integer(0, { min: 0 }),
  RATE_LIMIT_CONCURRENT_STREAMS: integer(0, { min: 0 }),
  // Redis
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: keyPrefix(),
  /** A Redis command unanswered for this long fails (a hung Redis answers 503, not a hang). */
  REDIS_COMMAND_TIMEOUT_MS: integer(750, { min: 50 }),
  /** Open requests end with redis_unavailable once Redis has been unreachable this long. */
  REDIS_OUTAGE_GRACE_MS: integer(1000, { min: 0 }),
  /** A request that heard nothing for this long re-reads its log (repairs a lost last event). */
  RELAY_IDLE_REPAIR_MS: integer(1000, { min: 50 }),
  /** A worker counts as alive for readiness if it sent a heartbeat within this window. */
  WORKER_LIVENESS_MS: integer(5000, { min: 500 }),
  SHUTDOWN_GRACE_MS: integer(10_000, { min: 0 }),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type IngressConfig = z.infer<typeof IngressEnv> & { routes: RouteTable };

export function loadIngressConfig(env: EnvSource): IngressConfig {
  return { ...loadConfig("ingress", IngressEnv, env), routes: loadRouteTable(env) };
}
