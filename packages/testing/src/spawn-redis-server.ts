// Starts a redis-server process with the caller's arguments: resolves once the process has spawned,
// rejects with the spawn's error (no redis-server installed). Waiting until it answers
// (waitForRedis) and stopping it stay with the caller.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

export async function spawnRedisServer(args: readonly string[]): Promise<ChildProcess> {
  const server = spawn("redis-server", args, { stdio: "ignore" });
  // once() rejects if "error" comes first: a process that never started emits "error", never "spawn".
  await once(server, "spawn");
  return server;
}
