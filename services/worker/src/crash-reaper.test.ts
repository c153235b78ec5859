// The crash reaper against a real Redis and real BullMQ workers: a worker whose channel has no
// subscriber is dead, and the jobs BullMQ handed to it (to any of its consumers) lose their lock,
// while a live worker's job keeps its own.
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { jobCatalog } from "@switchboard/protocol";
import { relayKeys } from "@switchboard/relay";
import { createLogger } from "@switchboard/telemetry";
import { CrashReaper } from "./crash-reaper.ts";
import { removeKeys } from "@switchboard/testing";

const queueName = jobCatalog.chat.queue;

describe("CrashReaper", () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("frees the locks of the jobs a dead worker's consumers took, and only those", async () => {
    const url = inject("redisUrl");
    const keys = relayKeys(`sbtest-reaper-${process.pid}-${Date.now()}`);
    cleanups.push(() => removeKeys(url, keys.prefix));
    const redis = new Redis(url);
    cleanups.push(() => redis.disconnect());
    const queue = new Queue(queueName, {
      connection: new Redis(url, { maxRetriesPerRequest: null }),
      prefix: keys.queuePrefix,
    });
    cleanups.push(() => queue.close());

    // Each consumer takes one job and holds it; none renews its lock or checks for stalls meanwhile.
    const release: Array<() => void> = [];
    const consume = async (name: string): Promise<string> => {
      const taken = Promise.withResolvers<string>();
      const worker = new Worker(
        queueName,
        (job) => {
          taken.resolve(job.id as string);
          return new Promise<void>((resolve) => release.push(resolve));
        },
        {
          connection: new Redis(url, { maxRetriesPerRequest: null }),
          prefix: keys.queuePrefix,
          name,
          concurrency: 1,
          lockDuration: 60_000,
          stalledInterval: 60_000,
        },
      );
      cleanups.push(async () => {
        for (const resolve of release) resolve();
        await worker.close(true);
      });
      return taken.promise;
    };
    await queue.addBulk([1, 2, 3].map((n) => ({ name: queueName, data: { n } })));
    // The dead process had two consumers (queue-consumers.ts names the second `<id>-1`).
    const deadJobs = [await consume("worker-deadbeef"), await consume("worker-deadbeef-1")];
    const liveJob = await consume("worker-livelive");
    const lock = (jobId: string) => redis.exists(`${keys.queuePrefix}:${queueName}:${jobId}:lock`);
    expect(await Promise.all([...deadJobs, liveJob].map(lock))).toEqual([1, 1, 1]);

    // Both are in the presence set; only the live one's process still listens on its channel.
    await redis.zadd(keys.workers, Date.now(), "worker-deadbeef", Date.now(), "worker-livelive");
    const liveListener = new Redis(url);
    cleanups.push(() => liveListener.disconnect());
    await liveListener.subscribe(keys.workerChannel("worker-livelive"));

    const reaper = new CrashReaper({
      redis,
      keys,
      queueName,
      workerId: "worker-reaper00",
      intervalMs: 50,
      graceMs: 100,
      log: createLogger("worker", "error"),
    });
    cleanups.push(() => reaper.close());
    await vi.waitFor(
      async () =>
        expect(
          (await redis.zscore(keys.workers, "worker-deadbeef")) === null,
          "the dead worker left the presence set",
        ).toBe(true),
      { timeout: 5000, interval: 25 },
    );

    expect(await Promise.all(deadJobs.map(lock))).toEqual([0, 0]);
    expect(await lock(liveJob)).toBe(1);
    expect(await redis.zscore(keys.workers, "worker-livelive")).not.toBeNull();
  });
});
