// The queue-wait timer decides from the request's log, not from pub/sub alone. A worker that
// started a request in time, but whose events pub/sub did not bring (the ingress's subscriber was
// re-subscribing, as in a flake of test/cluster/cluster-faults.test.ts), must not see its request
// answered 503 queue_timeout; a request nobody started still is.
//
// The test is the worker here (a BullMQ worker on the stack's queue, relaying with the real
// RequestRelay), so that what pub/sub loses is certain: it publishes on a channel the ingress does
// not listen to, so its events reach the log only. The ingress's idle repair is set beyond the
// test's length, so the only thing that can read the log in time is the queue-wait check.
import OpenAI from "openai";
import { Redis } from "ioredis";
import { Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeDelta, encodeRelayEvent, jobCatalog, type ChatJob } from "@switchboard/protocol";
import { RelayBatcher, RequestRelay, defineRelayCommands, relayKeys } from "@switchboard/relay";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

const queueMaxWaitMs = 1500;
let stack: Stack;
let relayRedis: Redis;
let client: OpenAI;

beforeAll(async () => {
  // No worker process and no upstream: the ingress only needs to know the model.
  stack = await startStack("queue-wait", {
    workers: 0,
    routes: routesTo("http://127.0.0.1:9/v1"),
    ingressEnv: { QUEUE_MAX_WAIT_MS: String(queueMaxWaitMs), RELAY_IDLE_REPAIR_MS: "600000" },
  });
  relayRedis = new Redis(stack.redisUrl);
  defineRelayCommands(relayRedis);
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  relayRedis?.disconnect();
  await stack?.stop();
});

/** A worker that starts every job and relays a whole answer, none of which the ingress hears live. */
function unheardWorker(startedInTime: boolean[]): { worker: Worker<ChatJob>; close: () => Promise<void> } {
  const keys = relayKeys(stack.prefix);
  const connection = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker<ChatJob>(
    jobCatalog.chat.queue,
    async (job) => {
      // The real worker's rule: a first attempt starts only before the start-by time.
      startedInTime.push(Date.now() <= job.data.startBy!);
      const relay = new RequestRelay({
        batcher: new RelayBatcher({ redis: relayRedis, logTtlMs: 60_000 }),
        keys,
        requestId: job.data.requestId,
        ingressId: job.data.ingressId,
        replyChannel: `${job.data.replyChannel}:unheard`,
        attempt: 1,
        onNoListener: () => {},
        noListenerGraceMs: 60_000,
      });
      const listeners = [
        await relay.emit(encodeRelayEvent({ kind: "started", worker: "test-worker" })),
        await relay.emit(encodeDelta({ content: "Hello" })),
        await relay.emit(encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null })),
      ];
      relay.close();
      return listeners;
    },
    { connection, prefix: keys.queuePrefix },
  );
  return {
    worker,
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}

describe("the queue-wait timer", () => {
  it("does not answer queue_timeout when the worker started in time but its events were lost from pub/sub", async () => {
    const startedInTime: boolean[] = [];
    const { worker, close } = unheardWorker(startedInTime);
    const listenersOf = new Promise<number[]>((resolve) =>
      worker.once("completed", (_job, result: number[]) => resolve(result)),
    );
    try {
      const startedAt = Date.now();
      const stream = await client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "unheard" }],
        stream: true,
      });
      const pieces: string[] = [];
      for await (const chunk of stream)
        if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
      expect(pieces).toEqual(["Hello"]);
      expect(startedInTime).toEqual([true]);
      // Nobody heard any event live: the answer came from the log, read when the queue wait ran out.
      expect(await listenersOf).toEqual([0, 0, 0]);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(queueMaxWaitMs);
    } finally {
      await close();
    }
  });

  it("still answers 503 queue_timeout at the start-by time when no worker started the request", async () => {
    const startedAt = Date.now();
    const outcome = await client.chat.completions
      .create({ model: "mock-model", messages: [{ role: "user", content: "nobody" }] })
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(OpenAI.APIError);
    expect((outcome as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((outcome as InstanceType<typeof OpenAI.APIError>).code).toBe("queue_timeout");
    const elapsedMs = Date.now() - startedAt;
    expect(elapsedMs).toBeGreaterThanOrEqual(queueMaxWaitMs);
    // Soon after, not at the request deadline (REQUEST_TIMEOUT_MS, 60 s): one log read is all it adds.
    expect(elapsedMs).toBeLessThan(queueMaxWaitMs + 5000);
  });
});
