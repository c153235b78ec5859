// The ingress's configuration: one schema, read once at start-up.
import { z } from "zod";
import { boolean, integer, keyPrefix, loadConfig, loadRouteTable, redisUrl, sentinelList, type EnvSource, type RouteTable } from "@switchboard/config";

/** Exported for the deployment tests, which check docker-compose.yml and infra/k8s against it. */
export const IngressEnv = z.object({
  // HTTP
  HOST: z.string().default("0.0.0.0"),
  PORT: integer(8080, { min: 0, max: 65_535 }),
  /** ElevenLabs system prompts reach 2 MB; the default leaves room for long histories. */
  BODY_LIMIT_BYTES: integer(10 * 1024 * 1024, { min: 1024 }),
  // Requests
  REQUEST_TIMEOUT_MS: integer(60_000, { min: 100 }),
  // Redis
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: keyPrefix(),
  /** REDIS_URL is a seed node (or configuration endpoint) of a Redis Cluster. */
  REDIS_CLUSTER: boolean(false),
  /** Find the primary through these sentinels (REDIS_URL then gives only credentials, database and TLS). */
  REDIS_SENTINELS: sentinelList(),
  REDIS_SENTINEL_MASTER: z.string().default("mymaster"),
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
