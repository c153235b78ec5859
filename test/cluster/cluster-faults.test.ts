// The fault checks of the request path, on a real 3-master Redis Cluster.
//  - the ingress's reply subscriber is killed mid-stream (ioredis re-subscribes on a node it picks
//    at random): nothing is lost, the gaps are read back from the requests' logs;
//  - a worker is SIGKILLed before its first token: another worker answers the request;
//  - a worker is SIGKILLed after its first token: the client gets an explicit error;
//  - an ingress is SIGKILLed mid-stream: the worker finds no listener on any node and stops the
//    upstream call.
import OpenAI from "openai";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.ts";
import { routesTo, startStack, type Stack } from "../support/stack.ts";
import { streamsWithKills } from "../support/streams-with-kills.ts";

let cluster: RedisCluster;
let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  cluster = await startRedisCluster();
  mock = createMockUpstream({ tokens: 60, tokenDelayMs: 5 });
  const { url } = await mock.listen(0);
  stack = await startStack("cluster-faults", {
    redisUrl: cluster.url,
    env: { REDIS_CLUSTER: "true" },
    routes: routesTo(url),
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
  await cluster?.stop();
});

/**
 * CLIENT KILL the ingress's subscribed connection, on whichever node it is. Right after an earlier
 * kill ioredis may still be re-subscribing on a new node, so wait (up to 5 s) for one to exist.
 */
async function killSubscriber(ingressId: string): Promise<number> {
  let found: { node: Redis; id: string } | undefined;
  await vi.waitFor(
    async () => {
      for (const node of cluster.nodes) {
        const clients = (await node.client("LIST")) as string;
        const line = clients
          .split("\n")
          .find((entry) => entry.includes(`switchboard:${ingressId}:replies `) && / ssub=1 /.test(entry));
        const id = line?.match(/^id=(\d+)/)?.[1];
        if (id) found = { node, id };
      }
      // vi.waitFor retries only on a throw: a false would end the wait with no connection found.
      expect(found, "the ingress's sharded subscriber is not connected").toBeDefined();
    },
    { timeout: 5000, interval: 25 },
  );
  return (await found!.node.client("KILL", "ID", found!.id)) as number;
}

function callTagged(tag: string) {
  return mock.stats().recent.filter((call) => call.tag === tag);
}

async function currentWorkerKilledAndReplaced(): Promise<void> {
  const alive = stack.workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);
  expect(alive).toHaveLength(1);
  await alive[0]!.stop("SIGKILL");
  await stack.startWorker();
}

describe("faults on a Redis Cluster", () => {
  it("completes every stream intact when the reply subscriber is killed mid-stream, twice", async () => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const ingressId = String(stack.ingresses[0]!.readyLine.ingressId);
    const { answers, kills } = await streamsWithKills(client, {
      streams: 20,
      killAfterTokens: [10, 30],
      kill: () => killSubscriber(ingressId),
    });
    expect(kills).toBe(2);
    for (const pieces of answers) expect(pieces).toEqual(mockTokens(60));
  });

  it("answers a request whose worker was killed before its first token, through another worker", async () => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const streaming = client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "before" }],
      stream: true,
      ...{ mock: { tokens: 10, firstTokenDelayMs: 1500, tag: "before" } },
    });
    await vi.waitFor(
      () => expect(callTagged("before").length === 1, "the worker did not call the upstream").toBe(true),
      { timeout: 10_000, interval: 25 },
    );
    await currentWorkerKilledAndReplaced();
    const pieces: string[] = [];
    for await (const chunk of await streaming)
      if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
    expect(pieces).toEqual(mockTokens(10));
    expect(callTagged("before")).toHaveLength(2);
  });

  it("ends a request whose worker was killed after its first token with an explicit error", async () => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "after" }],
      stream: true,
      ...{ mock: { tokens: 200, tokenDelayMs: 50, tag: "after" } },
    });
    const pieces: string[] = [];
    const outcome = await (async () => {
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta.content;
        if (!content) continue;
        pieces.push(content);
        if (pieces.length === 3) await currentWorkerKilledAndReplaced();
      }
      return undefined;
    })().catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(OpenAI.APIError);
    expect(String((outcome as Error).message)).toMatch(/cannot be resumed/);
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    expect(pieces).toEqual(mockTokens(200).slice(0, pieces.length));
  });

  it("stops the upstream call when the owning ingress dies mid-stream", async () => {
    const ingress = await stack.startIngress();
    const client = new OpenAI({ baseURL: stack.urls.at(-1), apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "orphan" }],
      stream: true,
      ...{ mock: { tokens: 1000, tokenDelayMs: 20, tag: "orphan" } },
    });
    let received = 0;
    await (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content && ++received === 3) await ingress.stop("SIGKILL");
      }
    })().catch(() => {}); // the connection to the killed ingress breaks: expected
    expect(received).toBeGreaterThanOrEqual(3);
    await vi.waitFor(
      () =>
        expect(
          callTagged("orphan")[0]?.abortedAt !== undefined,
          "the worker did not stop the orphaned upstream call",
        ).toBe(true),
      { timeout: 15_000, interval: 25 },
    );
    expect(callTagged("orphan")[0]!.tokensSent).toBeLessThan(1000);
  });
});
