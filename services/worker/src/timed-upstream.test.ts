// The two clocks against a real upstream (the mock, through the openai provider): they cut a
// stream whose first token is late, never a non-streamed call, whose one answer legitimately comes
// only when all of it is written; that call is bounded by the timeoutMs passed down instead.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockText, type MockUpstream } from "@switchboard/mock-upstream";
import { createOpenAIProvider, type Provider, type UpstreamChunk } from "@switchboard/providers";
import { timedUpstream } from "./timed-upstream.ts";

let mock: MockUpstream;
let provider: Provider;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 4 });
  const { url } = await mock.listen(0);
  provider = createOpenAIProvider({ name: "mock", apiKey: "k", baseUrl: url, timeoutMs: 10_000 });
});
afterAll(async () => {
  await mock?.close();
});

const firstTokenTimeoutMs = 100;

function attempt(stream: boolean, mockOptions: object, timeoutMs?: number): AsyncIterable<UpstreamChunk> {
  return timedUpstream({
    provider,
    body: { messages: [{ role: "user", content: "Hello" }], mock: mockOptions },
    model: "mock-model",
    signal: new AbortController().signal,
    stream,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    firstTokenTimeoutMs,
    idleTimeoutMs: firstTokenTimeoutMs,
  });
}

async function all(chunks: AsyncIterable<UpstreamChunk>): Promise<UpstreamChunk[]> {
  const out: UpstreamChunk[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

describe("timedUpstream", () => {
  it("cuts a stream whose first token comes later than firstTokenTimeoutMs", async () => {
    await expect(all(attempt(true, { firstTokenDelayMs: 4 * firstTokenTimeoutMs }))).rejects.toMatchObject({
      code: "upstream_timeout",
    });
  });

  it("does not cut a non-streamed call that takes longer than firstTokenTimeoutMs", async () => {
    const started = Date.now();
    const chunks = await all(attempt(false, { firstTokenDelayMs: 4 * firstTokenTimeoutMs }, 10_000));
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * firstTokenTimeoutMs - 5);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ delta: { content: mockText(4) }, finishReason: "stop", model: "mock-model" });
  });

  it("bounds a non-streamed call that never answers by its timeoutMs", async () => {
    await expect(all(attempt(false, { fail: { kind: "never-respond" } }, 300))).rejects.toMatchObject({
      code: "upstream_timeout",
    });
  });
});
