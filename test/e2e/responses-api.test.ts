// The Responses API (`POST /v1/responses`, what an ElevenLabs agent with `api_type: responses`
// calls) through the real stack, read by the openai SDK's own Responses client: text and function
// calls from a chat-completions upstream (the mock), streamed and not; a multi-turn tool
// conversation; what the gateway refuses; upstream failures as well-formed failures; and a client
// that hangs up closing the upstream call.
import { createOpenAI } from "@ai-sdk/openai";
import { stepCountIs, streamText, tool } from "ai";
import OpenAI from "openai";
import type {
  ResponseCreateParamsNonStreaming,
  ResponseCreateParamsStreaming,
} from "openai/resources/responses/responses";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort } from "@switchboard/testing";
import { z } from "zod";
import { createMockUpstream, mockText, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";

const apiKey = "sb-responses-key";
let mock: MockUpstream;
let stack: Stack;
let client: OpenAI;

const weatherCall = { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' };
const endCall = { name: "end_call", arguments: '{"reason":"The caller said goodbye."}' };
const tools = [
  {
    type: "function" as const,
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } } },
    strict: false,
  },
  {
    type: "function" as const,
    name: "end_call",
    parameters: { type: "object", properties: { reason: { type: "string" } } },
    strict: false,
  },
];

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 10, tokenDelayMs: 1 });
  const { url } = await mock.listen(0);
  // The gateway's own Responses endpoint serves as an upstream that speaks the Responses API: the
  // "via-responses" model goes out through it, and back in as "gpt-4o", to the mock.
  const port = await freePort();
  stack = await startStack("responses", {
    routes: {
      providers: {
        upstream: { type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" },
        "responses-upstream": {
          type: "openai",
          api: "responses",
          baseUrl: `http://127.0.0.1:${port}/v1`,
          apiKeyEnv: "UPSTREAM_API_KEY",
        },
        // Nothing listens on port 9: every call fails before its first token.
        dead: { type: "openai", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "UPSTREAM_API_KEY" },
      },
      routes: {
        "*": { provider: "upstream", passFields: ["mock"] },
        "voice-buffered": {
          provider: "upstream",
          passFields: ["mock"],
          bufferWords: { afterMs: 0, text: "Let me think... " },
        },
        "voice-fallback": {
          provider: "dead",
          passFields: ["mock"],
          fallbackSentence: "Sorry, could you say that again?",
        },
        "via-responses": { provider: "responses-upstream", model: "gpt-4o", passFields: ["mock"] },
      },
    },
    env: { UPSTREAM_API_KEY: apiKey },
    ingressEnv: { API_KEYS: apiKey, PORT: String(port) },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

/** The mock's per-request options ride along as an extra body field, as with the chat API. */
function streamed(params: Record<string, unknown>): ResponseCreateParamsStreaming {
  return { model: "gpt-4o", stream: true, ...params } as ResponseCreateParamsStreaming;
}
function collected(params: Record<string, unknown>): ResponseCreateParamsNonStreaming {
  return { model: "gpt-4o", ...params } as ResponseCreateParamsNonStreaming;
}
function upstreamBodyTagged(tag: string): Record<string, unknown> {
  const call = mock.stats().recent.find((entry) => entry.tag === tag);
  expect(call, `an upstream call tagged ${tag}`).toBeDefined();
  return call!.body as Record<string, unknown>;
}

describe("the openai SDK's Responses client", () => {
  it("streams exactly the upstream's text with responses.stream()", async () => {
    const stream = client.responses.stream(streamed({ input: "Hi" }));
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    const response = await stream.finalResponse();
    expect(deltas).toEqual(mockTokens(10));
    expect(response.output_text).toBe(mockText(10));
    expect(response.status).toBe("completed");
    expect(response.id).toMatch(/^resp_/);
    expect(response.usage).toMatchObject({ output_tokens: 10, total_tokens: response.usage!.input_tokens + 10 });
  });

  it("streams every event in order, numbered from 0, with create({stream: true})", async () => {
    const types: string[] = [];
    const numbers: number[] = [];
    for await (const event of await client.responses.create(streamed({ input: "Hi", mock: { tokens: 3 } }))) {
      types.push(event.type);
      numbers.push(event.sequence_number);
    }
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(numbers).toEqual(types.map((_type, index) => index));
  });

  it("answers non-streamed with one response object", async () => {
    const response = await client.responses.create(collected({ input: "Hi", instructions: "Be brief." }));
    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.output_text).toBe(mockText(10));
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed" });
    expect(response.usage!.output_tokens).toBe(10);
  });

  it("streams text then parallel function calls, each a function_call item with its arguments", async () => {
    const stream = client.responses.stream(
      streamed({
        input: "Weather in Paris, then hang up.",
        tools,
        mock: { text: "One moment.", textBeforeToolCalls: true, toolCalls: [weatherCall, endCall], tag: "rs-tools" },
      }),
    );
    const argumentDeltas: string[] = [];
    stream.on("response.function_call_arguments.delta", (event) => argumentDeltas.push(event.delta));
    const response = await stream.finalResponse();
    expect(response.output_text).toBe("One moment.");
    const calls = response.output.filter((item) => item.type === "function_call");
    expect(calls.map((call) => ({ name: call.name, arguments: call.arguments }))).toEqual([weatherCall, endCall]);
    expect(calls.every((call) => call.call_id.startsWith("call_mock_") && call.status === "completed")).toBe(true);
    expect(argumentDeltas.join("")).toBe(weatherCall.arguments + endCall.arguments);
    // The upstream got chat-completions tools.
    expect(upstreamBodyTagged("rs-tools").tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather",
          parameters: tools[0]!.parameters,
          strict: false,
        },
      },
      { type: "function", function: { name: "end_call", parameters: tools[1]!.parameters, strict: false } },
    ]);
  });

  it("returns function calls non-streamed", async () => {
    const response = await client.responses.create(
      collected({ input: "Weather in Paris?", tools, tool_choice: "required", mock: { toolCalls: [weatherCall] } }),
    );
    expect(response.output).toEqual([
      expect.objectContaining({ type: "function_call", ...weatherCall, status: "completed" }),
    ]);
  });

  it("round-trips a tool conversation: the call, its output, then the answer", async () => {
    const first = await client.responses.create(
      collected({ input: "Weather in Paris?", tools, mock: { toolCalls: [weatherCall] } }),
    );
    const call = first.output.find((item) => item.type === "function_call")!;
    const stream = client.responses.stream(
      streamed({
        instructions: "You are a weather agent.",
        input: [
          { role: "user", content: "Weather in Paris?" },
          call,
          { type: "function_call_output", call_id: call.call_id, output: '{"celsius":21}' },
        ],
        tools,
        max_output_tokens: 200,
        mock: { text: "It is 21 degrees in Paris.", tag: "rs-turn-2" },
      }),
    );
    expect((await stream.finalResponse()).output_text).toBe("It is 21 degrees in Paris.");
    const upstream = upstreamBodyTagged("rs-turn-2");
    expect(upstream.messages).toEqual([
      { role: "system", content: "You are a weather agent." },
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: call.call_id, type: "function", function: weatherCall }],
      },
      { role: "tool", tool_call_id: call.call_id, content: '{"celsius":21}' },
    ]);
    expect(upstream.max_completion_tokens).toBe(200);
    expect(upstream).not.toHaveProperty("input");
    expect(upstream).not.toHaveProperty("max_output_tokens");
  });
});

describe("the Vercel AI SDK's OpenAI Responses provider", () => {
  /** The provider's options are a closed schema: the mock's options ride in through its fetch. */
  const provider = (mockOptions: Record<string, unknown>) =>
    createOpenAI({
      baseURL: stack.urls[0]!,
      apiKey,
      fetch: (url, init) =>
        fetch(url, { ...init, body: JSON.stringify({ ...JSON.parse(String(init?.body)), mock: mockOptions }) }),
    });

  it("streamText streams exactly the upstream's text", async () => {
    const result = streamText({
      model: provider({ tag: "ai-sdk-text" }).responses("gpt-4o"),
      prompt: "Hi",
      maxRetries: 0,
      providerOptions: { openai: { store: false } },
    });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    expect(pieces.join("")).toBe(mockText(10));
    expect(await result.finishReason).toBe("stop");
    expect((await result.usage).outputTokens).toBe(10);
    expect(upstreamBodyTagged("ai-sdk-text").messages).toEqual([{ role: "user", content: "Hi" }]);
  });

  it("streamText returns a tool call with its arguments parsed", async () => {
    const result = streamText({
      model: provider({ toolCalls: [weatherCall] }).responses("gpt-4o"),
      prompt: "What's the weather in Paris?",
      maxRetries: 0,
      providerOptions: { openai: { store: false } },
      tools: {
        get_weather: tool({
          description: "Current weather",
          inputSchema: z.object({ city: z.string(), unit: z.enum(["celsius", "fahrenheit"]) }),
        }),
      },
    });
    const errors: unknown[] = [];
    for await (const part of result.fullStream) if (part.type === "error") errors.push(part.error);
    expect(errors).toEqual([]);
    const calls = await result.toolCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      toolName: "get_weather",
      input: { city: "Paris", unit: "celsius" },
      toolCallId: expect.stringMatching(/^call_mock_/),
    });
    expect(await result.finishReason).toBe("tool-calls");
  });

  it("runs a tool round trip: the call, the tool's result, then the answer", async () => {
    // First request: the upstream calls the tool; second (it carries the tool's output): it answers.
    const conversation = createOpenAI({
      baseURL: stack.urls[0]!,
      apiKey,
      fetch: (url, init) => {
        const body = JSON.parse(String(init?.body)) as { input: Array<{ type?: string }> };
        const answered = body.input.some((item) => item.type === "function_call_output");
        const mockOptions = answered
          ? { text: "It is 21 degrees.", tag: "ai-sdk-turn-2" }
          : { toolCalls: [weatherCall] };
        return fetch(url, { ...init, body: JSON.stringify({ ...body, mock: mockOptions }) });
      },
    });
    const result = streamText({
      model: conversation.responses("gpt-4o"),
      prompt: "What's the weather in Paris?",
      maxRetries: 0,
      providerOptions: { openai: { store: false } },
      stopWhen: stepCountIs(2),
      tools: {
        get_weather: tool({
          inputSchema: z.object({ city: z.string(), unit: z.string() }),
          execute: async ({ city }) => ({ city, celsius: 21 }),
        }),
      },
    });
    expect(await result.text).toBe("It is 21 degrees.");
    const messages = upstreamBodyTagged("ai-sdk-turn-2").messages as Array<Record<string, unknown>>;
    expect(messages.map((message) => message.role)).toEqual(["user", "assistant", "tool"]);
    expect(messages[1]).toMatchObject({
      tool_calls: [{ type: "function", function: { name: "get_weather", arguments: weatherCall.arguments } }],
    });
    expect(JSON.parse(String(messages[2]!.content))).toEqual({ city: "Paris", celsius: 21 });
  });

  it("streamText reports a stream cut after the first tokens as an error", async () => {
    const result = streamText({
      model: provider({ fail: { kind: "reset", afterTokens: 2 } }).responses("gpt-4o"),
      prompt: "Hi",
      maxRetries: 0,
      onError: () => {},
      providerOptions: { openai: { store: false } },
    });
    const errors: unknown[] = [];
    for await (const part of result.fullStream) if (part.type === "error") errors.push(part.error);
    expect(errors).toHaveLength(1);
    expect(await result.finishReason).toBe("error");
  });
});

describe("an upstream that speaks the Responses API (a provider with api: responses)", () => {
  it("serves chat-completions clients: text, then tool calls, streamed", async () => {
    const stream = client.chat.completions.stream({
      model: "via-responses",
      messages: [{ role: "user", content: "Weather in Paris, then hang up." }],
      stream_options: { include_usage: true },
      tools: tools.map(({ type, ...definition }) => ({ type, function: definition })),
      mock: { text: "One moment.", textBeforeToolCalls: true, toolCalls: [weatherCall, endCall], tag: "rs-native" },
    } as never);
    const completion = await stream.finalChatCompletion();
    const message = completion.choices[0]!.message;
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
    expect(message.content).toBe("One moment.");
    expect(message.tool_calls!.map((call) => (call as OpenAI.ChatCompletionMessageFunctionToolCall).function)).toEqual([
      weatherCall,
      endCall,
    ]);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    // The mock got the request after two translations: chat -> Responses -> chat.
    expect(upstreamBodyTagged("rs-native")).toMatchObject({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Weather in Paris, then hang up." }],
      tools: [
        { type: "function", function: { name: "get_weather" } },
        { type: "function", function: { name: "end_call" } },
      ],
    });
  });

  it("serves Responses clients and non-streamed requests", async () => {
    const response = await client.responses.create(collected({ model: "via-responses", input: "Hi" }));
    expect(response.output_text).toBe(mockText(10));
    const stream = client.responses.stream(streamed({ model: "via-responses", input: "Hi" }));
    expect((await stream.finalResponse()).output_text).toBe(mockText(10));
  });
});

describe("the voice features of the chat route", () => {
  it("sends a route's buffer words as the first text, before the upstream's", async () => {
    const stream = client.responses.stream(streamed({ model: "voice-buffered", input: "Hi", mock: { tokens: 3 } }));
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    const response = await stream.finalResponse();
    expect(deltas).toEqual(["Let me think... ", ...mockTokens(3)]);
    expect(response.output_text).toBe(`Let me think... ${mockText(3)}`);
  });

  it("answers with a route's fallback sentence when every target failed, streamed and not", async () => {
    const stream = client.responses.stream(streamed({ model: "voice-fallback", input: "Hi" }));
    expect(await stream.finalResponse()).toMatchObject({
      status: "completed",
      output_text: "Sorry, could you say that again?",
    });
    const response = await client.responses.create(collected({ model: "voice-fallback", input: "Hi" }));
    expect(response.output_text).toBe("Sorry, could you say that again?");
  });
});

describe("what the gateway cannot serve is refused, by name", () => {
  it.each([
    ["store", { store: true }],
    ["previous_response_id", { previous_response_id: "resp_earlier" }],
    ["tools[0].type", { tools: [{ type: "web_search" }] }],
    ["input[0].type", { input: [{ type: "item_reference", id: "msg_1" }] }],
    ["reasoning.summary", { reasoning: { summary: "auto" } }],
  ])("%s: 400 unsupported_parameter", async (param, fields) => {
    const error = await client.responses.create(collected({ input: "Hi", ...fields })).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("unsupported_parameter");
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(param);
  });

  it("hostile bodies get the chat route's 4xx answers: not JSON, too deep, __proto__, not UTF-8", async () => {
    const post = (body: string | Buffer) =>
      fetch(`${stack.urls[0]}/responses`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body });
    const deep = `{"model":"gpt-4o","input":${"[".repeat(100)}${"]".repeat(100)}}`;
    const answers = await Promise.all([
      post('{"model":'),
      post(deep),
      post('{"model":"gpt-4o","input":[{"role":"user","content":"Hi","__proto__":{"x":1}}]}'),
      post(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
    ]);
    const codes = await Promise.all(
      answers.map(async (answer) => [answer.status, ((await answer.json()) as { error: { code: string } }).error.code]),
    );
    expect(codes).toEqual([
      [400, "invalid_json"],
      [400, "invalid_request"],
      [400, "invalid_request"],
      [400, "invalid_json"],
    ]);
  });

  it("an input that is neither a string nor items: 400 invalid_request", async () => {
    const response = await fetch(`${stack.urls[0]}/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: "gpt-4o", input: 42 }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; param: string } }).error).toMatchObject({
      code: "invalid_request",
      param: "input",
    });
  });
});

describe("failures", () => {
  it("an upstream 429 before any output is an HTTP 429 the SDK raises", async () => {
    const error = await client.responses
      .create(streamed({ input: "Hi", mock: { fail: { kind: "http", status: 429 } } }))
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe("upstream_rate_limited");
  });

  it("an upstream 500 is a 502 upstream_unavailable, streamed or not", async () => {
    for (const params of [streamed({ input: "Hi" }), collected({ input: "Hi" })]) {
      const error = await client.responses
        .create({
          ...params,
          mock: { fail: { kind: "http", status: 500 } },
        } as unknown as ResponseCreateParamsNonStreaming)
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(502);
      expect((error as InstanceType<typeof OpenAI.InternalServerError>).code).toBe("upstream_unavailable");
    }
  });

  it("a stream cut after the first tokens ends with error and response.failed, which the SDK raises", async () => {
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    const stream = client.responses.stream(
      streamed({ input: "Hi", mock: { fail: { kind: "reset", afterTokens: 2 } } }),
    );
    stream.on("event", (event) => events.push(event));
    const error = await stream.finalResponse().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("upstream_interrupted");
    expect(events.filter((event) => event.type === "response.output_text.delta")).toHaveLength(2);

    // On the wire: the error event, then the terminal response.failed with the output so far.
    const response = await fetch(`${stack.urls[0]}/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({
        model: "gpt-4o",
        input: "Hi",
        stream: true,
        mock: { fail: { kind: "reset", afterTokens: 2 } },
      }),
    });
    const wire = (await response.text()).trim().split("\n\n");
    const last = wire.slice(-2).map((event) => JSON.parse(event.split("\ndata: ")[1]!) as Record<string, unknown>);
    expect(wire.at(-2)).toMatch(/^event: error\n/);
    expect(last[0]).toMatchObject({ type: "error", code: "upstream_interrupted" });
    expect(wire.at(-1)).toMatch(/^event: response\.failed\n/);
    expect(last[1]).toMatchObject({
      type: "response.failed",
      response: {
        status: "failed",
        error: { code: "upstream_interrupted" },
        output: [{ type: "message", status: "incomplete", content: [{ type: "output_text", text: mockText(2) }] }],
      },
    });
  });

  it("a client that hangs up mid-stream closes the upstream call", async () => {
    const abort = new AbortController();
    const stream = await client.responses.create(
      streamed({ input: "Hi", mock: { tokens: 500, tokenDelayMs: 20, tag: "rs-hangup" } }),
      { signal: abort.signal },
    );
    for await (const event of stream) if (event.type === "response.output_text.delta") break;
    abort.abort();
    await vi.waitFor(
      async () =>
        expect(
          mock.stats().recent.some((call) => call.tag === "rs-hangup" && call.abortedAt !== undefined),
          "the upstream call closed",
        ).toBe(true),
      { timeout: 5000, interval: 25 },
    );
    const call = mock.stats().recent.find((entry) => entry.tag === "rs-hangup")!;
    expect(call.tokensSent).toBeLessThan(500);
  });
});
