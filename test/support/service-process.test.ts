// A process that never says it is up must not outlive the start that gave up on it: the launcher
// kills it, so a slow or stuck service cannot leak into the next test.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startNodeProcess } from "./service-process.ts";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startNodeProcess", () => {
  it("kills a process that is not ready within its timeout, and says so with its output", async () => {
    const script = join(mkdtempSync(join(tmpdir(), "switchboard-stuck-")), "stuck.ts");
    writeFileSync(script, "console.log('pid', process.pid);\nsetInterval(() => {}, 1000);\n");
    const failure = await startNodeProcess("stuck", script, { env: {}, readyMsg: "listening", timeoutMs: 3000 }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toMatch(/^stuck did not start within 3000 ms \(killed\):\npid \d+/);
    const pid = Number(/pid (\d+)/.exec(failure?.message ?? "")?.[1]);
    expect(isRunning(pid)).toBe(false);
  });

  it("resolves with the ready line of a process that logs it", async () => {
    const script = join(mkdtempSync(join(tmpdir(), "switchboard-ready-")), "ready.ts");
    writeFileSync(
      script,
      'console.log(JSON.stringify({ msg: "listening", url: "x" }));\nsetInterval(() => {}, 1000);\n',
    );
    const started = await startNodeProcess("ready", script, { env: {}, readyMsg: "listening" });
    expect(started.readyLine).toEqual({ msg: "listening", url: "x" });
    await started.stop("SIGKILL");
    expect(started.child.signalCode).toBe("SIGKILL");
  });
});
