// `npm start`: the whole local stack in one terminal — one ingress and WORKERS worker processes —
// against the Redis at REDIS_URL. With no OPENAI_API_KEY it answers with the simulated model.
// No orphans: SIGTERM, SIGINT and SIGHUP stop the children; and each child holds an IPC channel to
// this process, which closes when it dies however it dies (SIGKILL included), and then stops too.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { redactUrl } from "@switchboard/protocol";
import { Redis } from "ioredis";

if (existsSync(".env")) process.loadEnvFile(".env");
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const workerCount = Number(process.env.WORKERS ?? "1");

// With sentinels the URL's host is not used; the services themselves say if they cannot connect.
if (!process.env.REDIS_SENTINELS) await checkRedis(redisUrl);

// In a terminal the services' JSON lines are shown by pino-pretty (time, level, service: message,
// then the fields); piped or redirected, they pass through as JSON, one object per line.
const showLine = process.stdout.isTTY ? await prettyPrinter() : (line: string) => `${line}\n`;

const children: ChildProcess[] = [];
let stopping = false;

// The ingress runs with a small young generation, as everywhere it starts (docs/architecture.md,
// "Hostile input").
const nodeFlags = { ingress: ["--max-semi-space-size=2"], worker: [] };

function start(
  service: "ingress" | "worker",
  onLine?: (line: string) => void,
  extraEnv: Record<string, string> = {},
): ChildProcess {
  const entry = fileURLToPath(new URL(`../services/${service}/src/main.ts`, import.meta.url));
  const child = spawn(process.execPath, [...nodeFlags[service], entry], {
    env: { ...process.env, REDIS_URL: redisUrl, ...extraEnv },
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  // The channel is for the child to notice this process is gone; it must not keep this one alive.
  child.channel?.unref();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    process.stdout.write(showLine(line));
    onLine?.(line);
  });
  child.on("exit", (code, signal) => {
    if (stopping) return;
    process.stderr.write(`${service} exited (${signal ?? code}); stopping the stack.\n`);
    stop(1);
  });
  children.push(child);
  return child;
}

function stop(exitCode: number): void {
  if (stopping) return;
  stopping = true;
  let running = children.length;
  for (const child of children) {
    child.once("exit", () => --running === 0 && process.exit(exitCode));
    child.kill("SIGTERM");
  }
}

// Each process serves its metrics on its own port: METRICS_PORT (default 9464) for the ingress,
// the next ones for the workers (0: each picks a free one).
const firstMetricsPort = Number(process.env.METRICS_PORT || "9464");
const metricsPort = (index: number) => String(firstMetricsPort === 0 ? 0 : firstMetricsPort + index);
for (let index = 0; index < workerCount; index++) start("worker", undefined, { METRICS_PORT: metricsPort(index + 1) });
start(
  "ingress",
  (line) => {
    if (!line.includes('"msg":"listening"')) return;
    const { url } = JSON.parse(line) as { url: string };
    const model = process.env.OPENAI_API_KEY
      ? "any model your upstream serves (or switchboard-sim)"
      : "switchboard-sim (no OPENAI_API_KEY set: simulated answers)";
    process.stderr.write(
      `\nSwitchboard is up: ${url}  (${workerCount} worker${workerCount === 1 ? "" : "s"})\n` +
        `Model: ${model}\n` +
        `Try:   curl -N ${url}/chat/completions -H 'Content-Type: application/json' \\\n` +
        `         -d '{"model":"switchboard-sim","stream":true,"messages":[{"role":"user","content":"Hello"}]}'\n\n`,
    );
  },
  { METRICS_PORT: metricsPort(0) },
);
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
process.on("SIGHUP", () => stop(0));

async function prettyPrinter(): Promise<(line: string) => string> {
  const { prettyFactory } = await import("pino-pretty");
  const pretty = prettyFactory({
    colorize: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "service",
    messageFormat: "{service}: {msg}",
  });
  // A line that is not JSON (a crash's output) is shown as it is.
  return (line) => (line.startsWith("{") ? pretty(line) : `${line}\n`);
}

async function checkRedis(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    client.disconnect();
  } catch (error) {
    process.stderr.write(
      `Cannot reach Redis at ${redactUrl(url)} (${(error as Error).message}).\n` +
        `Switchboard needs Redis 7 or later. Start one, then run npm start again:\n` +
        `  redis-server --daemonize yes --save ""        # Debian/Ubuntu: apt-get install redis-server\n` +
        `  docker run -d -p 6379:6379 redis:7            # or with Docker\n` +
        `or point REDIS_URL at an existing one.\n`,
    );
    process.exit(1);
  }
}
