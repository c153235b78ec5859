// A worker whose reply channel has no listener (the owning ingress is gone, or its subscriber is
// still reconnecting after a Redis failover) stops the upstream call, and writes an explicit end
// into the request's log: a subscriber that was only reconnecting reads it there and ends the
// request with an error instead of waiting for its deadline. The test enqueues a job whose reply
// channel nobody listens to, as an ingress that vanished would leave it.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { decodeRelayEvent, jobCatalog, type ChatJob } from "@switchboard/protocol";
import { relayKeys } from "@switchboard/relay";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

let mock: MockUpstream;
let stack: Stack;
let redis: Redis;
let queue: Queue<ChatJob>;

beforeAll(async () => {
  // A long answer (200 tokens, 20 ms apart): the worker is mid-stream when it gives up.
  mock = createMockUpstream({ tokens: 200, tokenDelayMs: 20 });
  const { url } = await mock.listen(0);
  stack = await startStack("no-listener", {
    ingresses: 0,
    workers: 1,
    routes: routesTo(url),
    workerEnv: { RELAY_NO_LISTENER_GRACE_MS: "200" },
  });
  redis = new Redis(stack.redisUrl);
  queue = new Queue<ChatJob>(jobCatalog.chat.queue, {
    connection: new Redis(stack.redisUrl, { maxRetriesPerRequest: null }),
    prefix: relayKeys(stack.prefix).queuePrefix,
  });
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await stack?.stop();
  await mock?.close();
});

describe("a reply channel with no listener", () => {
  it("closes the upstream call and ends the request's log with an explicit error", async () => {
    const keys = relayKeys(stack.prefix);
    const requestId = `nolistener${Date.now()}`;
    const now = Date.now();
    const job: ChatJob = {
      requestId,
      model: "mock-model",
      request: {
        model: "mock-model",
        messages: [{ role: "user", content: "Is anyone there?" }],
        stream: true,
        mock: { tag: requestId },
      },
      ingressId: "ingress-that-is-gone",
      replyChannel: keys.replyChannel("ingress-that-is-gone"),
      deadlineAt: now + 60_000,
      enqueuedAt: now,
      startBy: now + 10_000,
    };
    await queue.add(jobCatalog.chat.name, job, { jobId: requestId });

    const frames = async () =>
      ((await redis.xrange(keys.log("ingress-that-is-gone", requestId), "-", "+")) as Array<[string, string[]]>).map(
        ([, fields]) => fields[1] as string,
      );
    await vi.waitFor(
      async () =>
        expect(
          (await frames()).some((frame) => frame.startsWith("e")),
          "an error event in the request's log",
        ).toBe(true),
      { timeout: 10_000, interval: 25 },
    );
    const events = (await frames()).map(decodeRelayEvent);
    expect(events[0]?.kind).toBe("started");
    expect(events.at(-1)).toMatchObject({ kind: "error", code: "redis_unavailable" });

    await vi.waitFor(
      () =>
        expect(
          mock.stats().recent.some((call) => call.tag === requestId && call.abortedAt !== undefined),
          "the upstream call closed",
        ).toBe(true),
      { timeout: 5000, interval: 25 },
    );
    const call = mock.stats().recent.find((record) => record.tag === requestId);
    expect(call?.tokensSent).toBeLessThan(200);
  });
});
