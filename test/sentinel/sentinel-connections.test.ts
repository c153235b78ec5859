// Every Redis connection the services make through the sentinels (all four roles of
// redis-client.ts, and their duplicates) follows a failover: of a crashed primary, even when the
// machine is busy, and a forced one (SENTINEL FAILOVER) at its announcement, while the old primary
// still answers (sentinel-failover.ts). With
// ioredis's failoverDetector a connection that was reconnecting when the sentinels announced the
// new primary ended for good (status "end"): under CPU load a third or more of 200 connections,
// and a gateway whose command connection, reply subscriber or relay is among them answers
// redis_unavailable until it is restarted.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRedisClient, type RedisConnection, type RedisRole } from "@switchboard/relay";
import { startRedisSentinel, type RedisSentinelSetup } from "../support/redis-sentinel.ts";

const roles: RedisRole[] = ["command", "relay", "subscriber", "blocking"];
const connectionCount = 200;
/** Made with duplicate(), as BullMQ makes its blocking connections. */
const duplicateCount = 20;
const reconnectTimeoutMs = 15_000;

let sentinel: RedisSentinelSetup;
let clients: RedisConnection[] = [];

// Each test fails the primary over once: a set-up of its own.
beforeEach(async () => {
  sentinel = await startRedisSentinel();
  clients = Array.from({ length: connectionCount }, (_, index) =>
    createRedisClient("redis://ignored:6379/0", roles[index % roles.length] as RedisRole, `failover-${index}`, {
      sentinels: sentinel.sentinels,
      sentinelMaster: sentinel.master,
    }),
  );
  clients.push(...clients.slice(0, duplicateCount).map((client) => (client as Redis).duplicate()));
  for (const client of clients) client.on("error", () => {});
  await vi.waitFor(
    () =>
      expect(
        clients.every((client) => client.status === "ready"),
        "the connections did not connect",
      ).toBe(true),
    { timeout: 15_000, interval: 25 },
  );
}, 60_000);
afterEach(async () => {
  for (const client of clients) client.disconnect();
  await sentinel?.stop();
});

/** Every connection is on the primary the sentinels name now, and the command ones can write there. */
async function expectAllOnThePrimary(): Promise<void> {
  const primary = await sentinel.primaryPort();
  expect(
    clients.filter((client) => client.status !== "ready" || (client as Redis).stream.remotePort !== primary),
  ).toEqual([]);
  const commands = clients.filter((_, index) => roles[index % roles.length] === "command");
  await Promise.all(
    commands.map(async (client, index) => expect(await client.set(`failover-${index}`, "1", "PX", 10_000)).toBe("OK")),
  );
}

/** Two processes that keep both cores busy: a reconnect then takes long enough to meet the failover. */
function busyCores(): ChildProcess[] {
  return [0, 1].map(() => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
}

/** Resolves with "ready" at the client's next ready, or "end" when it stops reconnecting. */
function nextReadyOrEnd(client: RedisConnection): Promise<"ready" | "end" | "timeout"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), reconnectTimeoutMs);
    client.once("ready", () => {
      clearTimeout(timer);
      resolve("ready");
    });
    client.once("end", () => {
      clearTimeout(timer);
      resolve("end");
    });
  });
}

describe("connections through Redis Sentinel", () => {
  it("every connection of every role is ready on the new primary after the old one crashed on a busy machine", async () => {
    const hogs = busyCores();
    try {
      // Registered before the kill: every connection is ready now, so its next ready is a reconnect.
      const outcomes = Promise.all(clients.map(nextReadyOrEnd));
      const before = await sentinel.killPrimary();
      await vi.waitFor(
        async () => expect((await sentinel.primaryPort()) !== before, "the sentinels did not fail over").toBe(true),
        { timeout: 15_000, interval: 25 },
      );
      const counts: Record<string, number> = {};
      for (const outcome of await outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
      expect(counts).toEqual({ ready: connectionCount + duplicateCount });
    } finally {
      for (const hog of hogs) hog.kill("SIGKILL");
      await Promise.all(
        hogs.map((hog) => (hog.exitCode === null && hog.signalCode === null ? once(hog, "exit") : undefined)),
      );
    }
    await expectAllOnThePrimary();
  }, 60_000);

  it("a forced failover moves every connection to the new primary at the announcement, before the old one is demoted", async () => {
    const before = await sentinel.primaryPort();
    const old = new Redis({ host: "127.0.0.1", port: before });
    try {
      expect(await sentinel.sentinel.call("SENTINEL", "FAILOVER", sentinel.master)).toBe("OK");
      await vi.waitFor(
        async () => expect((await sentinel.primaryPort()) !== before, "the sentinels did not fail over").toBe(true),
        { timeout: 15_000, interval: 25 },
      );
      const primary = await sentinel.primaryPort();
      await vi.waitFor(
        () =>
          expect(
            clients.every((client) => client.status === "ready" && (client as Redis).stream.remotePort === primary),
            "the connections did not move to the new primary",
          ).toBe(true),
        { timeout: reconnectTimeoutMs, interval: 25 },
      );
      // The sentinels demote the old primary (and close its connections) about 10 s later: the
      // connections moved on the +switch-master announcement, not because of that.
      expect(await old.info("replication")).toContain("role:master");
    } finally {
      old.disconnect();
    }
    await expectAllOnThePrimary();
  }, 60_000);
});
