// The openai provider over its node:http fetch, against a real server on loopback (SSE for a
// streamed call, one chat.completion otherwise): the upstream's socket is kept after a finished
// answer and closed at once when the call is stopped.
import { EventEmitter, once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { APIError, APIUserAbortError } from "openai";
import { GatewayError } from "@switchboard/protocol";
import { createNodeFetch } from "./node-fetch.ts";
import { createOpenAIProvider } from "./openai-provider.ts";
import type { Provider, UpstreamChunk } from "./provider.ts";

const sockets: Socket[] = [];
/** Responses the server holds open (the "hold" model), to be written to by the test. */
const held: ServerResponse[] = [];
/** The "late-end" responses and their sockets. */
const lateEnds: Array<{ res: ServerResponse; socket: Socket }> = [];
/** Every request body the server received, in order. */
const received: Array<Record<string, unknown>> = [];
/** The method, path and headers of every request the server received, in order. */
const requests: Array<{ method?: string | undefined; url?: string | undefined; headers: Record<string, unknown> }> = [];
/** Emits "held" when the server starts holding a response, "response" when the client has a response's headers. */
const serverEvents = new EventEmitter();
interface Received {
  model: string;
  stream?: boolean;
  messages: Array<{ content: string }>;
}
const server = createServer(async (req, res) => {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as Received;
  received.push(body as unknown as Record<string, unknown>);
  requests.push({ method: req.method, url: req.url, headers: req.headers });
  // "status-NNN": that HTTP status with an OpenAI error body (and a Retry-After).
  const status = /^status-(\d{3})$/.exec(body.model)?.[1];
  if (status) {
    res.writeHead(Number(status), { "content-type": "application/json", "retry-after": "7" });
    return res.end(JSON.stringify({ error: { message: `status ${status}`, type: "test_error" } }));
  }
  if (body.stream !== true) return answerWhole(body, res);
  res.writeHead(200, { "content-type": "text/event-stream" });
  if (body.model === "error")
    return res.end(`data: ${JSON.stringify({ error: { message: "boom", type: "server_error" } })}\n\n`);
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  // Echo the prompt's characters one by one, so non-ASCII has to survive both ways.
  const tokens = [...(body.messages[0]?.content ?? "")].map((character) => chunk({ content: character }));
  // "careless-tools": tool calls as some OpenAI-compatible upstreams stream them (no index, the id
  // only on a call's first fragment, finish_reason stop), between keep-alive chunks with nothing in them.
  if (body.model === "careless-tools") {
    const empty = `data: ${JSON.stringify({ model: body.model, choices: [] })}\n\n`;
    return res.end(
      empty +
        chunk({ role: "assistant", content: "" }) +
        chunk({ tool_calls: [{ id: "call_a", function: { name: "get_weather", arguments: "" } }] }) +
        chunk({ tool_calls: [{ function: { arguments: '{"city":"Paris"}' } }] }) +
        chunk({ tool_calls: [{ id: "call_b", function: { name: "get_time", arguments: "{}" } }] }) +
        empty +
        chunk({}, "stop") +
        "data: [DONE]\n\n",
    );
  }
  if (body.model === "hold") {
    res.write(tokens[0] ?? "");
    held.push(res);
    return;
  }
  const answer = `${tokens.join("")}${chunk({}, "stop")}data: [DONE]\n\n`;
  // "late-end": the body's end comes in a later packet than [DONE], as it may from a real upstream.
  if (body.model === "late-end") {
    lateEnds.push({ res, socket: req.socket });
    res.write(answer, () => setTimeout(() => res.end(), 20));
  } else res.end(answer);
});
server.on("connection", (socket) => sockets.push(socket));

const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
const weather = { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } };
const time = { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } };

/** A non-streamed call: one chat.completion echoing the prompt, or what the model names. */
function answerWhole(body: Received, res: ServerResponse): void {
  const send = (value: unknown) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  const completion = (message: object, finishReason: string) => ({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 0,
    model: `${body.model}-2024`,
    choices: [
      {
        index: 0,
        message: { role: "assistant", refusal: null, ...message },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage,
  });
  if (body.model === "hold") {
    // Headers and the start of the body, then nothing until the test ends it.
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"id":"chatcmpl-1",');
    held.push(res);
    serverEvents.emit("held");
    return;
  }
  if (body.model === "silent") {
    held.push(res);
    serverEvents.emit("held");
    return;
  }
  if (body.model === "error") return send({ error: { message: "boom", type: "server_error" } });
  if (body.model === "no-choices")
    return send({ id: "chatcmpl-1", object: "chat.completion", model: body.model, choices: [], usage });
  if (body.model === "tools") return send(completion({ content: null, tool_calls: [weather, time] }, "tool_calls"));
  send(completion({ content: body.messages[0]?.content ?? "" }, "stop"));
}
let provider: Provider;
/** The test server's base URL, as a provider is configured with it. */
let baseUrl: string;

beforeAll(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  // The provider's own node:http fetch, telling the test when a response's headers are in.
  const nodeFetch = createNodeFetch();
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const response = await nodeFetch(input, init);
    serverEvents.emit("response");
    return response;
  };
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  provider = createOpenAIProvider({ name: "test", apiKey: "k", baseUrl, timeoutMs: 5_000, fetch });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function call(model: string, content: string, signal = new AbortController().signal): AsyncIterator<UpstreamChunk> {
  return provider
    .stream({ body: { messages: [{ role: "user", content }] }, model, stream: true, signal })
    [Symbol.asyncIterator]();
}

/** A call for a client that asked for one answer; the body carries what such a client sends. */
function callWhole(
  model: string,
  content: string,
  extra: { signal?: AbortSignal; timeoutMs?: number } = {},
): AsyncIterator<UpstreamChunk> {
  const body = { messages: [{ role: "user", content }], stream: false, stream_options: { include_usage: true } };
  const request = {
    body,
    model,
    stream: false,
    signal: extra.signal ?? new AbortController().signal,
    ...(extra.timeoutMs === undefined ? {} : { timeoutMs: extra.timeoutMs }),
  };
  return provider.stream(request)[Symbol.asyncIterator]();
}

async function failure(iterator: AsyncIterator<UpstreamChunk>): Promise<unknown> {
  return all(iterator).then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function all(iterator: AsyncIterator<UpstreamChunk>): Promise<UpstreamChunk[]> {
  const chunks: UpstreamChunk[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) chunks.push(next.value);
  return chunks;
}

describe("the openai provider over node:http", () => {
  it("streams every delta, non-ASCII intact, and reuses one socket for calls one after another", async () => {
    const before = sockets.length;
    const first = await all(call("m", "é✓🎙"));
    expect(first.map((chunk) => chunk.delta?.content ?? chunk.finishReason)).toEqual(["é", "✓", "🎙", "stop"]);
    expect(first[0]?.model).toBe("m");
    await all(call("m", "ab"));
    await all(call("m", "cd"));
    expect(sockets.length - before).toBe(1);
  });

  it("repairs carelessly streamed tool calls and yields nothing for empty chunks", async () => {
    expect(await all(call("careless-tools", "weather?"))).toEqual([
      {
        delta: {
          tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }],
        },
        model: "careless-tools",
      },
      { delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] } },
      {
        delta: {
          tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: "{}" } }],
        },
      },
      { finishReason: "tool_calls" },
    ]);
  });

  it("keeps the socket when the body's end comes after [DONE] (the rest is read, not cut)", async () => {
    expect((await all(call("late-end", "ab"))).map((chunk) => chunk.delta?.content ?? chunk.finishReason)).toEqual([
      "a",
      "b",
      "stop",
    ]);
    const { res, socket } = lateEnds.at(-1) as (typeof lateEnds)[0];
    if (!res.closed) await once(res, "close");
    expect(res.writableFinished).toBe(true);
    expect(socket.destroyed).toBe(false);
  });

  it("closes the upstream's socket at once when the call's signal aborts mid-stream", async () => {
    const controller = new AbortController();
    const iterator = call("hold", "xyz", controller.signal);
    expect((await iterator.next()).value).toMatchObject({ delta: { content: "x" } });
    const upstream = held.at(-1) as ServerResponse;
    const closed = once(upstream, "close");
    controller.abort(new GatewayError("upstream_timeout", { message: "stalled" }));
    await expect(iterator.next()).rejects.toMatchObject({ code: "upstream_timeout" });
    await closed;
    expect(upstream.socket?.destroyed ?? true).toBe(true);
  });

  it("closes the upstream's socket when the consumer stops reading before the end", async () => {
    const iterator = call("hold", "xyz");
    await iterator.next();
    const upstream = held.at(-1) as ServerResponse;
    const closed = once(upstream, "close");
    await iterator.return?.();
    await closed;
  });
});

describe("a non-streamed call (the client asked for one answer)", () => {
  it("asks the upstream for one answer, without stream_options, and yields it as one chunk", async () => {
    const streamedBefore = received.length;
    await all(call("m", "ab"));
    expect(received[streamedBefore]).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    const before = received.length;
    const chunks = await all(callWhole("m", "é✓🎙"));
    expect(received[before]).toMatchObject({ model: "m", stream: false });
    expect(received[before]).not.toHaveProperty("stream_options");
    expect(chunks).toEqual([{ delta: { content: "é✓🎙" }, finishReason: "stop", usage, model: "m-2024" }]);
  });

  it("decodes a long answer whole (characters split across reads survive) and reuses the socket", async () => {
    const text = "é✓🎙".repeat(50_000);
    const [first] = await all(callWhole("m", text));
    expect(first?.delta?.content).toBe(text);
    const before = sockets.length;
    await all(callWhole("m", "again"));
    await all(callWhole("m", "and again"));
    expect(sockets.length).toBe(before);
  });

  it("gives each tool call its position as index, and drops the null content", async () => {
    const chunks = await all(callWhole("tools", "weather?"));
    expect(chunks).toEqual([
      {
        delta: {
          tool_calls: [
            { index: 0, ...weather },
            { index: 1, ...time },
          ],
        },
        finishReason: "tool_calls",
        usage,
        model: "tools-2024",
      },
    ]);
  });

  it("turns an error body into the same error as an error event in a stream", async () => {
    const streamed = await failure(call("error", "x"));
    const whole = await failure(callWhole("error", "x"));
    expect(streamed).toBeInstanceOf(GatewayError);
    expect(whole).toBeInstanceOf(GatewayError);
    expect({ code: (whole as GatewayError).code, message: (whole as GatewayError).message }).toEqual({
      code: (streamed as GatewayError).code,
      message: (streamed as GatewayError).message,
    });
    expect((whole as GatewayError).code).toBe("upstream_unavailable");
    // Worded for both: no "mid-stream" for an answer that was never a stream.
    expect((whole as GatewayError).message).toBe(
      "The upstream model provider reported an error in its answer (server_error).",
    );
    // The upstream's own words are kept for the log, never in the message.
    expect((whole as GatewayError).detail).toBe("test: boom");
  });

  it("yields an answer without choices as a chunk without a finish reason (the worker's explicit error)", async () => {
    expect(await all(callWhole("no-choices", "x"))).toEqual([{ usage, model: "no-choices" }]);
  });

  it("closes the upstream's socket at once when the call's signal aborts while the answer is being read", async () => {
    const controller = new AbortController();
    const headersIn = once(serverEvents, "response");
    const pending = failure(callWhole("hold", "xyz", { signal: controller.signal }));
    await headersIn;
    const upstream = held.at(-1) as ServerResponse;
    const closed = once(upstream, "close");
    controller.abort(new GatewayError("upstream_timeout", { message: "stalled" }));
    expect(await pending).toMatchObject({ code: "upstream_timeout" });
    await closed;
    expect(upstream.socket?.destroyed ?? true).toBe(true);
  });

  it("is bounded by timeoutMs when the upstream never answers", async () => {
    const holding = once(serverEvents, "held");
    const pending = failure(callWhole("silent", "xyz", { timeoutMs: 200 }));
    await holding;
    const upstream = held.at(-1) as ServerResponse;
    const closed = once(upstream, "close");
    expect(await pending).toMatchObject({ code: "upstream_timeout" });
    await closed;
  });
});

// The provider sends with the SDK's generic `client.post` rather than `chat.completions.create`:
// the SDK still builds, sends and checks the request.
describe("the request the SDK builds and checks", () => {
  it("POSTs the JSON body to the chat completions path with the key as bearer auth", async () => {
    const before = requests.length;
    await all(call("m", "ab"));
    await all(callWhole("m", "ab"));
    for (const [index, stream] of [true, false].entries()) {
      const { method, url, headers } = requests[before + index] as (typeof requests)[0];
      expect({ method, url }).toEqual({ method: "POST", url: "/v1/chat/completions" });
      expect(headers).toMatchObject({
        authorization: "Bearer k",
        "content-type": "application/json",
        accept: "application/json",
      });
      expect(received[before + index]).toMatchObject({
        model: "m",
        stream,
        messages: [{ role: "user", content: "ab" }],
      });
    }
  });

  it("turns an HTTP error status into the SDK's APIError, once (no retries)", async () => {
    const before = requests.length;
    const limited = (await failure(callWhole("status-429", "x"))) as GatewayError;
    expect(limited).toMatchObject({ code: "upstream_rate_limited", retryAfterSeconds: 7 });
    expect(limited.cause).toBeInstanceOf(APIError);
    expect((limited.cause as APIError).status).toBe(429);
    expect(await failure(call("status-401", "x"))).toMatchObject({ code: "upstream_auth_failed" });
    expect(await failure(call("status-500", "x"))).toMatchObject({
      code: "upstream_unavailable",
      message: "The upstream model provider failed (HTTP 500, server_error).",
      detail: "test: status 500",
    });
    expect(requests.length - before).toBe(3);
  });

  it("puts no prompt in the SDK's log lines, even the debug ones OPENAI_LOG turns on", async () => {
    const before = process.env.OPENAI_LOG;
    process.env.OPENAI_LOG = "debug";
    const spies = (["debug", "info", "log", "warn", "error"] as const).map((level) => vi.spyOn(console, level));
    try {
      const debugging = createOpenAIProvider({ name: "test", apiKey: "k", baseUrl, timeoutMs: 5_000 });
      const chunks = await all(
        debugging
          .stream({
            body: { messages: [{ role: "user", content: "a private prompt" }] },
            model: "m",
            stream: false,
            signal: new AbortController().signal,
          })
          [Symbol.asyncIterator](),
      );
      expect(chunks).toHaveLength(1);
      const logged = spies.flatMap((spy) => spy.mock.calls).map((args) => JSON.stringify(args));
      // The SDK did log at debug: the request and the response, with their details.
      expect(logged.filter((line) => /sending request|response start/.test(line))).toHaveLength(2);
      expect(logged.filter((line) => line.includes("a private prompt"))).toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
      if (before === undefined) delete process.env.OPENAI_LOG;
      else process.env.OPENAI_LOG = before;
    }
  });

  it("is stopped by the SDK when the call's signal aborts before the upstream answers", async () => {
    const controller = new AbortController();
    const holding = once(serverEvents, "held");
    const pending = failure(callWhole("silent", "xyz", { signal: controller.signal }));
    await holding;
    const upstream = held.at(-1) as ServerResponse;
    const closed = once(upstream, "close");
    controller.abort();
    const error = (await pending) as GatewayError;
    expect(error.cause).toBeInstanceOf(APIUserAbortError);
    await closed;
  });
});
