// The mock's Anthropic Messages and Gemini generateContent sides, read as raw HTTP: the event
// sequence and shapes each format's SDK expects, each format's error shape, the mock options in
// the body as on the OpenAI side, and the prompt-cache bookkeeping. The SDKs themselves are run
// against these in packages/providers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockTokens } from "./index.ts";

const mock = createMockUpstream({ tokens: 3 });
let origin = "";

beforeAll(async () => {
  const { port } = await mock.listen(0);
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await mock.close();
});

async function post(path: string, body: unknown) {
  const response = await fetch(`${origin}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The `data:` payloads of an SSE body, parsed, with their `event:` names. */
function events(text: string): Array<{ event?: string; data: Record<string, unknown> }> {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as Record<string, unknown>;
      return event === undefined ? { data } : { event, data };
    });
}

const anthropicBody = { model: "claude-x", max_tokens: 100, messages: [{ role: "user", content: "Hello there!" }] };
const geminiBody = { contents: [{ role: "user", parts: [{ text: "Hello there!" }] }] };

describe("the Anthropic Messages side", () => {
  it("streams message_start, ping, the blocks, message_delta with stop_reason and usage, message_stop", async () => {
    const { status, text } = await post("/v1/messages", {
      ...anthropicBody,
      stream: true,
      mock: { textBeforeToolCalls: true, toolCalls: [{ name: "f", arguments: '{"a":1}' }] },
    });
    expect(status).toBe(200);
    const all = events(text);
    expect(all.every((entry) => entry.event === entry.data.type)).toBe(true);
    expect(all.map((entry) => entry.event)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      ...mockTokens(3).map(() => "content_block_delta"),
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(all.at(-2)?.data).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 7 },
    });
  });

  it("answers in Anthropic's error shape: a missing max_tokens, a bad mock option, a 529, a 429 with retry-after", async () => {
    const { max_tokens: _dropped, ...withoutMax } = anthropicBody;
    const missing = await post("/v1/messages", withoutMax);
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.text)).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    const badOption = await post("/v1/messages", { ...anthropicBody, mock: { tokens: -1 } });
    expect(badOption.status).toBe(400);
    expect(JSON.parse(badOption.text).error.message).toContain("mock.tokens");
    const overloaded = await post("/v1/messages", { ...anthropicBody, mock: { fail: { kind: "http", status: 529 } } });
    expect(overloaded.status).toBe(529);
    expect(JSON.parse(overloaded.text)).toEqual({
      type: "error",
      error: { type: "overloaded_error", message: "Mock upstream failure" },
    });
    const limited = await post("/v1/messages", {
      ...anthropicBody,
      mock: { fail: { kind: "http", status: 429, retryAfterSeconds: 9 } },
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("9");
    expect(JSON.parse(limited.text).error.type).toBe("rate_limit_error");
  });

  it("writes an error event mid-stream", async () => {
    const { text } = await post("/v1/messages", {
      ...anthropicBody,
      stream: true,
      mock: { fail: { kind: "in-stream-error", afterTokens: 1 } },
    });
    expect(events(text).at(-1)).toEqual({
      event: "error",
      data: { type: "error", error: { type: "api_error", message: "Mock upstream failure" } },
    });
  });

  it("reports a prompt prefix marked cache_control as written on its first call, read after", async () => {
    const body = {
      ...anthropicBody,
      system: [{ type: "text", text: "A long system prompt.", cache_control: { type: "ephemeral" } }],
    };
    const usage = async () => (JSON.parse((await post("/v1/messages", body)).text) as { usage: unknown }).usage;
    expect(await usage()).toEqual({
      input_tokens: 3,
      cache_creation_input_tokens: 6,
      cache_read_input_tokens: 0,
      output_tokens: 3,
    });
    expect(await usage()).toEqual({
      input_tokens: 3,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 6,
      output_tokens: 3,
    });
  });
});

describe("the Gemini side", () => {
  it("streams candidates as SSE (alt=sse), function calls whole with a thought signature on the first, finishReason last", async () => {
    const { status, text } = await post("/v1beta/models/gemini-x:streamGenerateContent?alt=sse", {
      ...geminiBody,
      mock: { toolCalls: [{ name: "f", arguments: '{"a":1}' }, { name: "g" }] },
    });
    expect(status).toBe(200);
    const chunks = events(text).map((entry) => entry.data as { candidates: Array<Record<string, unknown>> });
    expect(chunks.map((chunk) => (chunk.candidates[0]?.content as { parts: unknown[] }).parts)).toEqual([
      [{ functionCall: { name: "f", args: { a: 1 } }, thoughtSignature: expect.any(String) }],
      [{ functionCall: { name: "g", args: {} } }],
      [{ text: "" }],
    ]);
    expect(chunks.at(-1)?.candidates[0]?.finishReason).toBe("STOP");
    expect(chunks.at(-1)).toMatchObject({
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
      modelVersion: "gemini-x",
    });
  });

  it("answers generateContent in one body, and streams only as SSE", async () => {
    const whole = await post("/v1beta/models/gemini-x:generateContent", geminiBody);
    expect(JSON.parse(whole.text)).toMatchObject({
      candidates: [{ content: { role: "model", parts: [{ text: mockTokens(3).join("") }] }, finishReason: "STOP" }],
    });
    expect((await post("/v1beta/models/gemini-x:streamGenerateContent", geminiBody)).status).toBe(404);
  });

  it("answers in Google's error shape, a 429's delay as a RetryInfo detail", async () => {
    const limited = await post("/v1beta/models/gemini-x:generateContent", {
      ...geminiBody,
      mock: { fail: { kind: "http", status: 429, retryAfterSeconds: 4 } },
    });
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.text)).toEqual({
      error: {
        code: 429,
        message: "Mock upstream failure",
        status: "RESOURCE_EXHAUSTED",
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "4s" }],
      },
    });
    const empty = await post("/v1beta/models/gemini-x:generateContent", { contents: [] });
    expect(empty.status).toBe(400);
    expect(JSON.parse(empty.text).error.status).toBe("INVALID_ARGUMENT");
  });
});
