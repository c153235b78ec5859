// Killing the ingress's subscriber connection mid-stream loses nothing;
// the gap is read back from the request's log.
import OpenAI from "openai";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { routesTo, startStack, type Stack } from "../support/stack.ts";
import { streamsWithKills } from "../support/streams-with-kills.ts";

let mock: MockUpstream;
let stack: Stack;
let admin: Redis;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 60, tokenDelayMs: 5 });
  const { url } = await mock.listen(0);
  stack = await startStack("reconnect", { routes: routesTo(url) });
  admin = new Redis(stack.redisUrl);
});
afterAll(async () => {
  admin?.disconnect();
  await stack?.stop();
  await mock?.close();
});

/**
 * Kill the ingress's subscriber connection. After a first kill, ioredis may still be reconnecting
 * and re-subscribing, so wait (up to 5 s) for a subscribed connection to exist.
 */
async function killSubscriber(ingressId: string): Promise<number> {
  let id: string | undefined;
  await vi.waitFor(
    async () => {
      const clients = (await admin.client("LIST")) as string;
      const line = clients
        .split("\n")
        .find((entry) => entry.includes(` name=switchboard:${ingressId}:replies `) && / ssub=[1-9]/.test(entry));
      id = line?.match(/^id=(\d+)/)?.[1];
      expect(id, "a subscribed reply connection").toBeDefined();
    },
    { timeout: 5000, interval: 25 },
  );
  return (await admin.client("KILL", "ID", id!)) as number;
}

describe("subscriber reconnect", () => {
  it("completes every stream intact when the subscriber connection is killed mid-stream, twice", async () => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const ingressId = String(stack.ingresses[0]!.readyLine.ingressId);
    // The first stream kills the subscriber after its 10th and its 30th token.
    const { answers, kills } = await streamsWithKills(client, {
      streams: 20,
      killAfterTokens: [10, 30],
      kill: () => killSubscriber(ingressId),
    });
    expect(kills).toBe(2);
    for (const pieces of answers) expect(pieces).toEqual(mockTokens(60));
  });
});
