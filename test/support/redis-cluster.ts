// A private 3-master Redis Cluster on loopback for one test file: three `redis-server
// --cluster-enabled yes` processes on free ports, joined by `redis-cli --cluster create`, ready
// once every node reports cluster_state:ok. Stopped by the PIDs it started, never by name.
import { vi } from "vitest";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { RedisProcesses } from "./redis-processes.ts";
import { freePort } from "@switchboard/testing";

const run = promisify(execFile);

export interface RedisCluster {
  ports: number[];
  /** A seed URL for the services (REDIS_URL with REDIS_CLUSTER=true). */
  url: string;
  /** One plain (non-cluster) connection per node, for inspection: CLIENT LIST, KEYS, CLUSTER INFO. */
  nodes: Redis[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const processes = new RedisProcesses("cluster");
  const nodes: Redis[] = [];
  const stop = () => processes.stop();
  try {
    const ports = await clusterPorts(masters);
    for (const port of ports) {
      await processes.start([
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(processes.directory, `nodes-${port}.conf`),
        "--cluster-node-timeout",
        "5000",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        processes.directory,
      ]);
    }
    for (const port of ports) nodes.push(await processes.connect(port));
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await vi.waitFor(
      async () => {
        const infos = await Promise.all(nodes.map((node) => node.cluster("INFO") as Promise<string>));
        const ready = infos.every(
          (info) => info.includes("cluster_state:ok") && info.includes(`cluster_known_nodes:${masters}`),
        );
        if (!ready) throw new Error("the cluster did not come up");
      },
      { timeout: 20_000, interval: 25 },
    );
    return { ports, url: `redis://127.0.0.1:${ports[0]}`, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Free ports P whose cluster bus port P + 10000 is free too. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort(0);
    if (port + 10_000 > 65_535 || ports.includes(port)) continue;
    if (
      await freePort(port + 10_000).then(
        () => true,
        () => false,
      )
    )
      ports.push(port);
  }
  return ports;
}
