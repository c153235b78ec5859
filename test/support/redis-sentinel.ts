// A private Redis Sentinel set-up on loopback for one test file: a primary, one replica and one
// sentinel (quorum 1) watching them under the name `mymaster`. Stopped by the PIDs it started.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { freePort } from "./free-port.ts";
import { RedisProcesses } from "./redis-processes.ts";
import { waitUntil } from "./wait-until.ts";

export interface RedisSentinelSetup {
  /** REDIS_SENTINELS for the services. */
  sentinels: string;
  master: string;
  sentinel: Redis;
  /** Which of the two servers is the primary now, as the sentinel sees it. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

export async function startRedisSentinel(): Promise<RedisSentinelSetup> {
  const processes = new RedisProcesses("sentinel");
  const directory = processes.directory;
  const stop = () => processes.stop();
  const start = (args: string[]) => processes.start(args);
  const connect = (port: number) => processes.connect(port);
  try {
    const [primaryPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()] as [number, number, number];
    const common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory];
    await start(["--port", String(primaryPort), ...common]);
    await start(["--port", String(replicaPort), "--replicaof", "127.0.0.1", String(primaryPort), ...common]);
    const replica = await connect(replicaPort);
    await waitUntil(async () => ((await replica.info("replication")) as string).includes("master_link_status:up"), 10_000, "the replica did not sync");
    const config = join(directory, "sentinel.conf");
    writeFileSync(
      config,
      [`port ${sentinelPort}`, "bind 127.0.0.1", `dir ${directory}`, `sentinel monitor mymaster 127.0.0.1 ${primaryPort} 1`, "sentinel down-after-milliseconds mymaster 2000", "sentinel failover-timeout mymaster 10000", ""].join("\n"),
    );
    await start([config, "--sentinel"]);
    const sentinel = await connect(sentinelPort);
    await waitUntil(async () => {
      const replicas = (await sentinel.call("SENTINEL", "REPLICAS", "mymaster")) as unknown[];
      return replicas.length === 1;
    }, 15_000, "the sentinel did not discover the replica");
    const primaryPortNow = async () => {
      const [, port] = (await sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")) as [string, string];
      return Number(port);
    };
    return {
      sentinels: `127.0.0.1:${sentinelPort}`,
      master: "mymaster",
      sentinel,
      primaryPort: primaryPortNow,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
