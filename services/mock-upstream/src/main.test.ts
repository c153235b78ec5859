// The CLI entry: one JSON line when listening, clean exit on SIGTERM.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const mainPath = fileURLToPath(new URL("./main.ts", import.meta.url));

describe("main", () => {
  it("prints one listening line, serves, and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, [mainPath], {
      env: { ...process.env, MOCK_PORT: "0", MOCK_TOKENS: "2" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    const firstLine = new Promise<string>((resolve) => {
      child.stdout.on("data", (data: string) => {
        stdout += data;
        if (stdout.includes("\n")) resolve(stdout.slice(0, stdout.indexOf("\n")));
      });
    });
    const line = JSON.parse(await firstLine) as { port: number; url: string };
    expect(line).toEqual({
      level: "info",
      service: "mock-upstream",
      msg: "listening",
      port: expect.any(Number),
      url: `http://127.0.0.1:${line.port}/v1`,
    });
    const health = await fetch(`http://127.0.0.1:${line.port}/health`);
    expect(await health.json()).toEqual({ status: "ok" });

    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(1);
  });

  it("exits 1 with a message on bad configuration", async () => {
    const child = spawn(process.execPath, [mainPath], {
      env: { ...process.env, MOCK_PORT: "nope" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (data: string) => (stderr += data));
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    expect(stderr).toContain('MOCK_PORT: expected a whole number (got \\"nope\\")');
  });
});
