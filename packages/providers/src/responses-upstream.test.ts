// The openai provider with api: responses, against a real Responses-API server on loopback: what it
// sends, and the chunks it makes of the events (or the one answer) it gets back.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayError } from "@switchboard/protocol";
import { createOpenAIProvider } from "./openai-provider.ts";
import type { Provider, UpstreamChunk } from "./provider.ts";

const received: Array<{ url: string | undefined; body: Record<string, unknown> }> = [];
const usage = { input_tokens: 4, output_tokens: 3, total_tokens: 7, output_tokens_details: { reasoning_tokens: 1 } };
const message = { type: "message", id: "msg_1", role: "assistant", status: "in_progress", content: [] };
const call = {
  type: "function_call",
  id: "fc_1",
  call_id: "call_x",
  name: "weather",
  arguments: "",
  status: "in_progress",
};

/** The events each model answers with. */
const streams: Record<string, Array<Record<string, unknown>>> = {
  tools: [
    { type: "response.created", response: { id: "resp_1", model: "m-2025", status: "in_progress", output: [] } },
    { type: "response.in_progress", response: { id: "resp_1", status: "in_progress", output: [] } },
    { type: "response.output_item.added", output_index: 0, item: message },
    { type: "response.output_text.delta", output_index: 0, item_id: "msg_1", content_index: 0, delta: "Hel" },
    { type: "response.output_text.delta", output_index: 0, item_id: "msg_1", content_index: 0, delta: "lo" },
    { type: "response.output_item.done", output_index: 0, item: { ...message, status: "completed" } },
    { type: "response.output_item.added", output_index: 1, item: call },
    { type: "response.function_call_arguments.delta", output_index: 1, item_id: "fc_1", delta: '{"city":' },
    { type: "response.function_call_arguments.delta", output_index: 1, item_id: "fc_1", delta: '"Paris"}' },
    { type: "response.completed", response: { id: "resp_1", status: "completed", output: [], usage } },
  ],
  cut: [
    { type: "response.created", response: { id: "resp_2", model: "m", status: "in_progress", output: [] } },
    { type: "response.output_item.added", output_index: 0, item: message },
    { type: "response.output_text.delta", output_index: 0, item_id: "msg_1", content_index: 0, delta: "Long" },
    {
      type: "response.incomplete",
      response: { id: "resp_2", status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, usage },
    },
  ],
  failed: [
    { type: "response.created", response: { id: "resp_3", model: "m", status: "in_progress", output: [] } },
    { type: "response.output_item.added", output_index: 0, item: message },
    { type: "response.output_text.delta", output_index: 0, item_id: "msg_1", content_index: 0, delta: "Half" },
    {
      type: "response.failed",
      response: { id: "resp_3", status: "failed", error: { code: "server_error", message: "The model failed." } },
    },
  ],
};

const server = createServer(async (request, response) => {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>;
  received.push({ url: request.url, body });
  if (body.model === "limited") {
    response.writeHead(429, { "content-type": "application/json", "retry-after": "3" });
    return response.end(JSON.stringify({ error: { message: "slow down", type: "rate_limit_error" } }));
  }
  if (body.stream !== true) {
    response.writeHead(200, { "content-type": "application/json" });
    return response.end(
      JSON.stringify({
        id: "resp_4",
        object: "response",
        model: "m-2025",
        status: "completed",
        output: [
          { ...message, status: "completed", content: [{ type: "output_text", text: "Hello", annotations: [] }] },
          { ...call, arguments: "{}", status: "completed" },
        ],
        usage,
      }),
    );
  }
  response.writeHead(200, { "content-type": "text/event-stream" });
  response.end(
    (streams[String(body.model)] ?? [])
      .map(
        (event, index) =>
          `event: ${String(event.type)}\ndata: ${JSON.stringify({ ...event, sequence_number: index })}\n\n`,
      )
      .join(""),
  );
});

let provider: Provider;
beforeAll(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  provider = createOpenAIProvider({
    name: "native",
    apiKey: "k",
    api: "responses",
    timeoutMs: 5000,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
  });
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

async function chunks(model: string, stream = true): Promise<UpstreamChunk[]> {
  const all: UpstreamChunk[] = [];
  for await (const chunk of provider.stream({
    body: {
      model,
      messages: [{ role: "user", content: "Weather?" }],
      max_tokens: 50,
      stream_options: { include_usage: true },
    },
    model,
    stream,
    signal: AbortSignal.timeout(5000),
  }))
    all.push(chunk);
  return all;
}

const chatUsage = {
  prompt_tokens: 4,
  completion_tokens: 3,
  total_tokens: 7,
  prompt_tokens_details: { cached_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 1 },
};

describe("a provider with api: responses", () => {
  it("posts a Responses request that stores nothing, and streams text and a function call as chat deltas", async () => {
    expect(await chunks("tools")).toEqual([
      { delta: { content: "Hel" }, model: "m-2025" },
      { delta: { content: "lo" } },
      {
        delta: {
          tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "weather", arguments: "" } }],
        },
      },
      { delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } },
      { delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } },
      { finishReason: "tool_calls", usage: chatUsage },
    ]);
    expect(received.at(-1)).toEqual({
      url: "/v1/responses",
      body: {
        model: "tools",
        input: [{ role: "user", content: "Weather?" }],
        store: false,
        max_output_tokens: 50,
        stream: true,
      },
    });
  });

  it("ends an incomplete response with finish reason length", async () => {
    expect((await chunks("cut")).at(-1)).toEqual({ finishReason: "length", usage: chatUsage });
  });

  it("fails on response.failed, after what came before it", async () => {
    const seen: UpstreamChunk[] = [];
    const error = await (async () => {
      for await (const chunk of provider.stream({
        body: { model: "failed", messages: [{ role: "user", content: "Hi" }] },
        model: "failed",
        stream: true,
        signal: AbortSignal.timeout(5000),
      }))
        seen.push(chunk);
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(seen).toEqual([{ delta: { content: "Half" }, model: "m" }]);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe("upstream_unavailable");
  });

  it("gives a non-streamed answer as one chunk", async () => {
    expect(await chunks("whole", false)).toEqual([
      {
        delta: {
          content: "Hello",
          tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "weather", arguments: "{}" } }],
        },
        finishReason: "tool_calls",
        usage: chatUsage,
        model: "m-2025",
      },
    ]);
    expect(received.at(-1)!.body.stream).toBe(false);
  });

  it("turns an HTTP 429 into upstream_rate_limited with its Retry-After", async () => {
    const error = await chunks("limited").then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: "upstream_rate_limited", retryAfterSeconds: 3 });
  });
});
