// Issue 3: answers exactly as OpenAI clients and ElevenLabs expect them — tool calls streamed and
// assembled, errors with the status that tells a client what to do (before the first token) or as
// an in-stream error the openai SDK raises (after it), a route's spoken fallback sentence, and
// buffer words for slow upstreams (acceptance 5). Real processes, the mock upstream behind them.
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockText, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";
import { readSse } from "@switchboard/testing";
import { normalisedStream } from "../support/normalised-stream.ts";

let mock: MockUpstream;
let mockUrl: string;
let stack: Stack;
let client: OpenAI;

const fallbackSentence = "Sorry, I'm having trouble thinking right now. Could you say that again?";

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 6 });
  mockUrl = (await mock.listen(0)).url;
  const upstream = { provider: "upstream", passFields: ["mock"] };
  stack = await startStack("responses", {
    routes: {
      providers: { upstream: { type: "openai", baseUrl: mockUrl, apiKeyEnv: "UPSTREAM_API_KEY" } },
      routes: {
        "*": upstream,
        "voice-model": { ...upstream, fallbackSentence },
        buffered: { ...upstream, bufferWords: { afterMs: 100, text: "... " } },
        "buffered-late": { ...upstream, bufferWords: { afterMs: 5000, text: "... " } },
        "buffered-at-once": { ...upstream, bufferWords: { afterMs: 0, text: "Let me think about that... " } },
        "buffered-voice": { ...upstream, bufferWords: { afterMs: 0 }, fallbackSentence },
      },
    },
    workerEnv: { UPSTREAM_TIMEOUT_MS: "1000" },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

const user = { role: "user", content: "What's the weather in New York?" };
const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
  },
};
const endCallTool = {
  type: "function",
  function: {
    name: "end_call",
    parameters: { type: "object", properties: { reason: { type: "string" } }, required: ["reason"] },
  },
};

function post(baseUrl: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("tool calls", () => {
  const toolCallCases = [
    { name: "one call", mock: { toolCalls: [{ name: "get_weather", arguments: '{"location":"New York, NY"}' }] } },
    {
      name: "parallel calls with their own indexes",
      mock: {
        toolCalls: [
          { name: "get_weather", arguments: '{"location":"New York"}' },
          { name: "end_call", arguments: '{"reason":"The user said goodbye."}' },
        ],
      },
    },
    {
      name: "text before a call",
      mock: {
        text: "Let me check that for you.",
        textBeforeToolCalls: true,
        toolCalls: [{ name: "end_call", arguments: '{"reason":"done","message":"Bye!"}' }],
      },
    },
  ];

  for (const testCase of toolCallCases) {
    it(`streams ${testCase.name} exactly as the upstream did`, async () => {
      const body = {
        model: "gpt-4o",
        messages: [user],
        tools: [weatherTool, endCallTool],
        stream: true,
        mock: testCase.mock,
      };
      const direct = normalisedStream(await readSse(await post(mockUrl, body)));
      const events = await readSse(await post(stack.urls[0]!, body));
      const through = normalisedStream(events);
      expect(through.deltas).toEqual(direct.deltas);
      expect(through.finishReasons.at(-1)).toBe("tool_calls");
      expect(through.finishReasons.slice(0, -1).every((reason) => reason === null)).toBe(true);
      expect(events.at(-1)!.data).toBe("[DONE]");

      // OpenAI's rules for the fragments themselves, checked directly.
      const fragments = events.flatMap(
        (event) =>
          (event.json?.choices as Array<{ delta: { tool_calls?: Array<Record<string, unknown>> } }> | undefined)?.[0]
            ?.delta.tool_calls ?? [],
      );
      const seen = new Set<number>();
      for (const fragment of fragments) {
        expect(typeof fragment.index).toBe("number");
        expect(fragment.function).toBeTypeOf("object");
        if (!seen.has(fragment.index as number)) {
          seen.add(fragment.index as number);
          expect(fragment).toMatchObject({
            id: expect.any(String),
            type: "function",
            function: { name: expect.any(String) },
          });
        } else {
          expect(fragment).not.toHaveProperty("id");
          expect(fragment.function).not.toHaveProperty("name");
        }
      }
      expect([...seen]).toEqual(testCase.mock.toolCalls.map((_call, index) => index));
      const roles = events.filter(
        (event) =>
          (event.json?.choices as Array<{ delta: { role?: string } }> | undefined)?.[0]?.delta.role !== undefined,
      );
      expect(roles).toHaveLength(1);
    });

    it(`assembles ${testCase.name} into one non-streamed chat.completion`, async () => {
      const completion = (await client.chat.completions.create({
        model: "gpt-4o",
        messages: [user as never],
        tools: [weatherTool as never, endCallTool as never],
        mock: testCase.mock,
      } as never)) as OpenAI.ChatCompletion;
      const choice = completion.choices[0]!;
      expect(choice.finish_reason).toBe("tool_calls");
      expect(choice.message.content).toBe(testCase.mock.textBeforeToolCalls ? testCase.mock.text : null);
      expect(
        choice.message.tool_calls!.map((call) => ({
          type: call.type,
          function: (call as OpenAI.ChatCompletionMessageFunctionToolCall).function,
        })),
      ).toEqual(
        testCase.mock.toolCalls.map((call) => ({
          type: "function",
          function: { name: call.name, arguments: call.arguments },
        })),
      );
      for (const call of choice.message.tool_calls!) expect(call.id).toMatch(/^call_mock_/);
    });
  }

  it("lets the openai SDK's stream helper assemble a streamed tool call", async () => {
    const stream = client.chat.completions.stream({
      model: "gpt-4o",
      messages: [user as never],
      tools: [weatherTool as never],
      mock: { toolCalls: [{ name: "get_weather", arguments: '{"location":"New York, NY"}' }] },
    } as never);
    const completion = await stream.finalChatCompletion();
    const call = completion.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.function).toEqual({ name: "get_weather", arguments: '{"location":"New York, NY"}' });
    expect(JSON.parse(call.function.arguments)).toEqual({ location: "New York, NY" });
  });
});

describe("errors before the first token", () => {
  async function failure(
    fail: Record<string, unknown>,
    model = "gpt-4o",
  ): Promise<{ error: APIError; response: Response }> {
    const body = { model, messages: [user], stream: true, mock: { fail } };
    const response = await post(stack.urls[0]!, body);
    let caught: unknown;
    try {
      const stream = await client.chat.completions.create(body as never);
      for await (const _chunk of stream as unknown as AsyncIterable<unknown>) void _chunk;
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(APIError);
    return { error: caught as APIError, response };
  }

  it("maps an upstream 429 to 429 with Retry-After and retry-after-ms (RateLimitError)", async () => {
    const { error, response } = await failure({ kind: "http", status: 429, retryAfterSeconds: 7 });
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.status).toBe(429);
    expect(error.code).toBe("upstream_rate_limited");
    expect(response.headers.get("retry-after")).toBe("7");
    expect(response.headers.get("retry-after-ms")).toBe("7000");
    expect(response.headers.get("x-should-retry")).toBeNull();
  });

  for (const status of [500, 502, 503]) {
    it(`maps an upstream ${status} to 502 upstream_unavailable, retryable`, async () => {
      const { error, response } = await failure({ kind: "http", status });
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect(error.status).toBe(502);
      expect(error.code).toBe("upstream_unavailable");
      expect(response.headers.get("x-should-retry")).toBeNull();
    });
  }

  it("maps an upstream 400 to 400 upstream_bad_request, marked not to be retried", async () => {
    const { error, response } = await failure({
      kind: "http",
      status: 400,
      message: "Invalid value for 'temperature'.",
    });
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.code).toBe("upstream_bad_request");
    // The gateway's own words: the upstream's status and category, never its text.
    expect(error.message).toBe(
      "400 The upstream model provider rejected the request (HTTP 400, invalid_request_error).",
    );
    expect(response.headers.get("x-should-retry")).toBe("false");
  });

  it("maps rejected upstream credentials to 502 upstream_auth_failed, marked not to be retried", async () => {
    const { error, response } = await failure({ kind: "http", status: 401 });
    expect(error.status).toBe(502);
    expect(error.code).toBe("upstream_auth_failed");
    expect(response.headers.get("x-should-retry")).toBe("false");
  });

  it("maps an upstream that never answers to 504 upstream_timeout", async () => {
    const { error } = await failure({ kind: "never-respond" });
    expect(error.status).toBe(504);
    expect(error.code).toBe("upstream_timeout");
  });

  for (const kind of ["in-stream-error", "reset"]) {
    it(`maps an upstream ${kind} before any token to 502 upstream_unavailable`, async () => {
      const { error, response } = await failure({ kind, afterTokens: 0 });
      expect(response.status).toBe(502);
      expect(error.code).toBe("upstream_unavailable");
    });
  }
});

describe("errors after the first token", () => {
  for (const kind of ["in-stream-error", "reset"]) {
    it(`end an upstream ${kind} with an in-stream error the openai SDK raises, then close`, async () => {
      const body = { model: "gpt-4o", messages: [user], stream: true, mock: { fail: { kind, afterTokens: 2 } } };
      const events = await readSse(await post(stack.urls[0]!, body));
      expect(events.at(-1)!.json).toMatchObject({ error: { code: "upstream_interrupted", type: "server_error" } });
      expect(events.some((event) => event.data === "[DONE]")).toBe(false);

      const pieces: string[] = [];
      let caught: unknown;
      try {
        const stream = await client.chat.completions.create(body as never);
        for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>)
          pieces.push(chunk.choices[0]?.delta.content ?? "");
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(APIError);
      expect((caught as APIError).code).toBe("upstream_interrupted");
      expect(pieces.join("")).toBe(mockTokens(6).slice(0, 2).join(""));
    });
  }
});

describe("a route's fallback sentence", () => {
  for (const fail of [
    { kind: "http", status: 500 },
    { kind: "http", status: 429, retryAfterSeconds: 3 },
    { kind: "never-respond" },
    { kind: "reset", afterTokens: 0 },
  ]) {
    it(`is spoken as a normal streamed answer when the upstream fails before any token (${JSON.stringify(fail)})`, async () => {
      const stream = await client.chat.completions.create({
        model: "voice-model",
        messages: [user as never],
        stream: true,
        mock: { fail },
      } as never);
      let text = "";
      const finishReasons: Array<string | null> = [];
      for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
        text += chunk.choices[0]?.delta.content ?? "";
        finishReasons.push(chunk.choices[0]?.finish_reason ?? null);
      }
      expect(text).toBe(fallbackSentence);
      expect(finishReasons.at(-1)).toBe("stop");
    });
  }

  it("answers a non-streamed request with the sentence too", async () => {
    const completion = (await client.chat.completions.create({
      model: "voice-model",
      messages: [user as never],
      mock: { fail: { kind: "http", status: 503 } },
    } as never)) as OpenAI.ChatCompletion;
    expect(completion.choices[0]!.message.content).toBe(fallbackSentence);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
  });

  for (const [status, code] of [
    [400, "upstream_bad_request"],
    [401, "upstream_auth_failed"],
  ] as const) {
    it(`is not used for a failure that would come back on every turn (upstream ${status}): that is an explicit error`, async () => {
      const caught = await client.chat.completions
        .create({
          model: "voice-model",
          messages: [user as never],
          stream: true,
          mock: { fail: { kind: "http", status } },
        } as never)
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(caught).toBeInstanceOf(APIError);
      expect((caught as APIError).code).toBe(code);
    });
  }

  it("is not used when the upstream answers, nor after the first token (the answer cannot be unsaid)", async () => {
    const ok = (await client.chat.completions.create({
      model: "voice-model",
      messages: [user as never],
    })) as OpenAI.ChatCompletion;
    expect(ok.choices[0]!.message.content).toBe(mockText(6));
    const events = await readSse(
      await post(stack.urls[0]!, {
        model: "voice-model",
        messages: [user],
        stream: true,
        mock: { fail: { kind: "reset", afterTokens: 2 } },
      }),
    );
    expect(events.at(-1)!.json).toMatchObject({ error: { code: "upstream_interrupted" } });
  });
});

describe("buffer words", () => {
  function contents(events: Awaited<ReturnType<typeof readSse>>): string[] {
    return events.flatMap((event) => {
      const content = (event.json?.choices as Array<{ delta: { content?: string } }> | undefined)?.[0]?.delta.content;
      return typeof content === "string" && content !== "" ? [content] : [];
    });
  }

  it("with a slow upstream, arrive once, before the upstream's first token, then the full answer follows", async () => {
    const tag = `buffer-${Date.now()}`;
    const startedAt = performance.timeOrigin + performance.now();
    const events = await readSse(
      await post(stack.urls[0]!, {
        model: "buffered",
        messages: [user],
        stream: true,
        mock: { firstTokenDelayMs: 1500, tag },
      }),
    );
    const record = mock.stats().recent.find((entry) => entry.tag === tag)!;
    expect(contents(events)).toEqual(["... ", ...mockTokens(6)]);
    // The buffer chunk was read by the client before the upstream had written its first token, and
    // not before the route's delay.
    expect(events[0]!.at).toBeLessThan(record.firstByteAt!);
    expect(events[0]!.at - startedAt).toBeGreaterThanOrEqual(100);
    expect(events[0]!.json).toMatchObject({
      choices: [{ delta: { role: "assistant", content: "... " }, finish_reason: null }],
    });
    expect(
      events.filter(
        (event) => (event.json?.choices as Array<{ delta: { role?: string } }> | undefined)?.[0]?.delta.role,
      ).length,
    ).toBe(1);
    expect(new Set(events.filter((event) => event.json).map((event) => event.json!.id)).size).toBe(1);
    expect(events.at(-1)!.data).toBe("[DONE]");
  });

  it("with afterMs 0 arrive at once, with the configured text and its trailing space", async () => {
    const events = await readSse(
      await post(stack.urls[0]!, {
        model: "buffered-at-once",
        messages: [user],
        stream: true,
        mock: { firstTokenDelayMs: 300 },
      }),
    );
    expect(contents(events)).toEqual(["Let me think about that... ", ...mockTokens(6)]);
  });

  it("are not sent when the first token comes before the delay", async () => {
    const events = await readSse(
      await post(stack.urls[0]!, {
        model: "buffered-late",
        messages: [user],
        stream: true,
        mock: { firstTokenDelayMs: 0, tokenDelayMs: 50 },
      }),
    );
    expect(contents(events)).toEqual(mockTokens(6));
  });

  it("are not sent to non-streaming requests", async () => {
    const completion = (await client.chat.completions.create({
      model: "buffered-at-once",
      messages: [user as never],
    })) as OpenAI.ChatCompletion;
    expect(completion.choices[0]!.message.content).toBe(mockText(6));
  });

  it("once sent, make a later upstream failure end in-stream (the headers are out)", async () => {
    const response = await post(stack.urls[0]!, {
      model: "buffered-at-once",
      messages: [user],
      stream: true,
      mock: { firstTokenDelayMs: 200, fail: { kind: "http", status: 500 } },
    });
    expect(response.status).toBe(200);
    const events = await readSse(response);
    expect(contents(events)).toEqual(["Let me think about that... "]);
    expect(events.at(-1)!.json).toMatchObject({ error: { code: "upstream_unavailable" } });
  });

  it("followed by the fallback sentence when the route has one", async () => {
    const events = await readSse(
      await post(stack.urls[0]!, {
        model: "buffered-voice",
        messages: [user],
        stream: true,
        mock: { fail: { kind: "http", status: 500 } },
      }),
    );
    expect(contents(events)).toEqual(["... ", fallbackSentence]);
    expect(events.at(-2)!.json).toMatchObject({ choices: [{ finish_reason: "stop" }] });
    expect(events.at(-1)!.data).toBe("[DONE]");
  });
});
