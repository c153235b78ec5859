// The whole stack on a real 3-master Redis Cluster. A request's log lives on the shard of its
// ingress's reply channel (hash tag {ingressId}), where the relay script publishes with SPUBLISH and
// the ingress's one sharded subscriber listens; the queue lives on one shard (hash tag {prefix});
// cancellation and readiness work across nodes.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.ts";
import { routesTo, startStack, type Stack } from "../support/stack.ts";
import { streamTokens } from "../support/stream-tokens.ts";
import { relayKeys } from "@switchboard/relay";

let cluster: RedisCluster;
let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  cluster = await startRedisCluster();
  mock = createMockUpstream({ tokens: 20, tokenDelayMs: 5 });
  const { url } = await mock.listen(0);
  stack = await startStack("cluster", {
    redisUrl: cluster.url,
    env: { REDIS_CLUSTER: "true" },
    routes: routesTo(url),
    ingresses: 2,
    workers: 2,
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
  await cluster?.stop();
});

/** Keys matching a pattern on each node (a plain connection per node sees only its own keys). */
async function keysPerNode(pattern: string): Promise<string[][]> {
  return Promise.all(cluster.nodes.map((node) => node.keys(pattern)));
}

describe("on a Redis Cluster", () => {
  it("is ready: the workers' heartbeats are counted across the cluster", async () => {
    const response = await fetch(stack.urls[0]!.replace(/\/v1$/, "/ready"));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ready: true, redis: true, workers: 2 });
  });

  it("streams 100 concurrent requests through two ingresses and two workers, complete and in order", async () => {
    const clients = stack.urls.map((url) => new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 }));
    mock.reset();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, index) => streamTokens(clients[index % 2]!, `request ${index}`)),
    );
    const expected = mockTokens(20);
    expect(answers.filter((pieces) => JSON.stringify(pieces) !== JSON.stringify(expected))).toEqual([]);
    expect(mock.stats().requests).toBe(100);
  });

  it("kept each ingress's request logs on the shard of its reply channel, and the queue on one shard", async () => {
    const logs = await keysPerNode(`${stack.prefix}:req:*:log`);
    expect(logs.flat().length).toBeGreaterThanOrEqual(100);
    for (const ingress of stack.ingresses) {
      const tag = `{${String(ingress.readyLine.ingressId)}}`;
      const perNode = logs.map((keys) => keys.filter((key) => key.includes(tag)).length);
      expect(perNode.filter((count) => count > 0)).toHaveLength(1);
      expect(perNode.reduce((sum, count) => sum + count)).toBeGreaterThanOrEqual(50);
    }
    const queueKeys = await keysPerNode(`{${stack.prefix}}:chat:*`);
    expect(queueKeys.filter((keys) => keys.length > 0)).toHaveLength(1);
  });

  it("delivered replies through one sharded subscriber per ingress, on the node that holds its requests' logs", async () => {
    const keys = relayKeys(stack.prefix);
    for (const ingress of stack.ingresses) {
      const ingressId = String(ingress.readyLine.ingressId);
      const name = `switchboard:${ingressId}:replies`;
      const lists = await Promise.all(cluster.nodes.map((node) => node.client("LIST") as Promise<string>));
      const subscribedOn = lists.flatMap((list, index) =>
        list.split("\n").some((line) => line.includes(name) && / ssub=1 /.test(line)) ? [index] : [],
      );
      expect(subscribedOn).toHaveLength(1);
      const node = cluster.nodes[subscribedOn[0]!]!;
      expect(await node.keys(keys.log(ingressId, "*"))).not.toHaveLength(0);
      expect(await node.pubsub("SHARDNUMSUB", keys.replyChannel(ingressId))).toEqual([keys.replyChannel(ingressId), 1]);
    }
  });

  it("keeps streams that outlast the no-listener grace alive: listeners are counted on every node", async () => {
    // Streams longer than RELAY_NO_LISTENER_GRACE_MS: any SPUBLISH answered with 0 would have to be
    // cleared by the cluster-wide PUBSUB SHARDNUMSUB instead of aborting the request.
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const slow = { mock: { tokens: 30, tokenDelayMs: 50 } };
    const answers = await Promise.all(
      Array.from({ length: 6 }, async (_, index) => {
        const stream = await client.chat.completions.create({
          model: "mock-model",
          messages: [{ role: "user", content: `slow ${index}` }],
          stream: true,
          ...slow,
        });
        const pieces: string[] = [];
        for await (const chunk of stream)
          if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
        return pieces.length;
      }),
    );
    expect(answers).toEqual(Array.from({ length: 6 }, () => 30));
  });

  it("cancels the upstream call when the client goes away (the cancel broadcast reaches the worker)", async () => {
    mock.reset();
    const controller = new AbortController();
    const client = new OpenAI({ baseURL: stack.urls[1], apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create(
      {
        model: "mock-model",
        messages: [{ role: "user", content: "cancel me" }],
        stream: true,
        ...{ mock: { tokens: 500, tokenDelayMs: 20, tag: "cancel" } },
      },
      { signal: controller.signal },
    );
    let received = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content && ++received === 3) {
        controller.abort();
        break;
      }
    }
    expect(received).toBe(3);
    await vi.waitFor(
      () =>
        expect(
          mock.stats().recent.some((call) => call.tag === "cancel" && call.abortedAt !== undefined),
          "the upstream call was not aborted",
        ).toBe(true),
      { timeout: 10_000, interval: 25 },
    );
    const call = mock.stats().recent.find((entry) => entry.tag === "cancel")!;
    expect(call.tokensSent).toBeLessThan(500);
  });
});
