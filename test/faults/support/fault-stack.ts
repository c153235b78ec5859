// A whole stack for one fault scenario, usable from vitest and from the plain-Node report script:
// the launcher's ingress and worker processes (test/support/launcher.ts) on a private redis-server
// that a scenario can kill, pause and restart, behind the mock upstream (in this process, so its
// clock is the client's clock, or as a process of its own).
import { readFileSync } from "node:fs";
import {
  createMockUpstream,
  type MockStats,
  type MockUpstream,
  type MockUpstreamOptions,
} from "@switchboard/mock-upstream";
import { launchStack, routesTo, uniquePrefix, type LaunchedStack } from "../../support/launcher.ts";
import { startPrivateRedis, type PrivateRedis } from "../../support/private-redis.ts";
import { startService, type ServiceProcess } from "../../support/service-process.ts";

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

/** The launcher's stack; its `urls` are the live ingresses' only (a stopped one's is removed). */
export interface FaultStack extends LaunchedStack {
  redis: PrivateRedis;
  /** The in-process mock (when mockProcess is off). */
  mock: MockUpstream;
  mockUrl: string;
  /** The mock's stats, wherever it runs. */
  stats(): Promise<MockStats>;
  urlOf(ingress: ServiceProcess): string;
}

async function startMockProcess(settings: MockUpstreamOptions): Promise<ServiceProcess> {
  return startService("mock-upstream", {
    MOCK_PORT: "0",
    MOCK_RECENT_LIMIT: "100000",
    MOCK_TOKENS: String(settings.tokens ?? 20),
    MOCK_TOKEN_DELAY_MS: String(settings.tokenDelayMs ?? 0),
    MOCK_FIRST_TOKEN_DELAY_MS: String(settings.firstTokenDelayMs ?? 0),
  });
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const redis = await startPrivateRedis();
  const mock = createMockUpstream({ recentLimit: 100_000, ...options.mock });
  const mockService = options.mockProcess ? await startMockProcess(options.mock ?? {}) : undefined;
  const mockUrl = mockService ? String(mockService.readyLine.url) : (await mock.listen(0)).url;
  const stopMockAndRedis = async () => {
    await mockService?.stop("SIGKILL");
    await mock.close();
    await redis.stop();
  };
  let stack: LaunchedStack;
  try {
    stack = await launchStack({
      redisUrl: redis.url,
      prefix: uniquePrefix("faults"),
      ingresses: options.ingresses,
      workers: options.workers,
      routes: (options.routes ?? routesTo)(mockUrl),
      env: { UPSTREAM_API_KEY: "fault-test-key", ...options.env },
      ingressEnv: options.ingressEnv,
      workerEnv: options.workerEnv,
      liveUrlsOnly: true,
    });
  } catch (error) {
    await stopMockAndRedis();
    throw error;
  }
  return {
    ...stack,
    redis,
    mock,
    mockUrl,
    async stats() {
      if (!mockService) return mock.stats();
      const response = await fetch(mockUrl.replace(/\/v1$/, "/_mock/stats"));
      return (await response.json()) as MockStats;
    },
    urlOf: (ingress) => String(ingress.readyLine.url),
    async stop() {
      await stack.stop();
      await stopMockAndRedis();
    },
  };
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
