// Concurrent streams through one ingress and one worker share relay messages (the worker writes
// everything of one event-loop turn for one ingress as one script and one message): every stream
// still arrives whole and in order, and a client that hangs up mid-stream stops its own upstream
// call without disturbing the streams it shared messages with.
import { Redis } from "ioredis";
import OpenAI from "openai";
import { describe, expect, vi } from "vitest";
import { mockTokens } from "@switchboard/mock-upstream";
import { decodeReplyMessage } from "@switchboard/protocol";
import { relayKeys } from "@switchboard/relay";
import { stackTest } from "../support/stack-test.ts";
import { streamTokens } from "../support/stream-tokens.ts";

const tokens = 40;

/** `recordsPerMessage`: requests per reply message, as a second sharded subscriber on the ingress's channel heard them. */
const it = stackTest("shared-batches", { mock: { tokens, tokenDelayMs: 10 } }).extend(
  "recordsPerMessage",
  { scope: "file" },
  async ({ stack }, { onCleanup }) => {
    const recordsPerMessage: number[] = [];
    const listener = new Redis(stack.redisUrl);
    onCleanup(() => listener.disconnect());
    listener.on("smessage", (_channel: string, message: string) =>
      recordsPerMessage.push(decodeReplyMessage(message).length),
    );
    const ingressId = String(stack.ingresses[0]!.readyLine.ingressId);
    await listener.ssubscribe(relayKeys(stack.prefix).replyChannel(ingressId));
    return recordsPerMessage;
  },
);

describe("relay messages shared by concurrent streams", () => {
  it("deliver every stream whole, and a hang-up mid-stream stops only that stream's upstream call", async ({
    stack,
    mock,
    recordsPerMessage,
  }) => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    mock.reset();
    const hangUp = new AbortController();
    const leaving = (async () => {
      const stream = await client.chat.completions.create(
        {
          model: "mock-model",
          messages: [{ role: "user", content: "leaving" }],
          stream: true,
          // Long enough that only the hang-up can end it.
          ...{ mock: { tag: "leaving", tokens: 3000 } },
        },
        { signal: hangUp.signal },
      );
      let received = 0;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content && ++received === 5) {
          hangUp.abort();
          break;
        }
      }
      return received;
    })();
    const staying = Array.from({ length: 30 }, (_, index) => streamTokens(client, `staying ${index}`));
    const [received, ...answers] = await Promise.all([leaving, ...staying]);
    expect(received).toBe(5);
    expect(answers.filter((pieces) => pieces.join("|") !== mockTokens(tokens).join("|"))).toEqual([]);
    await vi.waitFor(
      () => expect(mock.stats().recent.find((call) => call.tag === "leaving")?.abortedAt).toBeDefined(),
      { timeout: 10_000, interval: 25 },
    );
    expect(mock.stats().recent.find((call) => call.tag === "leaving")?.tokensSent).toBeLessThan(3000);
    // The streams did share messages: many requests' events reached the ingress together.
    expect(Math.max(...recordsPerMessage)).toBeGreaterThan(1);
    const records = recordsPerMessage.reduce((sum, count) => sum + count, 0);
    expect(recordsPerMessage.length).toBeLessThan(records);
  });
});
