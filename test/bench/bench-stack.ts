// The processes a benchmark run needs: a Redis (a private redis-server unless REDIS_URL is given, so
// its CPU and command counts belong to this run alone), the mock upstream, the in-process Node.js
// proxy baseline, and Switchboard's ingress and worker processes (test/support/launcher.ts), each
// with its pid for CPU accounting.
import { fileURLToPath } from "node:url";
import { launchStack, writeRoutesFile } from "../support/launcher.ts";
import { startPrivateRedis } from "../support/private-redis.ts";
import { startNodeProcess, startService, type ServiceProcess } from "../support/service-process.ts";

export interface RedisForBench {
  url: string;
  /** The redis-server's pid when the benchmark started its own. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisForBench> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, pid: undefined, stop: async () => {} };
  try {
    const redis = await startPrivateRedis(20_000);
    return { url: redis.url, pid: redis.pid(), stop: redis.stop };
  } catch {
    throw new Error("The benchmark needs Redis: install redis-server (it then starts a private one) or set REDIS_URL.");
  }
}

export interface BenchProcess {
  label: string;
  pid: number;
  url?: string;
  stop(): Promise<void>;
}

function fromService(label: string, service: Pick<ServiceProcess, "child" | "readyLine" | "stop">): BenchProcess {
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
  const proxy = await startNodeProcess("node-proxy", script, {
    env: { UPSTREAM_URL: upstreamUrl, PORT: "0" },
    readyMsg: "listening",
  });
  return fromService("node-proxy", proxy);
}

/**
 * A routing table for two mocks, written to a file for ROUTES_FILE: model "streamed" (and any
 * other) goes to `streamed`, model "immediate" to `immediate`; the key is read from MOCK_API_KEY.
 */
export function writeMockRoutes(mocks: { streamed: string; immediate: string }): string {
  const provider = (baseUrl: string) => ({ type: "openai", baseUrl, apiKeyEnv: "MOCK_API_KEY" });
  return writeRoutesFile({
    providers: { slow: provider(mocks.streamed), fast: provider(mocks.immediate) },
    routes: {
      streamed: { provider: "slow", passFields: ["mock"] },
      immediate: { provider: "fast", passFields: ["mock"] },
      "*": { provider: "slow", passFields: ["mock"] },
    },
  });
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
  const env: Record<string, string> = { MOCK_API_KEY: "unused" };
  if (options.nodeOptions) env.NODE_OPTIONS = options.nodeOptions;
  // BENCH_ENV='{"WORKER_FETCH_LOOPS":"1"}' passes settings to every ingress and worker, for A/B runs.
  if (process.env.BENCH_ENV) Object.assign(env, JSON.parse(process.env.BENCH_ENV) as Record<string, string>);
  const stack = await launchStack({
    redisUrl: options.redisUrl,
    prefix: `sbbench-${process.pid}-${++stackCount}`,
    ingresses: options.ingresses,
    workers: options.workers,
    routes: {
      providers: { mock: { type: "openai", baseUrl: options.upstreamUrl, apiKeyEnv: "MOCK_API_KEY" } },
      routes: { "*": { provider: "mock", passFields: ["mock"] } },
    },
    env,
    workerEnv: { WORKER_CONCURRENCY: String(options.workerConcurrency) },
    // A graceful stop, as the benchmark always did: a profile (--cpu-prof) is written at exit.
    stopSignal: "SIGTERM",
  });
  return {
    ingresses: stack.ingresses.map((ingress, index) => fromService(`ingress${index + 1}`, ingress)),
    workers: stack.workers.map((worker, index) => fromService(`worker${index + 1}`, worker)),
    urls: stack.urls,
    prefix: stack.prefix,
    stop: stack.stop,
  };
}
