// A failed job holds its request's body (personal data): it must not stay in Redis for ever. BullMQ
// trims failed jobs past their age only when a later job fails, so the last failures of a quiet
// deployment would stay; the worker gives each failed job's hash an expiry of its own (the age of
// jobCatalog.chat.keepFailed). A job the worker cannot run (here: one put on the queue by hand, not
// by an ingress, and missing most of its fields) fails, and its hash expires within that age.
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { jobCatalog } from "@switchboard/protocol";
import { relayKeys } from "@switchboard/relay";
import { startStack, type Stack } from "../support/stack.ts";

let stack: Stack;
let queue: Queue;
let redis: Redis;

beforeAll(async () => {
  stack = await startStack("failed-jobs", { workers: 1 });
  const prefix = relayKeys(stack.prefix).queuePrefix;
  queue = new Queue(jobCatalog.chat.queue, { connection: { url: stack.redisUrl }, prefix });
  redis = new Redis(stack.redisUrl);
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await stack?.stop();
});

it("gives a failed job's hash, which holds the request's body, an expiry of keepFailed's age", async () => {
  const body = { model: "switchboard-sim", messages: [{ role: "user", content: "kept only for a while" }] };
  const added: Job = await queue.add(
    jobCatalog.chat.name,
    { requestId: "malformed-job", model: "switchboard-sim", body },
    { jobId: "malformed-job", attempts: 1, removeOnFail: jobCatalog.chat.keepFailed },
  );
  const jobKey = `${relayKeys(stack.prefix).queuePrefix}:${jobCatalog.chat.queue}:${added.id}`;
  await vi.waitFor(async () => expect(await queue.getJobState(added.id as string)).toBe("failed"), {
    timeout: 10_000,
  });
  await vi.waitFor(async () => {
    const ttl = await redis.pttl(jobKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(jobCatalog.chat.keepFailed.age * 1000);
  });
  // Still there for inspection meanwhile, body included.
  expect(await redis.hget(jobKey, "data")).toContain("kept only for a while");
});
