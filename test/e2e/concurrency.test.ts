// Many concurrent streams, and several ingress and worker processes,
// lose, duplicate or reorder nothing.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { routesTo, startStack, type Stack } from "../support/stack.ts";
import { streamTokens } from "../support/stream-tokens.ts";

let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 20, tokenDelayMs: 5 });
  const { url } = await mock.listen(0);
  stack = await startStack("concurrency", {
    routes: routesTo(url),
    ingresses: 2,
    workers: 2,
    workerEnv: { WORKER_CONCURRENCY: "150" },
  });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

describe("concurrency", () => {
  it("delivers 200 concurrent streams complete and in order", async () => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, index) => streamTokens(client, `request ${index}`)),
    );
    const expected = mockTokens(20);
    const wrong = answers.filter((pieces) => JSON.stringify(pieces) !== JSON.stringify(expected));
    expect(wrong).toEqual([]);
  });

  it("completes requests through either of two ingresses, whichever of two workers takes them", async () => {
    const clients = stack.urls.map((url) => new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 }));
    expect(clients).toHaveLength(2);
    mock.reset();
    // 300 requests at once exceed one worker's concurrency (150): both workers must take some.
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, index) => streamTokens(clients[index % 2]!, `request ${index}`)),
    );
    expect(answers.every((pieces) => pieces.join("") === mockTokens(20).join(""))).toBe(true);
    expect(mock.stats().requests).toBe(300);
  });
});
