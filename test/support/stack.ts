// A whole Switchboard stack for one test file: N ingress and M worker processes sharing a Redis
// (from the global setup) under a key prefix of their own, optionally behind the mock upstream.
import { randomBytes } from "node:crypto";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { startService, startServices, type ServiceProcess } from "./service-process.ts";
import { removeKeys } from "@switchboard/testing";

export interface StackOptions {
  ingresses?: number;
  workers?: number;
  /** A routing table (written to a file for ROUTES_FILE); default: the environment's default table. */
  routes?: unknown;
  env?: Record<string, string>;
  ingressEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** Another Redis than the global setup's (e.g. a private Redis Cluster, with env REDIS_CLUSTER). */
  redisUrl?: string;
}

export interface Stack {
  prefix: string;
  redisUrl: string;
  ingresses: ServiceProcess[];
  workers: ServiceProcess[];
  /** Base URLs (…/v1) of the ingresses, in order. */
  urls: string[];
  startWorker(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  startIngress(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export function uniquePrefix(label: string): string {
  return `sbtest-${label}-${randomBytes(4).toString("hex")}`;
}

/** A routing table that sends every model to an OpenAI-compatible server at baseUrl, with the mock upstream's `mock` options. */
export function routesTo(baseUrl: string): unknown {
  return {
    providers: { upstream: { type: "openai", baseUrl, apiKeyEnv: "UPSTREAM_API_KEY" } },
    routes: { "*": { provider: "upstream", passFields: ["mock"] } },
  };
}

export async function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const redisUrl = options.redisUrl ?? inject("redisUrl");
  const prefix = uniquePrefix(label);
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: "warn",
    UPSTREAM_API_KEY: "test-upstream-key",
    ...options.env,
  };
  if (options.routes) {
    const file = join(mkdtempSync(join(tmpdir(), "switchboard-")), "routes.json");
    writeFileSync(file, JSON.stringify(options.routes));
    env.ROUTES_FILE = file;
  }
  const ingresses: ServiceProcess[] = [];
  const workers: ServiceProcess[] = [];
  const stack: Stack = {
    prefix,
    redisUrl,
    ingresses,
    workers,
    urls: [],
    async startWorker(extraEnv = {}) {
      const worker = await startService("worker", {
        ...env,
        LOG_LEVEL: "info",
        METRICS_PORT: "0",
        METRICS_HOST: "127.0.0.1",
        ...options.workerEnv,
        ...extraEnv,
      });
      workers.push(worker);
      return worker;
    },
    async startIngress(extraEnv = {}) {
      const ingress = await startService("ingress", {
        ...env,
        LOG_LEVEL: "info",
        PORT: "0",
        METRICS_PORT: "0",
        METRICS_HOST: "127.0.0.1",
        HOST: "127.0.0.1",
        ...options.ingressEnv,
        ...extraEnv,
      });
      ingresses.push(ingress);
      stack.urls.push(String(ingress.readyLine.url));
      return ingress;
    },
    async stop() {
      await Promise.all([...ingresses, ...workers].map((service) => service.stop("SIGKILL")));
      await removeKeys(redisUrl, prefix);
    },
  };
  await startServices(stack, options);
  return stack;
}
