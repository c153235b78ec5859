// The processes a benchmark run needs: a Redis (a private redis-server unless REDIS_URL is given, so
// its CPU and command counts belong to this run alone), the mock upstream, the in-process Node.js
// proxy baseline, and any number of Switchboard ingress and worker processes.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { freePort } from "@switchboard/testing";

export interface RedisForBench {
  url: string;
  /** The redis-server's pid when the benchmark started its own. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisForBench> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, pid: undefined, stop: async () => {} };
  const port = await freePort();
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxclients", "20000"],
    { stdio: "ignore" },
  );
  try {
    await Promise.race([once(server, "spawn"), once(server, "error").then(([error]) => Promise.reject(error))]);
  } catch {
    throw new Error("The benchmark needs Redis: install redis-server (it then starts a private one) or set REDIS_URL.");
  }
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { retryStrategy: () => 20, maxRetriesPerRequest: null });
  client.on("error", () => {});
  await client.ping();
  client.disconnect();
  return {
    url,
    pid: server.pid,
    async stop() {
      server.kill("SIGTERM");
      if (server.exitCode === null) await once(server, "exit");
    },
  };
}

export interface BenchProcess {
  label: string;
  pid: number;
  url?: string;
  stop(): Promise<void>;
}

function fromService(label: string, service: ServiceProcess): BenchProcess {
  const url = typeof service.readyLine.url === "string" ? service.readyLine.url : undefined;
  return { label, pid: service.child.pid ?? -1, ...(url ? { url } : {}), stop: () => service.stop() };
}

export async function startMock(
  tokens: number,
  tokenDelayMs: number,
  label = "mock",
  extraEnv: Record<string, string> = {},
): Promise<BenchProcess> {
  return fromService(
    label,
    await startService("mock-upstream", {
      MOCK_PORT: "0",
      MOCK_TOKENS: String(tokens),
      MOCK_TOKEN_DELAY_MS: String(tokenDelayMs),
      ...extraEnv,
    }),
  );
}

/** The in-process Node.js proxy (test/bench/node-proxy.ts) in front of the mock. */
export async function startNodeProxy(upstreamUrl: string): Promise<BenchProcess> {
  const script = fileURLToPath(new URL("./node-proxy.ts", import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? "", UPSTREAM_URL: upstreamUrl, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes('"listening"')) resolve(String((JSON.parse(line) as { url: string }).url));
    });
    child.once("exit", (code) => reject(new Error(`node-proxy exited (${code})`)));
  });
  return { label: "node-proxy", pid: child.pid ?? -1, url, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

/**
 * A routing table for two mocks, written to a file for ROUTES_FILE: model "streamed" (and any
 * other) goes to `streamed`, model "immediate" to `immediate`; the key is read from MOCK_API_KEY.
 */
export function writeMockRoutes(mocks: { streamed: string; immediate: string }): string {
  const routesFile = join(mkdtempSync(join(tmpdir(), "switchboard-bench-")), "routes.json");
  const provider = (baseUrl: string) => ({ type: "openai", baseUrl, apiKeyEnv: "MOCK_API_KEY" });
  writeFileSync(
    routesFile,
    JSON.stringify({
      providers: { slow: provider(mocks.streamed), fast: provider(mocks.immediate) },
      routes: {
        streamed: { provider: "slow", passFields: ["mock"] },
        immediate: { provider: "fast", passFields: ["mock"] },
        "*": { provider: "slow", passFields: ["mock"] },
      },
    }),
  );
  return routesFile;
}

export interface SwitchboardStack {
  ingresses: BenchProcess[];
  workers: BenchProcess[];
  urls: string[];
  prefix: string;
  stop(): Promise<void>;
}

export interface SwitchboardOptions {
  redisUrl: string;
  upstreamUrl: string;
  ingresses: number;
  workers: number;
  workerConcurrency: number;
  /** Extra node flags for ingress and worker, e.g. `--cpu-prof --cpu-prof-dir=…`. */
  nodeOptions?: string;
}

let stackCount = 0;

export async function startSwitchboard(options: SwitchboardOptions): Promise<SwitchboardStack> {
  const prefix = `sbbench-${process.pid}-${++stackCount}`;
  const routesFile = join(mkdtempSync(join(tmpdir(), "switchboard-bench-")), "routes.json");
  writeFileSync(
    routesFile,
    JSON.stringify({
      providers: { mock: { type: "openai", baseUrl: options.upstreamUrl, apiKeyEnv: "MOCK_API_KEY" } },
      routes: { "*": { provider: "mock", passFields: ["mock"] } },
    }),
  );
  const env: Record<string, string> = {
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    ROUTES_FILE: routesFile,
    MOCK_API_KEY: "unused",
    LOG_LEVEL: "info",
  };
  if (options.nodeOptions) env.NODE_OPTIONS = options.nodeOptions;
  // BENCH_ENV='{"WORKER_FETCH_LOOPS":"1"}' passes settings to every ingress and worker, for A/B runs.
  if (process.env.BENCH_ENV) Object.assign(env, JSON.parse(process.env.BENCH_ENV) as Record<string, string>);
  const workers = await Promise.all(
    Array.from({ length: options.workers }, async (_, index) =>
      fromService(
        `worker${index + 1}`,
        await startService("worker", { ...env, WORKER_CONCURRENCY: String(options.workerConcurrency) }),
      ),
    ),
  );
  const ingresses = await Promise.all(
    Array.from({ length: options.ingresses }, async (_, index) =>
      fromService(`ingress${index + 1}`, await startService("ingress", { ...env, PORT: "0", HOST: "127.0.0.1" })),
    ),
  );
  return {
    ingresses,
    workers,
    urls: ingresses.map((ingress) => ingress.url as string),
    prefix,
    stop: async () => void (await Promise.all([...ingresses, ...workers].map((service) => service.stop()))),
  };
}
