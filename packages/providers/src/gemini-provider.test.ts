// The gemini provider through the official @google/genai SDK against the real mock upstream (its
// Gemini side): text, whole function calls as indexed tool-call deltas, the history mapping, the
// thought signature round trip through the tool call id, usage, and the same GatewayErrors the
// openai provider gives for the same failures.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockText } from "@switchboard/mock-upstream";
import { createGeminiProvider } from "./gemini-provider.ts";
import { thoughtSignatureOf } from "./gemini-tool-ids.ts";
import {
  abortAfterFirstChunk,
  receivedBody,
  run,
  textOf,
  toolCallsOf,
  toolHistory,
  weatherTool,
} from "./native-provider-test-support.ts";
import type { Provider } from "./provider.ts";

const mock = createMockUpstream({ tokens: 5 });
let provider: Provider;
let baseUrl = "";

beforeAll(async () => {
  const { port } = await mock.listen(0);
  baseUrl = `http://127.0.0.1:${port}`;
  provider = createGeminiProvider({ name: "gemini", apiKey: "gemini-test-key", baseUrl, timeoutMs: 5000 });
});

afterAll(async () => {
  await mock.close();
});

const hello = [
  { role: "system", content: "You are a voice agent." },
  { role: "user", content: "Hello there!" },
];

function seqOf(tag: string): number {
  const record = mock.stats().recent.find((entry) => entry.tag === tag);
  if (!record) throw new Error(`no call tagged ${tag}`);
  return record.seq;
}

describe("the gemini provider, streamed", () => {
  it("streams the text, then stop and the usage, the model on the first chunk", async () => {
    const { chunks, error } = await run(provider, { messages: hello, mock: { tag: "g-text" } }, { model: "gemini-x" });
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe(mockText(5));
    expect(chunks[0]?.model).toBe("gemini-x");
    expect(chunks.at(-1)).toEqual({
      finishReason: "stop",
      usage: {
        prompt_tokens: 9,
        completion_tokens: 5,
        total_tokens: 14,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    const sent = receivedBody(mock, "g-text");
    expect(sent.systemInstruction).toEqual({ parts: [{ text: "You are a voice agent." }] });
    expect(sent.contents).toEqual([{ role: "user", parts: [{ text: "Hello there!" }] }]);
    const stats = mock.stats().recent.find((entry) => entry.tag === "g-text");
    expect(stats?.model).toBe("gemini-x");
    expect(stats?.stream).toBe(true);
  });

  it("yields a whole function call as one tool-call delta with index 0 and a generated id", async () => {
    const { chunks } = await run(provider, {
      messages: hello,
      tools: [weatherTool],
      mock: { toolCalls: [{ name: "get_weather", arguments: '{"city":"Paris"}' }] },
    });
    const deltas = chunks.filter((chunk) => chunk.delta?.tool_calls);
    expect(deltas).toHaveLength(1);
    expect(deltas[0]?.delta?.tool_calls).toEqual([
      {
        index: 0,
        id: expect.stringMatching(/^call_[0-9a-f]{16}/),
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Paris"}' },
      },
    ]);
    expect(chunks.at(-1)?.finishReason).toBe("tool_calls");
  });

  it("numbers two parallel calls 0 and 1, each with its own id", async () => {
    const { chunks } = await run(provider, {
      messages: hello,
      tools: [weatherTool],
      mock: {
        toolCalls: [
          { name: "get_weather", arguments: '{"city":"Paris"}' },
          { name: "get_time", arguments: '{"zone":"CET"}' },
        ],
      },
    });
    const indexes = chunks.flatMap((chunk) => chunk.delta?.tool_calls ?? []).map((call) => call.index);
    expect(indexes).toEqual([0, 1]);
    const calls = toolCallsOf(chunks);
    expect(calls.map((call) => [call.name, call.arguments])).toEqual([
      ["get_weather", '{"city":"Paris"}'],
      ["get_time", '{"zone":"CET"}'],
    ]);
    expect(calls[0]?.id).not.toBe(calls[1]?.id);
  });

  it("carries a thought signature in the tool call id and puts it back on the functionCall part", async () => {
    const first = await run(provider, {
      messages: hello,
      tools: [weatherTool],
      mock: {
        tag: "g-sign-1",
        toolCalls: [
          { name: "get_weather", arguments: '{"city":"Paris"}' },
          { name: "get_weather", arguments: '{"city":"Oslo"}' },
        ],
      },
    });
    const signature = Buffer.from(`mock-thought-signature-${seqOf("g-sign-1")}`).toString("base64");
    const [signed, unsigned] = toolCallsOf(first.chunks);
    expect(thoughtSignatureOf(signed?.id ?? "")).toBe(signature);
    expect(thoughtSignatureOf(unsigned?.id ?? "")).toBeUndefined();
    // The client echoes the ids in the next turn: the assistant message and the tool messages.
    const calls = [signed, unsigned].map((call) => ({
      id: call?.id,
      type: "function",
      function: { name: call?.name, arguments: call?.arguments },
    }));
    await run(provider, {
      messages: [
        ...hello,
        { role: "assistant", content: null, tool_calls: calls },
        { role: "tool", tool_call_id: signed?.id, content: '{"celsius":21}' },
        { role: "tool", tool_call_id: unsigned?.id, content: "cold" },
      ],
      tools: [weatherTool],
      mock: { tag: "g-sign-2" },
    });
    expect(receivedBody(mock, "g-sign-2").contents).toEqual([
      { role: "user", parts: [{ text: "Hello there!" }] },
      {
        role: "model",
        parts: [
          { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: signature },
          { functionCall: { name: "get_weather", args: { city: "Oslo" } } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { celsius: 21 } } },
          { functionResponse: { name: "get_weather", response: { result: "cold" } } },
        ],
      },
    ]);
  });

  it("sends a tool round with the tools, tool_choice and settings translated; OpenAI-only fields left out", async () => {
    await run(provider, {
      messages: toolHistory("call_1"),
      tools: [weatherTool],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_tokens: 200,
      temperature: 0.3,
      stop: ["END"],
      logit_bias: { "50256": -100 },
      user_id: "caller-1",
      mock: { tag: "g-history" },
    });
    const sent = receivedBody(mock, "g-history");
    expect(sent.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] },
      {
        role: "user",
        parts: [{ functionResponse: { name: "get_weather", response: { celsius: 21 } } }, { text: "Thanks." }],
      },
    ]);
    expect(sent.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "The weather in a city.",
            parametersJsonSchema: weatherTool.function.parameters,
          },
        ],
      },
    ]);
    expect(sent.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });
    expect(sent.generationConfig).toEqual({ maxOutputTokens: 200, temperature: 0.3, stopSequences: ["END"] });
    expect(Object.keys(sent).sort()).toEqual(
      ["contents", "generationConfig", "mock", "systemInstruction", "toolConfig", "tools"].sort(),
    );
  });

  it("maps MAX_TOKENS to length", async () => {
    const { chunks } = await run(provider, { messages: hello, mock: { finishReason: "MAX_TOKENS" } });
    expect(chunks.at(-1)?.finishReason).toBe("length");
  });
});

describe("the gemini provider, one answer", () => {
  it("calls generateContent and yields the whole answer as one chunk", async () => {
    const { chunks } = await run(
      provider,
      {
        messages: hello,
        mock: {
          tag: "g-whole",
          text: "Sure.",
          textBeforeToolCalls: true,
          toolCalls: [{ name: "get_weather", arguments: '{"city":"Oslo"}' }],
        },
      },
      { stream: false, model: "gemini-x" },
    );
    expect(chunks).toEqual([
      {
        delta: {
          content: "Sure.",
          tool_calls: [
            {
              index: 0,
              id: expect.stringMatching(/^call_[0-9a-f]{16}_ts_/),
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        model: "gemini-x",
        finishReason: "tool_calls",
        usage: expect.objectContaining({ prompt_tokens: 9, completion_tokens: 2 }),
      },
    ]);
    expect(mock.stats().recent.find((entry) => entry.tag === "g-whole")?.stream).toBe(false);
  });
});

describe("the gemini provider's errors are the openai provider's", () => {
  it("429 is upstream_rate_limited, its RetryInfo delay kept as Retry-After", async () => {
    const { error, chunks } = await run(provider, {
      messages: hello,
      mock: { fail: { kind: "http", status: 429, retryAfterSeconds: 7 } },
    });
    expect(chunks).toEqual([]);
    expect(error?.code).toBe("upstream_rate_limited");
    expect(error?.retryAfterSeconds).toBe(7);
  });

  it.each([503, 500, 529])("%i is a retryable upstream_unavailable", async (status) => {
    const { error } = await run(provider, { messages: hello, mock: { fail: { kind: "http", status } } });
    expect(error?.code).toBe("upstream_unavailable");
    expect(error?.message).toContain(`HTTP ${status}`);
  });

  it("400 is upstream_bad_request; 403 is upstream_auth_failed without the upstream's words", async () => {
    const bad = await run(provider, { messages: hello, mock: { fail: { kind: "http", status: 400 } } });
    expect(bad.error?.code).toBe("upstream_bad_request");
    const denied = await run(provider, {
      messages: hello,
      mock: { fail: { kind: "http", status: 403, message: "API key gemini-test-key not valid" } },
    });
    expect(denied.error?.code).toBe("upstream_auth_failed");
    expect(denied.error?.message).not.toContain("gemini-test-key");
  });

  it("an error chunk mid-stream ends the stream with a retryable error after the tokens sent", async () => {
    const { chunks, error } = await run(provider, {
      messages: hello,
      mock: { fail: { kind: "in-stream-error", afterTokens: 2 } },
    });
    expect(textOf(chunks)).toBe(mockText(2));
    expect(error?.code).toBe("upstream_unavailable");
  });

  it("a connection cut mid-stream ends the stream with upstream_unavailable", async () => {
    const { chunks, error } = await run(provider, {
      messages: hello,
      mock: { fail: { kind: "reset", afterTokens: 2 } },
    });
    expect(textOf(chunks)).toBe(mockText(2));
    expect(error?.code).toBe("upstream_unavailable");
  });

  it("the timeout bounds the wait for the headers (upstream_timeout), not a slow stream after them", async () => {
    const quick = createGeminiProvider({ name: "gemini", apiKey: "k", baseUrl, timeoutMs: 300 });
    const { error } = await run(quick, { messages: hello, mock: { fail: { kind: "never-respond" } } });
    expect(error?.code).toBe("upstream_timeout");
    const slow = await run(quick, { messages: hello, mock: { tokens: 3, tokenDelayMs: 200 } });
    expect(slow.error).toBeUndefined();
    expect(textOf(slow.chunks)).toBe(mockText(3));
  });

  it("closes the upstream connection at once when the call's signal aborts mid-stream", async () => {
    const chunks = await abortAfterFirstChunk(provider, "g-abort");
    expect(chunks).toHaveLength(1);
    // The mock sees the client go away (its close event), long before the 500 tokens are sent.
    await vi.waitFor(() =>
      expect(mock.stats().recent.find((entry) => entry.tag === "g-abort")?.abortedAt).toBeDefined(),
    );
    expect(mock.stats().recent.find((entry) => entry.tag === "g-abort")?.tokensSent).toBeLessThan(500);
  });
});

describe("the history the gemini provider sends", () => {
  it("puts a placeholder user turn before a conversation that opens with the agent's greeting", async () => {
    await run(provider, {
      messages: [
        { role: "system", content: "You are a voice agent." },
        { role: "assistant", content: "Hi, how can I help?" },
        { role: "user", content: "Weather?" },
      ],
      mock: { tag: "g-greeting" },
    });
    expect(receivedBody(mock, "g-greeting").contents).toEqual([
      { role: "user", parts: [{ text: "." }] },
      { role: "model", parts: [{ text: "Hi, how can I help?" }] },
      { role: "user", parts: [{ text: "Weather?" }] },
    ]);
  });
});
