// The ingress's configuration: one schema, read once at start-up.
import { readFileSync } from "node:fs";
import { z } from "zod";
import {
  ConfigError,
  boolean,
  integer,
  loadConfig,
  loadRouteTable,
  metricsServerEnv,
  redisConnectionEnv,
  type EnvSource,
  type RouteTable,
} from "@switchboard/config";

/**
 * TRUST_PROXY as Express reads `trust proxy`: true/false, a hop count, or a comma-separated list of
 * addresses, subnets and the names loopback, linklocal, uniquelocal.
 */
function trustProxy() {
  return z
    .string()
    .optional()
    .transform((value): boolean | number | string => {
      if (value === undefined || value === "" || value === "false") return false;
      if (value === "true") return true;
      if (/^\d+$/.test(value)) return Number(value);
      return value;
    });
}

/** Exported for the deployment tests, which check docker-compose.yml and infra/k8s against it. */
export const IngressEnv = z.object({
  // HTTP
  HOST: z.string().default("0.0.0.0"),
  PORT: integer(8080, { min: 0, max: 65_535 }),
  /** ElevenLabs system prompts reach 2 MB; the default leaves room for long histories. */
  BODY_LIMIT_BYTES: integer(10 * 1024 * 1024, { min: 1024 }),
  /** A client must have sent its whole request (headers and body) within this long, else 408. */
  REQUEST_BODY_TIMEOUT_MS: integer(10_000, { min: 100 }),
  /** Deeper JSON nesting is refused with 400 (nothing legitimate nests this deep). */
  JSON_MAX_DEPTH: integer(64, { min: 8, max: 1000 }),
  /**
   * More JSON values (objects, arrays, strings, numbers, literals) than this is refused with 413
   * before the body is parsed: parsed, each costs tens of bytes of heap, whatever its size in bytes.
   */
  JSON_MAX_VALUES: integer(100_000, { min: 1000 }),
  /**
   * Express's `trust proxy`: which proxies in front may name the client (X-Forwarded-For), for the
   * client address the limits and logs use. Unset: none (the socket's address).
   */
  TRUST_PROXY: trustProxy(),
  /**
   * Client connections this ingress keeps open; one more is answered 503 connection_limit and
   * closed. Each open connection costs a socket and its buffers (tens of KB).
   */
  MAX_CONNECTIONS: integer(10_000, { min: 1 }),
  /** A kept-alive connection idle this long is closed (above a load balancer's idle timeout: 60 s on AWS ALB). */
  KEEP_ALIVE_TIMEOUT_MS: integer(65_000, { min: 100 }),
  /** A client that takes no byte of its answer for this long, its write buffer full, is disconnected. */
  CLIENT_WRITE_TIMEOUT_MS: integer(10_000, { min: 100 }),
  // Metrics: METRICS_PORT is shown in the `listening` log line; with METRICS_TOKEN set, PORT serves
  // GET /metrics too.
  ...metricsServerEnv(),
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
  /**
   * With two or more API keys: the most a key may hold (queued and active) of the deployment's
   * worker slots, in per cent, so one key's flood leaves room for the others. 100 = no share limit.
   */
  KEY_SLOT_SHARE_PERCENT: integer(50, { min: 1, max: 100 }),
  // Authentication (keys are secrets: never logged)
  /** Comma-separated API keys; with none (and no API_KEYS_FILE) the gateway is open. */
  API_KEYS: z.string().optional(),
  /** A file with one API key per line (blank lines and lines starting with # ignored). */
  API_KEYS_FILE: z.string().optional(),
  /** A header that may carry the key instead of Authorization: Bearer (ElevenLabs custom headers). */
  AUTH_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, { message: "expected a header name such as x-switchboard-key" })
    .optional(),
  /** In production (NODE_ENV=production) the ingress refuses to start without keys unless this is true. */
  ALLOW_OPEN_ACCESS: boolean(false),
  NODE_ENV: z.string().default("development"),
  /**
   * Comma-separated keys for the admin endpoints (GET /admin/conversations/:id/timeline). Not API
   * keys: an API key there gets 403, an admin key on the chat routes 401. None: no admin endpoints.
   */
  ADMIN_API_KEYS: z.string().optional(),
  // Conversations
  /** A request header that names the request's conversation (first of the conversation id sources). */
  CONVERSATION_ID_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, { message: "expected a header name such as x-conversation-id" })
    .default("x-conversation-id"),
  /**
   * A conversation's new turn ends its older turn still running (clean finish, upstream closed).
   * A route's `supersede` overrides this.
   */
  SUPERSEDE_STALE_TURNS: boolean(true),
  /** How long a conversation's timeline is kept after its last turn. */
  TIMELINE_TTL_SECONDS: integer(86_400, { min: 60 }),
  // Tracing (the OTEL_* variables are read by the OpenTelemetry SDK itself; see the README)
  /**
   * Let a caller's W3C traceparent put the request into the caller's trace and decide its sampling.
   * Off: the gateway starts its own trace and samples it by OTEL_TRACES_SAMPLER, linking the caller's.
   */
  TRUST_INCOMING_TRACEPARENT: boolean(false),
  // Redis
  ...redisConnectionEnv(),
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

/** Every environment variable the ingress's schema reads (the README documents each). */
export const ingressVariables = Object.keys(IngressEnv.shape);

export type IngressConfig = Omit<z.infer<typeof IngressEnv>, "API_KEYS" | "ADMIN_API_KEYS"> & {
  routes: RouteTable;
  apiKeys: string[];
  adminKeys: string[];
};

export function loadIngressConfig(env: EnvSource): IngressConfig {
  const { API_KEYS, ADMIN_API_KEYS, ...config } = loadConfig("ingress", IngressEnv, env);
  const apiKeys = [...new Set([...splitKeys(API_KEYS ?? "", ","), ...readKeyFile(config.API_KEYS_FILE)])];
  if (apiKeys.length === 0 && config.NODE_ENV === "production" && !config.ALLOW_OPEN_ACCESS) {
    throw new ConfigError("ingress", [
      "API_KEYS: no API keys are configured and NODE_ENV=production. Set API_KEYS (or API_KEYS_FILE), or ALLOW_OPEN_ACCESS=true to run an open gateway on purpose.",
    ]);
  }
  const adminKeys = splitKeys(ADMIN_API_KEYS ?? "", ",");
  if (adminKeys.some((key) => apiKeys.includes(key)))
    throw new ConfigError("ingress", ["ADMIN_API_KEYS: an admin key must not also be an API key (API_KEYS)."]);
  return { ...config, apiKeys, adminKeys, routes: loadRouteTable(env) };
}

function splitKeys(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((key) => key.trim())
    .filter((key) => key !== "" && !key.startsWith("#"));
}

function readKeyFile(file: string | undefined): string[] {
  if (!file) return [];
  try {
    return splitKeys(readFileSync(file, "utf8"), "\n");
  } catch (error) {
    throw new ConfigError("ingress", [
      `API_KEYS_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    ]);
  }
}
