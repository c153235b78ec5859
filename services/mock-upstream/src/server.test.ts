// End-to-end tests of the mock through the real openai SDK, so the mock is
// proven to speak exactly what OpenAI clients (and the gateway) expect.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI, { APIConnectionError, APIError, APIUserAbortError, BadRequestError, RateLimitError } from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { createMockUpstream, mockText, type MockRequestOptions, type MockRequestRecord } from "./index.ts";

const mock = createMockUpstream({ tokens: 20 });
let url = "";
let client: OpenAI;

beforeAll(async () => {
  ({ url } = await mock.listen(0));
  client = new OpenAI({ baseURL: url, apiKey: "x", maxRetries: 0 });
});

afterAll(async () => {
  await mock.close();
});

const messages = [
  { role: "system" as const, content: "You are a voice agent." }, // 22 characters
  { role: "user" as const, content: "Hello there!" }, // 12 characters
];

/** Adds the mock-only `mock` field to SDK params (the SDK forwards unknown body fields). */
function withMock<T extends object>(params: T, options: MockRequestOptions): T {
  return { ...params, mock: options } as T;
}

function recordTagged(tag: string): MockRequestRecord | undefined {
  return mock.stats().recent.find((record) => record.tag === tag);
}

/** Waits for a condition driven by the server's own events (no fixed sleeps). */
async function until<T>(check: () => T | undefined | false, timeoutMs = 2000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function textOf(chunks: ChatCompletionChunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
}

async function postRaw(path: string, body: string): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return { status: response.status, json: await response.json() };
}

describe("streaming text", () => {
  it("streams mockText one token per chunk in the exact OpenAI chunk format", async () => {
    const stream = await client.chat.completions.create(
      withMock({ model: "gpt-test", messages, stream: true }, { tag: "text" }),
    );
    const chunks = await collect(stream);

    expect(textOf(chunks)).toBe(mockText(20));
    expect(chunks).toHaveLength(21); // 20 tokens + the finish chunk
    const ids = new Set(chunks.map((chunk) => chunk.id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^chatcmpl-mock-\d+$/);
    for (const chunk of chunks) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(chunk.model).toBe("gpt-test");
      expect(typeof chunk.created).toBe("number");
    }
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(chunks.slice(1).every((chunk) => chunk.choices[0]?.delta.role === undefined)).toBe(true);
    expect(chunks.slice(0, -1).every((chunk) => chunk.choices[0]?.finish_reason === null)).toBe(true);
    expect(chunks.at(-1)?.choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    expect(chunks.slice(0, -1).every((chunk) => chunk.choices[0]?.delta.content !== "")).toBe(true);

    const record = recordTagged("text");
    expect(record).toMatchObject({ model: "gpt-test", stream: true, tokensSent: 20, status: 200 });
    expect(record?.body).toMatchObject({ model: "gpt-test", stream: true, mock: { tag: "text" } });
    expect(record?.firstByteAt).toBeGreaterThanOrEqual(record?.startedAt ?? Infinity);
    expect(record?.endedAt).toBeGreaterThanOrEqual(record?.firstByteAt ?? Infinity);
    expect(record?.abortedAt).toBeUndefined();
  });

  it("uses mock.tokens and mock.text", async () => {
    const counted = await collect(
      await client.chat.completions.create(withMock({ model: "m", messages, stream: true }, { tokens: 3 })),
    );
    expect(textOf(counted)).toBe(mockText(3));

    const text = "Hi, how can I help you today?";
    const custom = await collect(
      await client.chat.completions.create(withMock({ model: "m", messages, stream: true }, { text })),
    );
    expect(textOf(custom)).toBe(text);
    expect(custom).toHaveLength(7 + 1);
  });

  it("announces the role even with zero tokens", async () => {
    const chunks = await collect(
      await client.chat.completions.create(withMock({ model: "m", messages, stream: true }, { tokens: 0 })),
    );
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([{ role: "assistant", content: "" }, {}]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
  });

  it("sends a usage chunk with include_usage", async () => {
    const stream = await client.chat.completions.create(
      withMock({ model: "m", messages, stream: true, stream_options: { include_usage: true } }, { tokens: 5 }),
    );
    const chunks = await collect(stream);
    expect(textOf(chunks)).toBe(mockText(5));
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({ prompt_tokens: Math.ceil(34 / 4), completion_tokens: 5, total_tokens: 9 + 5 });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it("honours first token and inter-token delays", async () => {
    const started = performance.now();
    const arrivals: number[] = [];
    const stream = await client.chat.completions.create(
      withMock({ model: "m", messages, stream: true }, { tokens: 4, firstTokenDelayMs: 40, tokenDelayMs: 15 }),
    );
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - started);
    expect(arrivals).toHaveLength(4);
    expect(arrivals[0]).toBeGreaterThanOrEqual(39);
    expect(arrivals[3]).toBeGreaterThanOrEqual(39 + 3 * 15);
  });
});

describe("non-streaming", () => {
  it("returns one chat.completion with usage", async () => {
    const completion = await client.chat.completions.create(withMock({ model: "gpt-x", messages }, { tokens: 6 }));
    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^chatcmpl-mock-\d+$/);
    expect(completion.model).toBe("gpt-x");
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: mockText(6) });
    expect(completion.choices[0]?.message.tool_calls).toBeUndefined();
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toEqual({ prompt_tokens: 9, completion_tokens: 6, total_tokens: 15 });
  });

  it("returns tool calls with null content", async () => {
    const completion = await client.chat.completions.create(
      withMock({ model: "m", messages }, { toolCalls: [{ name: "lookup", arguments: '{"id":42}' }] }),
    );
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_mock_\d+$/),
        type: "function",
        function: { name: "lookup", arguments: '{"id":42}' },
      },
    ]);
  });
});

describe("streamed tool calls", () => {
  const weather = { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' };
  const time = { name: "get_time", arguments: '{"timezone":"Europe/Paris"}' };

  it("streams two parallel calls that the SDK assembles", async () => {
    const stream = client.chat.completions.stream(
      withMock({ model: "m", messages, stream: true }, { toolCalls: [weather, time] }),
    );
    const chunks: ChatCompletionChunk[] = [];
    stream.on("chunk", (chunk) => chunks.push(chunk));
    const completion = await stream.finalChatCompletion();

    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    const calls = choice?.message.tool_calls ?? [];
    expect(
      calls.map((call) => (call.type === "function" ? [call.function.name, call.function.arguments] : [])),
    ).toEqual([
      [weather.name, weather.arguments],
      [time.name, time.arguments],
    ]);
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
    for (const call of calls) expect(call.id).toMatch(/^call_mock_\d+$/);

    // Wire shape: the first fragment of each call carries id/type/name and empty
    // arguments, then the arguments follow in about three fragments.
    const fragments = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    const first = fragments.filter((fragment) => fragment.id !== undefined);
    expect(
      first.map((fragment) => [fragment.index, fragment.type, fragment.function?.name, fragment.function?.arguments]),
    ).toEqual([
      [0, "function", weather.name, ""],
      [1, "function", time.name, ""],
    ]);
    expect(fragments.filter((fragment) => fragment.index === 0 && fragment.id === undefined)).toHaveLength(3);
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: "assistant", content: null });
  });

  it("streams text before the calls with textBeforeToolCalls", async () => {
    const stream = client.chat.completions.stream(
      withMock({ model: "m", messages, stream: true }, { tokens: 4, toolCalls: [weather], textBeforeToolCalls: true }),
    );
    const completion = await stream.finalChatCompletion();
    const message = completion.choices[0]?.message;
    expect(message?.content).toBe(mockText(4));
    expect(message?.tool_calls?.[0]).toMatchObject({ type: "function", function: weather });
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("calls a tool that tool_choice forces, as a real model would", async () => {
    const tools = [
      { type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: {} } } },
    ];
    const completion = await client.chat.completions
      .stream({
        model: "m",
        messages,
        stream: true,
        tools,
        tool_choice: { type: "function", function: { name: "get_weather" } },
      })
      .finalChatCompletion();
    expect(completion.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      type: "function",
      function: { name: "get_weather", arguments: "{}" },
    });
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    const unforced = await client.chat.completions.create({ model: "m", messages, tools, tool_choice: "auto" });
    expect(unforced.choices[0]?.message.content).toBe(mockText(20));
  });
});

describe("injected failures", () => {
  it("http 429 with Retry-After surfaces as RateLimitError", async () => {
    const error = await client.chat.completions
      .create(
        withMock(
          { model: "m", messages, stream: true },
          { fail: { kind: "http", status: 429, retryAfterSeconds: 7, message: "slow down" } },
        ),
      )
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(RateLimitError);
    const rateLimit = error as RateLimitError;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.headers.get("retry-after")).toBe("7");
    expect(rateLimit.error).toEqual({
      message: "slow down",
      type: "rate_limit_error",
      param: null,
      code: "mock_failure",
    });
  });

  it("in-stream error makes the SDK throw APIError while iterating", async () => {
    const stream = await client.chat.completions.create(
      withMock(
        { model: "m", messages, stream: true },
        { tag: "in-stream", fail: { kind: "in-stream-error", afterTokens: 3, message: "boom" } },
      ),
    );
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).message).toContain("boom");
    expect((error as APIError).code).toBe("mock_failure");
    expect(received.join("")).toBe(mockText(3));
    expect(recordTagged("in-stream")).toMatchObject({
      tokensSent: 3,
      fail: "in-stream-error",
      endedAt: expect.any(Number),
    });
  });

  it("reset drops the connection mid-stream", async () => {
    const stream = await client.chat.completions.create(
      withMock({ model: "m", messages, stream: true }, { tag: "reset", fail: { kind: "reset", afterTokens: 2 } }),
    );
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // The body is cut mid-stream: fetch (undici) reports "terminated", caused by the socket closing.
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).cause).toMatchObject({ code: "UND_ERR_SOCKET" });
    expect(received.join("")).toBe(mockText(2));
    expect(recordTagged("reset")).toMatchObject({ tokensSent: 2, fail: "reset" });
  });

  it("reset before the response is an APIConnectionError", async () => {
    const error = await client.chat.completions
      .create(withMock({ model: "m", messages }, { fail: { kind: "reset" } }))
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(APIConnectionError);
  });

  it("stall keeps the stream open until the client aborts", async () => {
    mock.reset();
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      withMock({ model: "m", messages, stream: true }, { tag: "stall", fail: { kind: "stall", afterTokens: 2 } }),
      { signal: controller.signal },
    );
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) {
        received.push(chunk.choices[0]?.delta.content ?? "");
        if (received.length === 2) {
          // Nothing else may arrive: wait until the server has nothing scheduled, then abort.
          await until(() => recordTagged("stall")?.tokensSent === 2);
          controller.abort();
        }
      }
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // openai v7 ends the iteration quietly when the caller aborts it.
    expect(error).toBeUndefined();
    expect(controller.signal.aborted).toBe(true);
    expect(received.join("")).toBe(mockText(2));
    const record = await until(() => recordTagged("stall")?.abortedAt !== undefined && recordTagged("stall"));
    expect(record).toMatchObject({ tokensSent: 2, fail: "stall" });
    expect(record.endedAt).toBeUndefined();
    expect(mock.stats()).toMatchObject({ requests: 1, aborted: 1, completed: 0, active: 0 });
  });

  it("stall with afterTokens 0 sends headers and no token", async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      withMock({ model: "m", messages, stream: true }, { tag: "stall-0", fail: { kind: "stall" } }),
      { signal: controller.signal },
    );
    expect(recordTagged("stall-0")).toMatchObject({ status: 200, tokensSent: 0 });
    const iteration = collect(stream);
    controller.abort();
    expect(await iteration).toEqual([]);
    await until(() => recordTagged("stall-0")?.abortedAt);
  });

  it("never-respond sends no headers at all", async () => {
    const controller = new AbortController();
    const pending = client.chat.completions
      .create(withMock({ model: "m", messages, stream: true }, { tag: "silent", fail: { kind: "never-respond" } }), {
        signal: controller.signal,
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    await until(() => recordTagged("silent"));
    expect(mock.stats().active).toBeGreaterThanOrEqual(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    const record = await until(() => recordTagged("silent")?.abortedAt !== undefined && recordTagged("silent"));
    expect(record.status).toBeUndefined();
    expect(record.firstByteAt).toBeUndefined();
  });
});

describe("client abort", () => {
  it("is recorded with abortedAt and stops the token timers", async () => {
    mock.reset();
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      withMock({ model: "m", messages, stream: true }, { tag: "abort", tokens: 1000, tokenDelayMs: 5 }),
      { signal: controller.signal },
    );
    let received = 0;
    const error = await (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) received++;
        if (received === 3) controller.abort();
      }
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeUndefined();
    expect(received).toBe(3);

    const record = await until(() => recordTagged("abort")?.abortedAt !== undefined && recordTagged("abort"));
    expect(record.endedAt).toBeUndefined();
    expect(record.abortedAt).toBeGreaterThan(record.firstByteAt ?? Infinity);
    expect(record.tokensSent).toBeLessThan(500); // 1000 tokens would take 5 s
    expect(mock.stats()).toMatchObject({ requests: 1, active: 0, completed: 0, aborted: 1 });

    // The next request on the same server still works and nothing else was sent for the aborted one.
    const sentAtAbort = record.tokensSent;
    const after = await client.chat.completions.create(
      withMock({ model: "m", messages }, { tokens: 2, firstTokenDelayMs: 20 }),
    );
    expect(after.choices[0]?.message.content).toBe(mockText(2));
    expect(recordTagged("abort")?.tokensSent).toBe(sentAtAbort);
  });
});

describe("invalid requests", () => {
  it("rejects empty messages with the OpenAI error shape", async () => {
    const error = await client.chat.completions.create({ model: "m", messages: [] }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).error).toEqual({
      message: expect.any(String),
      type: "invalid_request_error",
      param: "messages",
      code: null,
    });
  });

  it("rejects a missing model, bad JSON and bad mock options", async () => {
    const noModel = await postRaw("/chat/completions", JSON.stringify({ messages }));
    expect(noModel).toEqual({
      status: 400,
      json: { error: { message: expect.any(String), type: "invalid_request_error", param: "model", code: null } },
    });

    const badJson = await postRaw("/chat/completions", "{not json");
    expect(badJson.status).toBe(400);
    expect(badJson.json).toMatchObject({ error: { type: "invalid_request_error" } });

    const badMock = await postRaw("/chat/completions", JSON.stringify({ model: "m", messages, mock: { tokens: -1 } }));
    expect(badMock).toEqual({
      status: 400,
      json: {
        error: {
          message: expect.stringContaining("mock.tokens"),
          type: "invalid_request_error",
          param: "mock.tokens",
          code: "invalid_mock_option",
        },
      },
    });

    const typo = await postRaw("/chat/completions", JSON.stringify({ model: "m", messages, mock: { token: 3 } }));
    expect(typo.json).toMatchObject({ error: { param: "mock.token" } });
  });
});

describe("other endpoints", () => {
  it("serves models, health, stats and reset", async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(["mock-model"]);

    const root = url.replace(/\/v1$/, "");
    expect(await (await fetch(`${root}/health`)).json()).toEqual({ status: "ok" });

    await client.chat.completions.create(withMock({ model: "m", messages }, { tokens: 1 }));
    const stats = (await (await fetch(`${root}/_mock/stats`)).json()) as { requests: number };
    expect(stats.requests).toBeGreaterThan(0);

    const reset = await fetch(`${root}/_mock/reset`, { method: "POST" });
    expect(reset.status).toBe(200);
    expect(mock.stats()).toMatchObject({ requests: 0, completed: 0, aborted: 0, recent: [] });

    const missing = await fetch(`${root}/nope`);
    expect(missing.status).toBe(404);
  });

  it("keeps only the last 200 requests", async () => {
    mock.reset();
    for (let index = 0; index < 205; index++) {
      await client.chat.completions.create(withMock({ model: "m", messages }, { tokens: 0, tag: `bulk-${index}` }));
    }
    const stats = mock.stats();
    expect(stats.requests).toBe(205);
    expect(stats.recent).toHaveLength(200);
    expect(stats.recent[0]?.tag).toBe("bulk-5");
    expect(stats.recent.at(-1)?.tag).toBe("bulk-204");
  });
});

describe("lifecycle", () => {
  it("close() ends open connections and resolves", async () => {
    const other = createMockUpstream();
    const started = await other.listen();
    const otherClient = new OpenAI({ baseURL: started.url, apiKey: "x", maxRetries: 0 });
    const pending = otherClient.chat.completions
      .create(withMock({ model: "m", messages }, { fail: { kind: "never-respond" } }))
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    await until(() => other.stats().active === 1);
    await other.close();
    expect(await pending).toBeInstanceOf(APIConnectionError);
    expect(other.stats()).toMatchObject({ active: 0, aborted: 1 });
  });

  it("rejects invalid defaults", () => {
    expect(() => createMockUpstream({ tokens: -1 })).toThrow(RangeError);
    expect(() => createMockUpstream({ tokenDelayMs: Number.NaN })).toThrow(RangeError);
  });
});
