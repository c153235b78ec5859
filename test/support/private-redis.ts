// A private redis-server (fault injection, benchmarks): started on a free loopback port, killed by
// its PID (never by name), and restartable on the same port so clients reconnect to "the same"
// Redis. No persistence: a restart is an empty Redis, the harshest case for recovery.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { freePort, spawnRedisServer, waitForRedis } from "@switchboard/testing";

export interface PrivateRedis {
  url: string;
  port: number;
  pid(): number | undefined;
  /** SIGKILL the server (an outage); resolves once it has exited. */
  kill(): Promise<void>;
  /** Start it again on the same port; resolves once it answers PING. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that hangs with its connections open. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** maxClients: redis-server's --maxclients (a benchmark holding thousands of streams wants more). */
export async function startPrivateRedis(maxClients = 10_000): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  const launch = async () => {
    server = await spawnRedisServer([
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--maxclients",
      String(maxClients),
    ]);
    await waitForRedis(url);
  };
  const kill = async () => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  await launch();
  const signal = (name: NodeJS.Signals) => {
    if (server?.pid !== undefined) process.kill(server.pid, name);
  };
  return {
    url,
    port,
    pid: () => server?.pid,
    kill,
    restart: launch,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    stop: kill,
  };
}
