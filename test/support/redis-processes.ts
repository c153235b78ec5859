// The private redis-server processes of one test file (a cluster, a sentinel set-up), with their
// inspection connections and a scratch directory: started here, stopped by the PIDs started here.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnRedisServer } from "@switchboard/testing";
import { Redis } from "ioredis";

export class RedisProcesses {
  readonly directory: string;
  private readonly servers: ChildProcess[] = [];
  private readonly clients: Redis[] = [];

  constructor(label: string) {
    this.directory = mkdtempSync(join(tmpdir(), `switchboard-${label}-`));
  }

  async start(args: string[]): Promise<ChildProcess> {
    const server = await spawnRedisServer(args);
    this.servers.push(server);
    return server;
  }

  /** A plain connection to one of them, closed by stop(). */
  async connect(port: number): Promise<Redis> {
    const client = new Redis({ port, host: "127.0.0.1", retryStrategy: (times) => Math.min(20 * times, 200) });
    client.on("error", () => {});
    this.clients.push(client);
    await client.ping();
    return client;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    await Promise.all(
      this.servers.map(async (server) => {
        if (server.exitCode !== null || server.signalCode !== null) return;
        server.kill("SIGKILL");
        await once(server, "exit");
      }),
    );
    rmSync(this.directory, { recursive: true, force: true });
  }
}
