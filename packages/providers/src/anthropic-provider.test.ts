// The anthropic provider through the official @anthropic-ai/sdk against the real mock upstream
// (its Anthropic Messages side): text, tool calls, the history mapping, usage with prompt caching,
// and the same GatewayErrors the openai provider gives for the same failures.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockText } from "@switchboard/mock-upstream";
import { createAnthropicProvider } from "./anthropic-provider.ts";
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
let caching: Provider;
let baseUrl = "";

beforeAll(async () => {
  const { port } = await mock.listen(0);
  baseUrl = `http://127.0.0.1:${port}`;
  const common = { apiKey: "sk-ant-test-key", baseUrl, timeoutMs: 5000 };
  provider = createAnthropicProvider({ ...common, name: "anthropic", defaultMaxTokens: 4096, promptCaching: false });
  caching = createAnthropicProvider({ ...common, name: "anthropic", defaultMaxTokens: 4096, promptCaching: true });
});

afterAll(async () => {
  await mock.close();
});

const hello = [
  { role: "system", content: "You are a voice agent." },
  { role: "user", content: "Hello there!" },
];

describe("the anthropic provider, streamed", () => {
  it("streams the text, then stop and the usage, the model on the first chunk", async () => {
    const { chunks, error } = await run(provider, { messages: hello, mock: { tag: "a-text" } }, { model: "claude-x" });
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe(mockText(5));
    expect(chunks[0]?.model).toBe("claude-x");
    const last = chunks.at(-1);
    expect(last?.finishReason).toBe("stop");
    // The mock counts characters / 4: "Hello there!" 3 + the system prompt 6.
    expect(last?.usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: 5,
      total_tokens: 14,
      prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    });
    const sent = receivedBody(mock, "a-text");
    expect(sent.system).toEqual([{ type: "text", text: "You are a voice agent." }]);
    expect(sent.messages).toEqual([{ role: "user", content: [{ type: "text", text: "Hello there!" }] }]);
    expect(sent.max_tokens).toBe(4096);
    expect(sent.stream).toBe(true);
  });

  it("streams one tool call: index 0, the id and name first, then the arguments in fragments", async () => {
    const args = '{"city":"Paris","unit":"celsius"}';
    const { chunks } = await run(provider, {
      messages: hello,
      tools: [weatherTool],
      mock: { toolCalls: [{ name: "get_weather", arguments: args }] },
    });
    const first = chunks[0]?.delta?.tool_calls?.[0];
    expect(first).toEqual({
      index: 0,
      id: expect.stringMatching(/^toolu_mock_\d+$/),
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    expect(chunks.filter((chunk) => chunk.delta?.tool_calls).length).toBeGreaterThan(2);
    expect(toolCallsOf(chunks)).toEqual([{ id: first?.id, name: "get_weather", arguments: args }]);
    expect(chunks.at(-1)?.finishReason).toBe("tool_calls");
  });

  it("numbers two parallel tool calls after text 0 and 1 (Anthropic's block indexes count the text)", async () => {
    const { chunks } = await run(provider, {
      messages: hello,
      tools: [weatherTool],
      mock: {
        text: "Let me check.",
        textBeforeToolCalls: true,
        toolCalls: [
          { name: "get_weather", arguments: '{"city":"Paris"}' },
          { name: "get_time", arguments: '{"zone":"CET"}' },
        ],
      },
    });
    expect(textOf(chunks)).toBe("Let me check.");
    const calls = toolCallsOf(chunks);
    expect(calls.map(({ name, arguments: args }) => ({ name, args }))).toEqual([
      { name: "get_weather", args: '{"city":"Paris"}' },
      { name: "get_time", args: '{"zone":"CET"}' },
    ]);
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
    expect(chunks.at(-1)?.finishReason).toBe("tool_calls");
  });

  it("sends a tool round as tool_use and tool_result blocks, roles alternating, tool settings translated", async () => {
    await run(provider, {
      messages: [...toolHistory("call_1"), { role: "user", content: "And tomorrow?" }],
      tools: [weatherTool],
      tool_choice: "required",
      parallel_tool_calls: false,
      max_completion_tokens: 300,
      temperature: 1.5,
      stop: "END",
      logit_bias: { "50256": -100 },
      user_id: "caller-1",
      mock: { tag: "a-history" },
    });
    const sent = receivedBody(mock, "a-history");
    expect(sent.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } }],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: '{"celsius":21}' },
          { type: "text", text: "Thanks." },
          { type: "text", text: "And tomorrow?" },
        ],
      },
    ]);
    expect(sent.tools).toEqual([
      {
        name: "get_weather",
        description: "The weather in a city.",
        input_schema: weatherTool.function.parameters,
      },
    ]);
    expect(sent.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(sent.max_tokens).toBe(300);
    expect(sent.temperature).toBe(1);
    expect(sent.stop_sequences).toEqual(["END"]);
    // OpenAI-only fields and the voice platform's own are not sent; `mock` is (a passed field).
    expect(Object.keys(sent).sort()).toEqual(
      [
        "max_tokens",
        "messages",
        "mock",
        "model",
        "stop_sequences",
        "stream",
        "system",
        "temperature",
        "tool_choice",
        "tools",
      ].sort(),
    );
  });

  it("with prompt caching marks the system prompt and the last tool, and reports cache writes then reads", async () => {
    const body = (tag: string) => ({
      messages: hello,
      tools: [weatherTool, { ...weatherTool, function: { ...weatherTool.function, name: "get_time" } }],
      mock: { tag },
    });
    const first = await run(caching, body("a-cache-1"));
    const second = await run(caching, body("a-cache-2"));
    const sent = receivedBody(mock, "a-cache-1");
    expect(sent.system).toEqual([
      { type: "text", text: "You are a voice agent.", cache_control: { type: "ephemeral" } },
    ]);
    const tools = sent.tools as Array<Record<string, unknown>>;
    expect(tools[0]?.cache_control).toBeUndefined();
    expect(tools[1]?.cache_control).toEqual({ type: "ephemeral" });
    const written = first.chunks.at(-1)?.usage;
    const read = second.chunks.at(-1)?.usage;
    const cachedPart = (written?.prompt_tokens_details as { cache_write_tokens: number }).cache_write_tokens;
    expect(cachedPart).toBeGreaterThan(0);
    expect(written?.prompt_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: cachedPart });
    expect(read?.prompt_tokens_details).toEqual({ cached_tokens: cachedPart, cache_write_tokens: 0 });
    // prompt_tokens counts the whole prompt, cached or not.
    expect(read?.prompt_tokens).toBe(written?.prompt_tokens);
    expect(written?.prompt_tokens).toBe(3 + cachedPart);
  });

  it("maps max_tokens to length", async () => {
    const { chunks } = await run(provider, { messages: hello, mock: { finishReason: "max_tokens" } });
    expect(chunks.at(-1)?.finishReason).toBe("length");
  });
});

describe("the anthropic provider, one answer", () => {
  it("asks without a stream and yields the whole message as one chunk", async () => {
    const { chunks } = await run(
      provider,
      {
        messages: hello,
        mock: {
          text: "Sure.",
          textBeforeToolCalls: true,
          toolCalls: [{ name: "get_weather", arguments: '{"city":"Oslo"}' }],
          tag: "a-whole",
        },
      },
      { stream: false, model: "claude-x" },
    );
    expect(chunks).toEqual([
      {
        delta: {
          content: "Sure.",
          tool_calls: [
            {
              index: 0,
              id: expect.stringMatching(/^toolu_mock_/),
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        finishReason: "tool_calls",
        usage: expect.objectContaining({ prompt_tokens: 9 }),
        model: "claude-x",
      },
    ]);
    expect(receivedBody(mock, "a-whole").stream).toBe(false);
  });
});

describe("the anthropic provider's errors are the openai provider's", () => {
  it("429 is upstream_rate_limited and keeps Retry-After", async () => {
    const { error, chunks } = await run(provider, {
      messages: hello,
      mock: { fail: { kind: "http", status: 429, retryAfterSeconds: 7 } },
    });
    expect(chunks).toEqual([]);
    expect(error?.code).toBe("upstream_rate_limited");
    expect(error?.retryAfterSeconds).toBe(7);
    expect(error?.message).toContain("HTTP 429, rate_limit_error");
  });

  it.each([
    [529, "overloaded_error"],
    [503, "api_error"],
    [500, "api_error"],
  ])("%i is a retryable upstream_unavailable (%s)", async (status, category) => {
    const { error } = await run(provider, { messages: hello, mock: { fail: { kind: "http", status } } });
    expect(error?.code).toBe("upstream_unavailable");
    expect(error?.message).toContain(`HTTP ${status}, ${category}`);
  });

  it("400 is upstream_bad_request; 401 is upstream_auth_failed without the upstream's words", async () => {
    const bad = await run(provider, { messages: hello, mock: { fail: { kind: "http", status: 400 } } });
    expect(bad.error?.code).toBe("upstream_bad_request");
    const denied = await run(provider, {
      messages: hello,
      mock: { fail: { kind: "http", status: 401, message: "invalid x-api-key sk-ant-test-key" } },
    });
    expect(denied.error?.code).toBe("upstream_auth_failed");
    expect(denied.error?.message).not.toContain("sk-ant");
    expect(denied.error?.detail).not.toContain("sk-ant-test-key");
  });

  it("an error event mid-stream ends the stream with a retryable error after the tokens sent", async () => {
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
    const quick = createAnthropicProvider({
      name: "anthropic",
      apiKey: "k",
      baseUrl,
      timeoutMs: 300,
      defaultMaxTokens: 4096,
      promptCaching: false,
    });
    const { error } = await run(quick, { messages: hello, mock: { fail: { kind: "never-respond" } } });
    expect(error?.code).toBe("upstream_timeout");
    const slow = await run(quick, { messages: hello, mock: { tokens: 3, tokenDelayMs: 200 } });
    expect(slow.error).toBeUndefined();
    expect(textOf(slow.chunks)).toBe(mockText(3));
  });

  it("closes the upstream connection at once when the call's signal aborts mid-stream", async () => {
    const chunks = await abortAfterFirstChunk(provider, "a-abort");
    expect(chunks).toHaveLength(1);
    // The mock sees the client go away (its close event), long before the 500 tokens are sent.
    await vi.waitFor(() =>
      expect(mock.stats().recent.find((entry) => entry.tag === "a-abort")?.abortedAt).toBeDefined(),
    );
    expect(mock.stats().recent.find((entry) => entry.tag === "a-abort")?.tokensSent).toBeLessThan(500);
  });
});

describe("the history the anthropic provider sends", () => {
  it("puts a placeholder user turn before a conversation that opens with the agent's greeting", async () => {
    await run(provider, {
      messages: [
        { role: "system", content: "You are a voice agent." },
        { role: "assistant", content: "Hi, how can I help?" },
        { role: "user", content: "Weather?" },
      ],
      mock: { tag: "a-greeting" },
    });
    expect(receivedBody(mock, "a-greeting").messages).toEqual([
      { role: "user", content: [{ type: "text", text: "." }] },
      { role: "assistant", content: [{ type: "text", text: "Hi, how can I help?" }] },
      { role: "user", content: [{ type: "text", text: "Weather?" }] },
    ]);
  });
});
