// Killing the ingress's subscriber connection mid-stream loses nothing;
// the gap is read back from the request's log.
import OpenAI from "openai";
import { Redis } from "ioredis";
import { describe, expect, vi } from "vitest";
import { mockTokens } from "@switchboard/mock-upstream";
import { stackTest } from "../support/stack-test.ts";
import { streamsWithKills } from "../support/streams-with-kills.ts";

const it = stackTest("reconnect", { mock: { tokens: 60, tokenDelayMs: 5 } }).extend(
  "admin",
  { scope: "file" },
  ({ stack }, { onCleanup }) => {
    const admin = new Redis(stack.redisUrl);
    onCleanup(() => admin.disconnect());
    return admin;
  },
);

/**
 * Kill the ingress's subscriber connection. After a first kill, ioredis may still be reconnecting
 * and re-subscribing, so wait (up to 5 s) for a subscribed connection to exist.
 */
async function killSubscriber(admin: Redis, ingressId: string): Promise<number> {
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
  it("completes every stream intact when the subscriber connection is killed mid-stream, twice", async ({
    stack,
    admin,
  }) => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const ingressId = String(stack.ingresses[0]!.readyLine.ingressId);
    // The first stream kills the subscriber after its 10th and its 30th token.
    const { answers, kills } = await streamsWithKills(client, {
      streams: 20,
      killAfterTokens: [10, 30],
      kill: () => killSubscriber(admin, ingressId),
    });
    expect(kills).toBe(2);
    for (const pieces of answers) expect(pieces).toEqual(mockTokens(60));
  });
});
