// `npm start` (scripts/start.ts) leaves no orphans: SIGTERM stops its ingress and worker, and so
// does SIGKILL, which the script cannot catch — its children notice that their IPC channel to it
// closed and stop by themselves.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, inject, vi } from "vitest";
import { removeKeys } from "@switchboard/testing";
import { uniquePrefix } from "../support/stack.ts";

const script = fileURLToPath(new URL("../../scripts/start.ts", import.meta.url));
const prefixes: string[] = [];
const started: ChildProcess[] = [];

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const prefix of prefixes) await removeKeys(inject("redisUrl"), prefix);
});

/** Is the process gone (exited, or a zombie nobody has reaped yet)? */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Start `npm start`'s script with one worker; resolves once the ingress and the worker are up, with their pids. */
async function startScript(): Promise<{ parent: ChildProcess; children: number[] }> {
  const prefix = uniquePrefix("start");
  prefixes.push(prefix);
  const parent = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      REDIS_URL: inject("redisUrl"),
      REDIS_KEY_PREFIX: prefix,
      PORT: "0",
      HOST: "127.0.0.1",
      METRICS_PORT: "0",
      METRICS_HOST: "127.0.0.1",
      WORKERS: "1",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(parent);
  const up = new Set<string>();
  await new Promise<void>((resolve, reject) => {
    parent.once("exit", (code) => reject(new Error(`start.ts exited early (${code})`)));
    parent.stderr?.resume();
    createInterface({ input: parent.stdout! }).on("line", (line) => {
      if (line.includes('"msg":"listening"')) up.add("ingress");
      if (line.includes('"msg":"ready"')) up.add("worker");
      if (up.size === 2) resolve();
    });
  });
  const children = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, "utf8")
    .trim()
    .split(/\s+/)
    .map(Number);
  return { parent, children };
}

describe("npm start", () => {
  it("stops its ingress and worker on SIGTERM", async () => {
    const { parent, children } = await startScript();
    expect(children).toHaveLength(2);
    const exited = new Promise<number | null>((resolve) => parent.once("exit", (code) => resolve(code)));
    parent.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(children.filter((pid) => !gone(pid))).toEqual([]);
  }, 30_000);

  it("leaves no orphan when it is killed with SIGKILL", async () => {
    const { parent, children } = await startScript();
    expect(children).toHaveLength(2);
    parent.kill("SIGKILL");
    await vi.waitFor(
      async () => expect(children.every(gone), "the ingress and the worker gone after their parent").toBe(true),
      { timeout: 15_000, interval: 25 },
    );
  }, 30_000);
});
