// A whole stack for one fault scenario, usable from vitest and from the plain-Node report script:
// a private redis-server, the mock upstream (in this process, so its clock is the client's
// clock), and real ingress and worker processes.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createMockUpstream,
  type MockStats,
  type MockUpstream,
  type MockUpstreamOptions,
} from "@switchboard/mock-upstream";
import { startService, startServices, type ServiceProcess } from "../../support/service-process.ts";
import { startPrivateRedis, type PrivateRedis } from "./private-redis.ts";

export interface FaultStackOptions {
  ingresses?: number;
  workers?: number;
  mock?: MockUpstreamOptions;
  /**
   * Run the mock upstream as its own process instead of in the measuring one, so that its
   * timestamps do not wait for the measuring process's busy event loop (the client's SSE parsing).
   * Its clock (performance.timeOrigin + now) is still comparable. Read it with stats().
   */
  mockProcess?: boolean;
  /** Routing table builder, given the mock's base URL; default: every model to the mock. */
  routes?: (mockUrl: string) => unknown;
  env?: Record<string, string>;
  ingressEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
}

export interface FaultStack {
  redis: PrivateRedis;
  /** The in-process mock (when mockProcess is off). */
  mock: MockUpstream;
  mockUrl: string;
  /** The mock's stats, wherever it runs. */
  stats(): Promise<MockStats>;
  ingresses: ServiceProcess[];
  workers: ServiceProcess[];
  /** Base URLs (…/v1) of the live ingresses, in start order (stopped ones are removed). */
  urls: string[];
  startIngress(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  startWorker(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  urlOf(ingress: ServiceProcess): string;
  stop(): Promise<void>;
}

function mockRoutes(mockUrl: string): unknown {
  return {
    providers: { upstream: { type: "openai", baseUrl: mockUrl, apiKeyEnv: "UPSTREAM_API_KEY" } },
    routes: { "*": { provider: "upstream", passFields: ["mock"] } },
  };
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const redis = await startPrivateRedis();
  const mock = createMockUpstream({ recentLimit: 100_000, ...options.mock });
  let mockUrl: string;
  let mockService: ServiceProcess | undefined;
  if (options.mockProcess) {
    const settings = options.mock ?? {};
    mockService = await startService("mock-upstream", {
      MOCK_PORT: "0",
      MOCK_RECENT_LIMIT: "100000",
      MOCK_TOKENS: String(settings.tokens ?? 20),
      MOCK_TOKEN_DELAY_MS: String(settings.tokenDelayMs ?? 0),
      MOCK_FIRST_TOKEN_DELAY_MS: String(settings.firstTokenDelayMs ?? 0),
    });
    mockUrl = String(mockService.readyLine.url);
  } else {
    mockUrl = (await mock.listen(0)).url;
  }
  const routesFile = join(mkdtempSync(join(tmpdir(), "switchboard-faults-")), "routes.json");
  writeFileSync(routesFile, JSON.stringify((options.routes ?? mockRoutes)(mockUrl)));
  const env = {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: "faults",
    LOG_LEVEL: "info",
    UPSTREAM_API_KEY: "fault-test-key",
    ROUTES_FILE: routesFile,
    ...options.env,
  };
  const ingresses: ServiceProcess[] = [];
  const workers: ServiceProcess[] = [];
  const urls: string[] = [];
  const stack: FaultStack = {
    redis,
    mock,
    mockUrl,
    async stats() {
      if (!mockService) return mock.stats();
      const response = await fetch(mockUrl.replace(/\/v1$/, "/_mock/stats"));
      return (await response.json()) as MockStats;
    },
    ingresses,
    workers,
    urls,
    async startIngress(extraEnv = {}) {
      const ingress = await startService("ingress", {
        ...env,
        PORT: "0",
        METRICS_PORT: "0",
        METRICS_HOST: "127.0.0.1",
        HOST: "127.0.0.1",
        ...options.ingressEnv,
        ...extraEnv,
      });
      ingresses.push(ingress);
      urls.push(String(ingress.readyLine.url));
      void ingress.exited.then(() => {
        const index = urls.indexOf(String(ingress.readyLine.url));
        if (index >= 0) urls.splice(index, 1);
      });
      return ingress;
    },
    async startWorker(extraEnv = {}) {
      const worker = await startService("worker", { ...env, ...options.workerEnv, ...extraEnv });
      workers.push(worker);
      return worker;
    },
    urlOf: (ingress) => String(ingress.readyLine.url),
    async stop() {
      await Promise.all(
        [...ingresses, ...workers, ...(mockService ? [mockService] : [])].map((service) => service.stop("SIGKILL")),
      );
      await mock.close();
      await redis.stop();
    },
  };
  await startServices(stack, options);
  return stack;
}

/** Resident memory of a process in MB (Linux /proc), or NaN where unavailable. */
export function residentMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * Poll a condition until it holds, or fail after timeoutMs. The scenarios also run outside vitest
 * (`npm run faults`), where vitest's `vi.waitFor` cannot run, so they keep this small poller.
 */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  message: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
