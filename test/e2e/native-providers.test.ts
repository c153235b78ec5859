// The native upstreams (Anthropic Messages through @anthropic-ai/sdk, Gemini through
// @google/genai) through the real stack, against the mock upstream's Anthropic and Gemini sides:
// an openai SDK client, on chat completions and on the Responses API, gets the same text and tool
// calls from an anthropic or gemini route as from an openai route; an upstream 429/529/500 gives
// the same error, and so does a failure after the first token; and a native target that fails before its first token falls back to another
// provider type.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockText, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";

let mock: MockUpstream;
let stack: Stack;
let client: OpenAI;

const routeKinds = ["openai", "anthropic", "gemini"] as const;
type RouteKind = (typeof routeKinds)[number];
const modelOf = (kind: RouteKind) => `${kind}-model`;

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { city: { type: "string" } } },
  },
};
const weatherCall = { name: "get_weather", arguments: '{"city":"Paris"}' };
const timeCall = { name: "get_time", arguments: '{"zone":"CET"}' };
const messages = [
  { role: "system" as const, content: "You are a voice agent." },
  { role: "user" as const, content: "Hello there!" },
];

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 6, tokenDelayMs: 1 });
  const { url, port } = await mock.listen(0);
  const origin = `http://127.0.0.1:${port}`;
  stack = await startStack("native", {
    routes: {
      providers: {
        openai: { type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" },
        anthropic: { type: "anthropic", baseUrl: origin, apiKeyEnv: "UPSTREAM_API_KEY" },
        gemini: { type: "gemini", baseUrl: origin, apiKeyEnv: "UPSTREAM_API_KEY" },
      },
      routes: {
        [modelOf("openai")]: { provider: "openai", passFields: ["mock"] },
        [modelOf("anthropic")]: { provider: "anthropic", passFields: ["mock"] },
        [modelOf("gemini")]: { provider: "gemini", passFields: ["mock"] },
        "anthropic-then-openai": { provider: "anthropic", fallbacks: [{ provider: "openai" }], passFields: ["mock"] },
        "gemini-then-anthropic": { provider: "gemini", fallbacks: [{ provider: "anthropic" }], passFields: ["mock"] },
      },
    },
    // One call per target: a failure goes straight to the fallback.
    workerEnv: { UPSTREAM_RETRIES: "0" },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

interface Streamed {
  text: string;
  toolCalls: Array<{ name: string; arguments: string }>;
  ids: string[];
  finishReasons: string[];
  roles: string[];
  usage: OpenAI.CompletionUsage | undefined;
}

async function streamChat(model: string, extra: Record<string, unknown>): Promise<Streamed> {
  const stream = (await client.chat.completions.create({
    model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  } as never)) as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>;
  const out: Streamed = { text: "", toolCalls: [], ids: [], finishReasons: [], roles: [], usage: undefined };
  for await (const chunk of stream) {
    if (chunk.usage) out.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta.role) out.roles.push(choice.delta.role);
    out.text += choice.delta.content ?? "";
    for (const call of choice.delta.tool_calls ?? []) {
      const merged = (out.toolCalls[call.index] ??= { name: "", arguments: "" });
      if (call.id) out.ids[call.index] = call.id;
      merged.name += call.function?.name ?? "";
      merged.arguments += call.function?.arguments ?? "";
    }
    if (choice.finish_reason) out.finishReasons.push(choice.finish_reason);
  }
  return out;
}

describe("chat completions from native routes look like an openai route's", () => {
  it("streams the same text, roles and finish", async () => {
    const results = await Promise.all(routeKinds.map((kind) => streamChat(modelOf(kind), {})));
    for (const result of results) {
      expect(result.text).toBe(mockText(6));
      expect(result.roles).toEqual(["assistant"]);
      expect(result.finishReasons).toEqual(["stop"]);
      expect(result.usage?.completion_tokens).toBe(6);
      expect(result.usage?.total_tokens).toBe((result.usage?.prompt_tokens ?? 0) + 6);
    }
  });

  it("streams the same parallel tool calls, each with an id, and finish tool_calls", async () => {
    const results = await Promise.all(
      routeKinds.map((kind) =>
        streamChat(modelOf(kind), { tools: [weatherTool], mock: { toolCalls: [weatherCall, timeCall] } }),
      ),
    );
    for (const result of results) {
      expect(result.toolCalls).toEqual([weatherCall, timeCall]);
      expect(result.ids).toHaveLength(2);
      expect(result.ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
      expect(result.text).toBe("");
      expect(result.finishReasons).toEqual(["tool_calls"]);
    }
  });

  it("answers the same completion when the client asks for one answer", async () => {
    const answers = await Promise.all(
      routeKinds.map(
        (kind) =>
          client.chat.completions.create({
            model: modelOf(kind),
            messages,
            tools: [weatherTool],
            mock: { text: "One moment.", textBeforeToolCalls: true, toolCalls: [weatherCall] },
          } as never) as unknown as Promise<OpenAI.ChatCompletion>,
      ),
    );
    for (const answer of answers) {
      const choice = answer.choices[0];
      expect(choice?.message.content).toBe("One moment.");
      expect(choice?.message.tool_calls?.map((call) => call.type === "function" && call.function)).toEqual([
        weatherCall,
      ]);
      expect(choice?.finish_reason).toBe("tool_calls");
    }
  });
});

describe("the Responses API from native routes looks like an openai route's", () => {
  it("streams the same text and function calls", async () => {
    for (const kind of routeKinds) {
      const text = await client.responses
        .stream({ model: modelOf(kind), instructions: "Be brief.", input: "Hello there!" } as never)
        .finalResponse();
      expect(text.output_text, kind).toBe(mockText(6));
      const called = await client.responses
        .stream({
          model: modelOf(kind),
          input: "Weather in Paris?",
          tools: [
            { type: "function", name: "get_weather", parameters: weatherTool.function.parameters, strict: false },
          ],
          mock: { toolCalls: [weatherCall] },
        } as never)
        .finalResponse();
      const calls = called.output.filter((item) => item.type === "function_call");
      expect(
        calls.map((item) => ({ name: item.name, arguments: item.arguments })),
        kind,
      ).toEqual([weatherCall]);
      expect(calls[0]?.call_id, kind).toBeTruthy();
      expect(called.status, kind).toBe("completed");
    }
  });
});

describe("a Gemini thought signature survives the client's round trip through the gateway", () => {
  /** The signature the mock put on the first function call of its call tagged `tag`. */
  function signatureOf(tag: string): string {
    const seq = mock.stats().recent.find((call) => call.tag === tag)?.seq;
    return Buffer.from(`mock-thought-signature-${seq}`).toString("base64");
  }
  function functionCallParts(tag: string): unknown[] {
    const body = mock.stats().recent.find((call) => call.tag === tag)?.body as {
      contents: Array<{ role: string; parts: Array<{ functionCall?: unknown }> }>;
    };
    return body.contents.flatMap((content) => content.parts.filter((part) => part.functionCall));
  }

  it("on chat completions: the tool call id the client echoes brings it back", async () => {
    const tag = `sign-chat-${Date.now()}`;
    const first = (await client.chat.completions.create({
      model: modelOf("gemini"),
      messages,
      tools: [weatherTool],
      mock: { tag, toolCalls: [weatherCall] },
    } as never)) as unknown as OpenAI.ChatCompletion;
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(call?.id).toMatch(/^call_[0-9a-f]{16}_ts_/);
    await client.chat.completions.create({
      model: modelOf("gemini"),
      messages: [
        ...messages,
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call?.id, content: '{"celsius":21}' },
      ],
      tools: [weatherTool],
      mock: { tag: `${tag}-next` },
    } as never);
    expect(functionCallParts(`${tag}-next`)).toEqual([
      { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: signatureOf(tag) },
    ]);
  });

  it("on the Responses API: the call_id the client echoes brings it back", async () => {
    const tag = `sign-responses-${Date.now()}`;
    const tools = [
      { type: "function", name: "get_weather", parameters: weatherTool.function.parameters, strict: false },
    ];
    const first = await client.responses.create({
      model: modelOf("gemini"),
      input: "Weather in Paris?",
      tools,
      mock: { tag, toolCalls: [weatherCall] },
    } as never);
    const call = (first as OpenAI.Responses.Response).output.find((item) => item.type === "function_call");
    expect(call?.call_id).toMatch(/^call_[0-9a-f]{16}_ts_/);
    await client.responses.create({
      model: modelOf("gemini"),
      input: [
        { role: "user", content: "Weather in Paris?" },
        { type: "function_call", call_id: call?.call_id, name: call?.name, arguments: call?.arguments },
        { type: "function_call_output", call_id: call?.call_id, output: '{"celsius":21}' },
      ],
      tools,
      mock: { tag: `${tag}-next` },
    } as never);
    expect(functionCallParts(`${tag}-next`)).toEqual([
      { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: signatureOf(tag) },
    ]);
  });
});

describe("upstream failures give the same error as an openai route's", () => {
  async function failure(kind: RouteKind, fail: Record<string, unknown>) {
    const response = await fetch(`${stack.urls[0]}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: modelOf(kind), messages, stream: true, mock: { fail } }),
    });
    const body = (await response.json()) as { error: { code: string; type: string } };
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      code: body.error.code,
      type: body.error.type,
    };
  }

  const rateLimited = { status: 429, retryAfter: "2", code: "upstream_rate_limited", type: "rate_limit_error" };
  const unavailable = { status: 502, retryAfter: null, code: "upstream_unavailable", type: "server_error" };
  it.each([
    [{ kind: "http", status: 429, retryAfterSeconds: 2 }, rateLimited],
    [{ kind: "http", status: 529 }, unavailable],
    [{ kind: "http", status: 500 }, unavailable],
  ])("%j", async (fail, expected) => {
    const outcomes = await Promise.all(routeKinds.map((kind) => failure(kind, fail)));
    expect(outcomes).toEqual([expected, expected, expected]);
  });
});

describe("a native upstream failing after the first token", () => {
  it.each([["in-stream-error"], ["reset"]])("(%s) interrupts the answer as an openai route's does", async (kind) => {
    const outcomes = await Promise.all(
      routeKinds.map(async (route) => {
        let text = "";
        try {
          for await (const chunk of (await client.chat.completions.create({
            model: modelOf(route),
            messages,
            stream: true,
            mock: { fail: { kind, afterTokens: 2 } },
          } as never)) as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>)
            text += chunk.choices[0]?.delta.content ?? "";
        } catch (error) {
          return { text, code: error instanceof OpenAI.APIError ? error.code : String(error) };
        }
        return { text, code: "no error" };
      }),
    );
    const expected = { text: mockText(2), code: "upstream_interrupted" };
    expect(outcomes).toEqual([expected, expected, expected]);
  });
});

describe("a native target that fails before its first token falls back to another provider type", () => {
  it("anthropic (529) -> openai", async () => {
    const tag = `fallback-a-${Date.now()}`;
    const result = await streamChat("anthropic-then-openai", {
      mock: { tag, fail: { kind: "http", status: 529, times: 1 } },
    });
    expect(result.text).toBe(mockText(6));
    expect(result.finishReasons).toEqual(["stop"]);
    const calls = mock.stats().recent.filter((call) => call.tag === tag);
    expect(calls.map((call) => call.status)).toEqual([529, 200]);
    // The first went out in Anthropic's format (max_tokens required), the second in OpenAI's.
    expect(calls[0]?.body).toMatchObject({ max_tokens: 4096, system: [{ type: "text" }] });
    expect(calls[1]?.body).toMatchObject({ stream_options: { include_usage: true } });
  });

  it("gemini (503) -> anthropic", async () => {
    const tag = `fallback-g-${Date.now()}`;
    const result = await streamChat("gemini-then-anthropic", {
      tools: [weatherTool],
      mock: { tag, toolCalls: [weatherCall], fail: { kind: "http", status: 503, times: 1 } },
    });
    expect(result.toolCalls).toEqual([weatherCall]);
    expect(result.finishReasons).toEqual(["tool_calls"]);
    const calls = mock.stats().recent.filter((call) => call.tag === tag);
    expect(calls.map((call) => call.status)).toEqual([503, 200]);
    expect(calls[0]?.body).toHaveProperty("contents");
    expect(calls[1]?.body).toMatchObject({ max_tokens: 4096 });
  });
});
