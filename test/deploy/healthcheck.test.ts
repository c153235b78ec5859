// The images' health check (scripts/healthcheck.ts, run by Docker HEALTHCHECK and the Kubernetes
// worker probe) against real services: healthy while they run, unhealthy when they do not answer.
// And the clean stop every container relies on: SIGTERM ends each service with exit code 0.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startService } from "../support/service-process.ts";
import { repoPath } from "../support/deploy-files.ts";
import { startStack, type Stack } from "../support/stack.ts";

const run = promisify(execFile);
const directory = mkdtempSync(join(tmpdir(), "switchboard-health-"));
const healthFile = join(directory, "worker-alive");
let stack: Stack;

beforeAll(async () => {
  stack = await startStack("healthcheck", { workerEnv: { WORKER_HEALTH_FILE: healthFile } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Exit code of `node scripts/healthcheck.ts <service>` with env. */
async function healthcheck(service: string, env: Record<string, string>): Promise<number> {
  try {
    await run(process.execPath, [repoPath("scripts/healthcheck.ts"), service], {
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
}

describe("scripts/healthcheck.ts", () => {
  it("finds the ingress healthy on PORT, and unhealthy where nothing answers", async () => {
    const port = new URL(stack.urls[0]!).port;
    expect(await healthcheck("ingress", { PORT: port })).toBe(0);
    const closed = await startService("mock-upstream", { MOCK_PORT: "0" });
    const closedPort = String(closed.readyLine.port);
    await closed.stop();
    expect(await healthcheck("ingress", { PORT: closedPort })).toBe(1);
  });

  it("finds a running worker healthy by its health file, and a stale or missing file unhealthy", async () => {
    await vi.waitFor(
      async () =>
        expect(
          await healthcheck("worker", { WORKER_HEALTH_FILE: healthFile }),
          "the worker's health file was not written",
        ).toBe(0),
      { timeout: 10_000, interval: 25 },
    );
    const stale = join(directory, "stale");
    writeFileSync(stale, String(Date.now() - 60_000));
    expect(await healthcheck("worker", { WORKER_HEALTH_FILE: stale })).toBe(1);
    expect(await healthcheck("worker", { WORKER_HEALTH_FILE: join(directory, "missing") })).toBe(1);
    expect(await healthcheck("worker", {})).toBe(1);
  });

  it("finds the mock upstream healthy on MOCK_PORT", async () => {
    const mock = await startService("mock-upstream", { MOCK_PORT: "0" });
    try {
      expect(await healthcheck("mock-upstream", { MOCK_PORT: String(mock.readyLine.port) })).toBe(0);
    } finally {
      await mock.stop();
    }
  });

  it("rejects an unknown service name", async () => {
    expect(await healthcheck("database", {})).toBe(1);
  });
});

describe("SIGTERM (docker stop, Kubernetes pod termination)", () => {
  it("ends the ingress, a worker and the mock upstream with exit code 0", async () => {
    const services = [
      await stack.startIngress(),
      await stack.startWorker(),
      await startService("mock-upstream", { MOCK_PORT: "0" }),
    ];
    for (const service of services) {
      await service.stop("SIGTERM");
      expect({ name: service.name, code: service.child.exitCode }).toEqual({ name: service.name, code: 0 });
    }
  });
});
