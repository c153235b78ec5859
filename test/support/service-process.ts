// Starts one of the services as a real child process and waits for the log line that says it is
// up (no sleeps). Output is kept so a failing test can show it.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export type ServiceName = "ingress" | "worker" | "mock-upstream";

const readyMessage: Record<ServiceName, string> = {
  ingress: "listening",
  worker: "ready",
  "mock-upstream": "listening",
};

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** The first log line that said the service is up. */
  readyLine: Record<string, unknown>;
  output: string[];
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** root: another checkout of this repository to start the service from (a benchmark comparing two). */
function entryPoint(name: ServiceName, root?: string): string {
  return root
    ? join(root, "services", name, "src", "main.ts")
    : fileURLToPath(new URL(`../../services/${name}/src/main.ts`, import.meta.url));
}

/**
 * The node flags each service runs with, the same everywhere it starts (package.json, scripts/start.ts,
 * the Dockerfile; test/deploy/node-flags.test.ts holds them together): the ingress's young generation
 * is capped (docs/architecture.md, "Hostile input").
 */
export const nodeFlags: Record<ServiceName, readonly string[]> = {
  ingress: ["--max-semi-space-size=2"],
  worker: [],
  "mock-upstream": [],
};

/** flags: node flags instead of the service's own (a benchmark comparing them); root: see entryPoint. */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  timeoutMs = 15_000,
  flags: readonly string[] = nodeFlags[name],
  root?: string,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...flags, entryPoint(name, root)], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = once(child, "exit").then(() => undefined);
  const readyLine = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${output.join("\n")}`)),
      timeoutMs,
    );
    createInterface({ input: child.stderr! }).on("line", (line) => output.push(line));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === readyMessage[name]) {
          clearTimeout(timer);
          resolve(entry);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${child.exitCode}):\n${output.join("\n")}`));
    });
  });
  return {
    name,
    child,
    readyLine,
    output,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

/** A stack of services that can start one more of each kind and stop everything it started. */
export interface ServiceStack {
  startWorker(): Promise<unknown>;
  startIngress(): Promise<unknown>;
  stop(): Promise<void>;
}

/** Start a stack's first workers and ingresses together; if one fails, stop the rest and fail. */
export async function startServices(
  stack: ServiceStack,
  counts: { workers?: number | undefined; ingresses?: number | undefined },
): Promise<void> {
  try {
    await Promise.all([
      ...Array.from({ length: counts.workers ?? 1 }, () => stack.startWorker()),
      ...Array.from({ length: counts.ingresses ?? 1 }, () => stack.startIngress()),
    ]);
  } catch (error) {
    await stack.stop();
    throw error;
  }
}
