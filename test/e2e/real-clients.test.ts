// Issue 3, acceptance 1: real clients against the running stack — the openai SDK, the Vercel AI
// SDK (`ai` + `@ai-sdk/openai-compatible`) and LangChain's ChatOpenAI — each get exactly what the
// upstream (the mock) produced: text, and tool calls with their arguments parsed. The per-request
// `mock` field reaches the mock through each client's own way of adding body fields.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { AIMessageChunk } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { streamText, tool } from "ai";
import OpenAI from "openai";
import type { ChatCompletionStreamParams } from "openai/lib/ChatCompletionStream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createMockUpstream, mockText, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

const apiKey = "sb-real-clients-key";
let mock: MockUpstream;
let stack: Stack;
let baseURL: string;

const weatherCall = { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' };
const endCall = { name: "end_call", arguments: '{"reason":"The caller said goodbye.","message":"Goodbye!"}' };

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 10, tokenDelayMs: 1 });
  const { url } = await mock.listen(0);
  stack = await startStack("clients", { routes: routesTo(url), ingressEnv: { API_KEYS: apiKey } });
  baseURL = stack.urls[0]!;
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

describe("the openai SDK", () => {
  const client = () => new OpenAI({ baseURL, apiKey, maxRetries: 0 });

  it("streams exactly the upstream's tokens", async () => {
    const pieces: string[] = [];
    for await (const chunk of await client().chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    })) {
      if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
    }
    expect(pieces).toEqual(mockTokens(10));
  });

  it("gets the upstream's answer non-streamed", async () => {
    const completion = await client().chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(completion.choices[0]!.message.content).toBe(mockText(10));
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage!.completion_tokens).toBe(10);
  });

  it("assembles streamed parallel tool calls with the stream helper", async () => {
    const stream = client().chat.completions.stream({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Weather in Paris, then hang up." }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } } },
          },
        },
        {
          type: "function",
          function: {
            name: "end_call",
            parameters: { type: "object", properties: { reason: { type: "string" }, message: { type: "string" } } },
          },
        },
      ],
      mock: { text: "One moment.", textBeforeToolCalls: true, toolCalls: [weatherCall, endCall] },
    } as ChatCompletionStreamParams);
    const completion = await stream.finalChatCompletion();
    const message = completion.choices[0]!.message;
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
    expect(message.content).toBe("One moment.");
    expect(message.tool_calls!.map((call) => (call as OpenAI.ChatCompletionMessageFunctionToolCall).function)).toEqual([
      weatherCall,
      endCall,
    ]);
  });
});

describe("the Vercel AI SDK with @ai-sdk/openai-compatible", () => {
  const provider = () => createOpenAICompatible({ name: "switchboard", baseURL, apiKey, includeUsage: true });

  it("streamText streams exactly the upstream's text", async () => {
    const result = streamText({ model: provider().chatModel("gpt-4o"), prompt: "Hi", maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    expect(pieces.join("")).toBe(mockText(10));
    expect(await result.finishReason).toBe("stop");
    expect((await result.usage).outputTokens).toBe(10);
  });

  it("streamText returns a tool call with its arguments parsed", async () => {
    const result = streamText({
      model: provider().chatModel("gpt-4o"),
      prompt: "What's the weather in Paris?",
      maxRetries: 0,
      tools: {
        get_weather: tool({
          description: "Current weather",
          inputSchema: z.object({ city: z.string(), unit: z.enum(["celsius", "fahrenheit"]) }),
        }),
      },
      providerOptions: { switchboard: { mock: { toolCalls: [weatherCall] } } },
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
});

describe("LangChain ChatOpenAI", () => {
  // `invoke` with streaming: true estimates token counts with tiktoken, which downloads its
  // encodings from the internet (and waits forever without one): streamed answers are read with
  // `.stream()`, and `invoke` runs non-streamed.
  const model = (modelKwargs: Record<string, unknown> = {}, streaming = true) =>
    new ChatOpenAI({ model: "gpt-4o", apiKey, configuration: { baseURL }, maxRetries: 0, streaming, modelKwargs });
  const tools = [
    {
      type: "function",
      function: {
        name: "get_weather",
        description: "Current weather",
        parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } } },
      },
    },
    {
      type: "function",
      function: {
        name: "end_call",
        description: "End the call",
        parameters: { type: "object", properties: { reason: { type: "string" }, message: { type: "string" } } },
      },
    },
  ];

  it("streams exactly the upstream's tokens", async () => {
    const pieces: string[] = [];
    for await (const chunk of await model().stream("Hi"))
      if (typeof chunk.content === "string" && chunk.content !== "") pieces.push(chunk.content);
    expect(pieces).toEqual(mockTokens(10));
  });

  it("bindTools gets streamed tool calls with their arguments parsed", async () => {
    const bound = model({ mock: { toolCalls: [weatherCall, endCall] } }).bindTools(tools);
    let gathered: AIMessageChunk | undefined;
    for await (const chunk of await bound.stream("Weather in Paris, then hang up."))
      gathered = gathered ? gathered.concat(chunk) : chunk;
    expect(gathered!.tool_calls!.map((call) => ({ name: call.name, args: call.args }))).toEqual([
      { name: "get_weather", args: JSON.parse(weatherCall.arguments) },
      { name: "end_call", args: JSON.parse(endCall.arguments) },
    ]);
    expect(gathered!.tool_calls!.every((call) => call.id?.startsWith("call_mock_"))).toBe(true);
  });

  it("bindTools gets non-streamed tool calls with their arguments parsed", async () => {
    const invoked = await model({ mock: { toolCalls: [weatherCall, endCall] } }, false)
      .bindTools(tools)
      .invoke("Weather in Paris, then hang up.");
    expect(invoked.tool_calls!.map((call) => ({ name: call.name, args: call.args }))).toEqual([
      { name: "get_weather", args: JSON.parse(weatherCall.arguments) },
      { name: "end_call", args: JSON.parse(endCall.arguments) },
    ]);
  });
});
