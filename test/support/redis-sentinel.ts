// A private Redis Sentinel set-up on loopback for one test file: a primary, one replica and three
// sentinels (quorum 2, as in production) watching them under the name `mymaster`. Stopped by the
// PIDs it started.
import { expect, vi } from "vitest";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { RedisProcesses } from "./redis-processes.ts";
import { freePort } from "@switchboard/testing";

export interface RedisSentinelSetup {
  /** REDIS_SENTINELS for the services. */
  sentinels: string;
  master: string;
  /** A connection to the first sentinel. */
  sentinel: Redis;
  /** Which of the two servers is the primary now, as the first sentinel sees it. */
  primaryPort(): Promise<number>;
  /** SIGKILL the server that is the primary now (a crashed primary: the sentinels fail over). */
  killPrimary(): Promise<number>;
  stop(): Promise<void>;
}

/** How long the sentinels wait before they call an unanswering primary down. */
const sentinelDownAfterMs = 1000;

export async function startRedisSentinel(): Promise<RedisSentinelSetup> {
  const processes = new RedisProcesses("sentinel");
  const directory = processes.directory;
  const servers = new Map<number, ChildProcess>();
  try {
    const [primaryPort, replicaPort] = [await freePort(), await freePort()];
    const common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory];
    servers.set(primaryPort, await processes.start(["--port", String(primaryPort), ...common]));
    servers.set(
      replicaPort,
      await processes.start([
        "--port",
        String(replicaPort),
        "--replicaof",
        "127.0.0.1",
        String(primaryPort),
        ...common,
      ]),
    );
    const replica = await processes.connect(replicaPort);
    await vi.waitFor(
      async () =>
        expect(
          ((await replica.info("replication")) as string).includes("master_link_status:up"),
          "the replica did not sync",
        ).toBe(true),
      { timeout: 10_000, interval: 25 },
    );
    const sentinelPorts = [await freePort(), await freePort(), await freePort()];
    for (const [index, port] of sentinelPorts.entries()) {
      const config = join(directory, `sentinel-${index}.conf`);
      writeFileSync(
        config,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${directory}`,
          `sentinel monitor mymaster 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds mymaster ${sentinelDownAfterMs}`,
          "sentinel failover-timeout mymaster 10000",
          "",
        ].join("\n"),
      );
      await processes.start([config, "--sentinel"]);
    }
    const sentinels = await Promise.all(sentinelPorts.map((port) => processes.connect(port)));
    // A failover needs a majority of sentinels that know each other and the replica.
    await vi.waitFor(
      async () => {
        for (const sentinel of sentinels) {
          const replicas = (await sentinel.call("SENTINEL", "REPLICAS", "mymaster")) as unknown[];
          const others = (await sentinel.call("SENTINEL", "SENTINELS", "mymaster")) as unknown[];
          if (replicas.length !== 1 || others.length !== 2)
            throw new Error("the sentinels did not discover the replica and each other");
        }
      },
      { timeout: 15_000, interval: 25 },
    );
    const sentinel = sentinels[0]!;
    const primaryPortNow = async () => {
      const [, port] = (await sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")) as [string, string];
      return Number(port);
    };
    return {
      sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(","),
      master: "mymaster",
      sentinel,
      primaryPort: primaryPortNow,
      async killPrimary() {
        const port = await primaryPortNow();
        const server = servers.get(port);
        if (!server) throw new Error("the primary is not one of ours");
        server.kill("SIGKILL");
        await once(server, "exit");
        return port;
      },
      stop: () => processes.stop(),
    };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}
