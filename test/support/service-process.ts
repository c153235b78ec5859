// Starts one of the services (or another Node script) as a real child process and waits for the
// log line that says it is up (no sleeps). Output is kept so a failing test can show it; a process
// that is not up in time is killed, never left running.
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

/**
 * How long a process may take to say it is up. A worker alone is up in about 3 s, but a loaded
 * two-core machine starting several at once has taken 15 s and more; under the tests' 30 s timeout.
 */
const startTimeoutMs = 25_000;

export interface NodeProcess {
  child: ChildProcess;
  /** The first JSON log line whose `msg` is the ready message (a service's says it is up). */
  readyLine: Record<string, unknown>;
  /** Every line of its stdout and stderr so far. */
  output: string[];
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Kill it (SIGTERM unless told) and wait for it to exit; nothing if it has exited already. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServiceProcess extends NodeProcess {
  name: ServiceName;
}

/**
 * Run `node [flags] script` with exactly `env` (and PATH) and wait until it logs `{"msg": readyMsg}`;
 * if it exits first or is not ready within timeoutMs, it is killed and this rejects with its output.
 */
export async function startNodeProcess(
  label: string,
  script: string,
  options: { env: Record<string, string>; readyMsg: string; timeoutMs?: number; flags?: readonly string[] },
): Promise<NodeProcess> {
  const timeoutMs = options.timeoutMs ?? startTimeoutMs;
  const child = spawn(process.execPath, [...(options.flags ?? []), script], {
    env: { PATH: process.env.PATH ?? "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = once(child, "exit").then(() => undefined);
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (hasExited()) return;
    child.kill(signal);
    await exited;
  };
  createInterface({ input: child.stderr! }).on("line", (line) => output.push(line));
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => output.push(line));
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<Record<string, unknown>>((resolve) => {
    lines.on("line", (line) => {
      if (!line.includes(options.readyMsg)) return;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === options.readyMsg) resolve(entry);
      } catch {
        // not a log line
      }
    });
  });
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const outcome = await Promise.race([ready, exited.then(() => "exited" as const), timedOut]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    await stop("SIGKILL");
    throw new Error(`${label} did not start within ${timeoutMs} ms (killed):\n${output.join("\n")}`);
  }
  if (outcome === "exited")
    throw new Error(`${label} exited before it was ready (code ${child.exitCode}):\n${output.join("\n")}`);
  return { child, readyLine: outcome, output, exited, stop };
}

/** flags: node flags instead of the service's own (a benchmark comparing them); root: see entryPoint. */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  timeoutMs = startTimeoutMs,
  flags: readonly string[] = nodeFlags[name],
  root?: string,
): Promise<ServiceProcess> {
  const started = await startNodeProcess(name, entryPoint(name, root), {
    env,
    readyMsg: readyMessage[name],
    timeoutMs,
    flags,
  });
  return { name, ...started };
}
