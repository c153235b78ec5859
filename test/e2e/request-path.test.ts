// Issue 2, acceptance 1: the openai SDK, through ingress and worker in separate processes with the
// mock upstream behind them, gets exactly the mock's answer, streamed and not.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockText, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { routesTo, startStack, type Stack } from "../support/stack.ts";
import { chatBody, readSse } from "@switchboard/testing";

let mock: MockUpstream;
let mockUrl: string;
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 12, tokenDelayMs: 1 });
  mockUrl = (await mock.listen(0)).url;
  stack = await startStack("path", { routes: routesTo(mockUrl) });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

describe("the request path", () => {
  it("streams exactly the mock's tokens to the openai SDK, one chunk per token", async () => {
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    const pieces: string[] = [];
    const ids = new Set<string>();
    const finishReasons: Array<string | null> = [];
    let roles = 0;
    for await (const chunk of stream) {
      ids.add(chunk.id);
      const choice = chunk.choices[0]!;
      if (choice.delta.role) roles++;
      if (choice.delta.content) pieces.push(choice.delta.content);
      finishReasons.push(choice.finish_reason);
    }
    expect(pieces).toEqual(mockTokens(12));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^chatcmpl-/);
    expect(roles).toBe(1);
    expect(finishReasons.slice(0, -1).every((reason) => reason === null)).toBe(true);
    expect(finishReasons.at(-1)).toBe("stop");
  });

  it("answers non-streaming requests with one chat.completion carrying the upstream's real usage", async () => {
    const direct = await new OpenAI({ baseURL: mockUrl, apiKey: "x" }).chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Hi there" }],
    });
    const completion = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Hi there" }],
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]!.message.content).toBe(mockText(12));
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ prompt_tokens: direct.usage!.prompt_tokens, completion_tokens: 12 });
  });

  it("answers a non-streamed request with tool calls from one non-streamed upstream call", async () => {
    const tools = [
      {
        type: "function" as const,
        function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
      },
      { type: "function" as const, function: { name: "end_call", parameters: { type: "object", properties: {} } } },
    ];
    const toolCalls = [
      { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' },
      { name: "end_call", arguments: "{}" },
    ];
    const tag = `tools-${Date.now()}`;
    const messages = [{ role: "user" as const, content: "Weather in Paris, then hang up" }];
    const mockOptions = { toolCalls, textBeforeToolCalls: true, tokens: 3, tag };
    const direct = await new OpenAI({ baseURL: mockUrl, apiKey: "x" }).chat.completions.create({
      model: "mock-model",
      messages,
      tools,
      mock: { ...mockOptions, tag: `${tag}-direct` },
    } as never);
    // stream_options with stream: false, as some clients send it: OpenAI would reject it upstream.
    const completion = await client.chat.completions.create({
      model: "mock-model",
      messages,
      tools,
      stream: false,
      stream_options: { include_usage: true },
      mock: mockOptions,
    } as never);

    expect(completion.object).toBe("chat.completion");
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe(mockText(3));
    expect(choice.message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_mock_/), type: "function", function: toolCalls[0] },
      { id: expect.stringMatching(/^call_mock_/), type: "function", function: toolCalls[1] },
    ]);
    expect(new Set(choice.message.tool_calls!.map((call) => call.id)).size).toBe(2);
    expect(completion.usage).toEqual(direct.usage);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(3);

    const record = mock.stats().recent.find((entry) => entry.tag === tag);
    expect(record).toMatchObject({ stream: false, status: 200 });
    expect(record!.body).toMatchObject({ stream: false });
    expect(record!.body).not.toHaveProperty("stream_options");
  });

  it("sends a usage chunk only when stream_options.include_usage asks for it", async () => {
    const withUsage = await readSse(await post(chatBody({ stream: true, stream_options: { include_usage: true } })));
    const usageChunks = withUsage.filter(
      (event) => Array.isArray(event.json?.choices) && (event.json.choices as unknown[]).length === 0,
    );
    expect(usageChunks).toHaveLength(1);
    expect(usageChunks[0]!.json!.usage).toMatchObject({ completion_tokens: 12 });
    expect(withUsage.at(-1)!.data).toBe("[DONE]");

    const without = await readSse(await post(chatBody({ stream: true })));
    expect(without.some((event) => event.json?.usage !== undefined)).toBe(false);
  });

  it("writes SSE with the headers voice platforms and proxies need, and one id, created and model", async () => {
    const response = await post(chatBody({ stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("cache-control")).toMatch(/no-cache/);
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    expect(response.headers.get("content-encoding")).toBeNull();
    const events = await readSse(response);
    const chunks = events.filter((event) => event.json);
    expect(new Set(chunks.map((event) => event.json!.id)).size).toBe(1);
    expect(new Set(chunks.map((event) => event.json!.created)).size).toBe(1);
    expect(new Set(chunks.map((event) => event.json!.model))).toEqual(new Set(["mock-model"]));
    expect(events.at(-1)!.data).toBe("[DONE]");
  });

  it("is reachable at /chat/completions too (ElevenLabs appends it to the base URL)", async () => {
    const response = await fetch(`${stack.urls[0]!.replace(/\/v1$/, "")}/chat/completions`, {
      method: "POST",
      body: JSON.stringify(chatBody()),
    });
    expect(response.status).toBe(200);
    expect(
      ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content,
    ).toBe(mockText(12));
  });

  it("never sends the voice platform's own fields upstream", async () => {
    await client.chat.completions.create({
      ...chatBody({ elevenlabs_extra_body: { UUID: "abc" }, user_id: "u-1" }),
    } as never);
    const body = mock.stats().recent.at(-1)!.body as Record<string, unknown>;
    expect(body).not.toHaveProperty("elevenlabs_extra_body");
    expect(body).not.toHaveProperty("user_id");
    // A client that asked for one answer: the upstream is asked for one too.
    expect(body.stream).toBe(false);
    expect(body).not.toHaveProperty("stream_options");
  });

  it("serves /v1/models, /health and /ready", async () => {
    const base = stack.urls[0]!.replace(/\/v1$/, "");
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, redis: true, workers: 1 });
    const models = (await (await fetch(`${stack.urls[0]}/models`)).json()) as { object: string; data: unknown[] };
    expect(models.object).toBe("list");
  });
});

function post(body: unknown): Promise<Response> {
  return fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}
