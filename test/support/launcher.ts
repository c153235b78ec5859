// The one way the tests start a Switchboard stack, for the end-to-end tests (stack.ts), the fault
// scenarios and the benchmarks alike (the last two also run as plain Node scripts, so no vitest
// here): ingress and worker processes on one Redis under a key prefix of their own, a routing table
// written for ROUTES_FILE, every process's output kept, any process killed or started again, and on
// stop every process ended and the prefix's keys removed.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeKeys } from "@switchboard/testing";
import { startService, type ServiceProcess } from "./service-process.ts";

export interface LaunchOptions {
  redisUrl: string;
  /** The key prefix every process of the stack uses (uniquePrefix makes one). */
  prefix: string;
  /** How many ingresses and workers start at once (default one each). */
  ingresses?: number | undefined;
  workers?: number | undefined;
  /** A routing table (written to a file for ROUTES_FILE); default: the environment's default table. */
  routes?: unknown;
  /** Settings for every process, then for the ingresses and the workers only. */
  env?: Record<string, string> | undefined;
  ingressEnv?: Record<string, string> | undefined;
  workerEnv?: Record<string, string> | undefined;
  /** Drop a stopped ingress's URL from `urls` (the fault scenarios address only live ingresses). */
  liveUrlsOnly?: boolean;
  /** How stop() ends the processes: SIGKILL unless told (SIGTERM: a graceful shutdown). */
  stopSignal?: NodeJS.Signals;
}

export interface LaunchedStack {
  prefix: string;
  redisUrl: string;
  /** Every ingress and worker started, in start order (stopped ones included). */
  ingresses: ServiceProcess[];
  workers: ServiceProcess[];
  /** Base URLs (…/v1) of the ingresses, in start order. */
  urls: string[];
  startWorker(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  startIngress(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  /** Kill one process (SIGKILL unless told) and wait for it to exit. */
  kill(service: ServiceProcess, signal?: NodeJS.Signals): Promise<void>;
  /** Kill one process and start another of its kind with the same settings. */
  restart(service: ServiceProcess, signal?: NodeJS.Signals): Promise<ServiceProcess>;
  /** Every process's output so far, each line after the process that wrote it (ingress1, worker2, …). */
  logs(): string;
  /** End every process, then remove the prefix's keys. */
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

/**
 * routesTo, and model "fallback-model" to a provider that refuses every connection (nothing listens
 * on port 9: a retryable failure) with the server at baseUrl as its fallback.
 */
export function routesWithFallback(baseUrl: string): unknown {
  const provider = (url: string) => ({ type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" });
  return {
    providers: { primary: provider(baseUrl), dead: provider("http://127.0.0.1:9/v1") },
    routes: {
      "*": { provider: "primary", passFields: ["mock"] },
      "fallback-model": { provider: "dead", fallbacks: [{ provider: "primary" }], passFields: ["mock"] },
    },
  };
}

/** Write a routing table to a file of its own; returns the path, for ROUTES_FILE. */
export function writeRoutesFile(routes: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), "switchboard-")), "routes.json");
  writeFileSync(file, JSON.stringify(routes));
  return file;
}

export async function launchStack(options: LaunchOptions): Promise<LaunchedStack> {
  const { redisUrl, prefix } = options;
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: "info",
    UPSTREAM_API_KEY: "test-upstream-key",
    // Metrics on a free loopback port each, so stacks never contend for the default port.
    METRICS_PORT: "0",
    METRICS_HOST: "127.0.0.1",
    ...(options.routes === undefined ? {} : { ROUTES_FILE: writeRoutesFile(options.routes) }),
    ...options.env,
  };
  const ingresses: ServiceProcess[] = [];
  const workers: ServiceProcess[] = [];
  const urls: string[] = [];
  const extraEnvOf = new Map<ServiceProcess, Record<string, string>>();

  const startWorker = async (extraEnv: Record<string, string> = {}) => {
    const worker = await startService("worker", { ...env, ...options.workerEnv, ...extraEnv });
    extraEnvOf.set(worker, extraEnv);
    workers.push(worker);
    return worker;
  };
  const startIngress = async (extraEnv: Record<string, string> = {}) => {
    const ingress = await startService("ingress", {
      ...env,
      PORT: "0",
      HOST: "127.0.0.1",
      ...options.ingressEnv,
      ...extraEnv,
    });
    extraEnvOf.set(ingress, extraEnv);
    ingresses.push(ingress);
    const url = String(ingress.readyLine.url);
    urls.push(url);
    if (options.liveUrlsOnly)
      void ingress.exited.then(() => {
        const index = urls.indexOf(url);
        if (index >= 0) urls.splice(index, 1);
      });
    return ingress;
  };
  const kill = (service: ServiceProcess, signal: NodeJS.Signals = "SIGKILL") => service.stop(signal);
  const stop = async () => {
    await Promise.all([...ingresses, ...workers].map((service) => service.stop(options.stopSignal ?? "SIGKILL")));
    await removeKeys(redisUrl, prefix);
  };
  const stack: LaunchedStack = {
    prefix,
    redisUrl,
    ingresses,
    workers,
    urls,
    startWorker,
    startIngress,
    kill,
    async restart(service, signal) {
      await kill(service, signal);
      const extraEnv = extraEnvOf.get(service) ?? {};
      return service.name === "ingress" ? startIngress(extraEnv) : startWorker(extraEnv);
    },
    logs: () =>
      [...ingresses, ...workers]
        .flatMap((service) => {
          const name = `${service.name}${(service.name === "ingress" ? ingresses : workers).indexOf(service) + 1}`;
          return service.output.map((line) => `${name}: ${line}`);
        })
        .join("\n"),
    stop,
  };
  try {
    await Promise.all([
      ...Array.from({ length: options.workers ?? 1 }, () => startWorker()),
      ...Array.from({ length: options.ingresses ?? 1 }, () => startIngress()),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return stack;
}
