// Issue 5, acceptance 1 and 2: ingress and worker run as separate processes and export over the
// wire to a real OTLP/HTTP receiver in this test. Each request is one connected trace,
// SERVER (ingress) -> PRODUCER (ingress) -> CONSUMER (worker) -> CLIENT `chat {model}` (worker),
// with GenAI and gateway attributes; cancellations, upstream failures and fallbacks show as such.
// A caller's traceparent is a link unless TRUST_INCOMING_TRACEPARENT is on.
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { routesTo, startStack, type Stack } from "../support/stack.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "@switchboard/testing";

let mock: MockUpstream;
let receiver: OtlpReceiver;
let stack: Stack;
let client: OpenAI;
let mockUrlForRetries: string;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 12, tokenDelayMs: 1 });
  const mockUrl = (await mock.listen(0)).url;
  mockUrlForRetries = mockUrl;
  receiver = await startOtlpReceiver();
  stack = await startStack("tracing", {
    routes: {
      providers: {
        primary: { type: "openai", baseUrl: mockUrl, apiKeyEnv: "UPSTREAM_API_KEY" },
        // Nothing listens on port 9: connection refused, a retryable failure.
        dead: { type: "openai", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "UPSTREAM_API_KEY" },
      },
      routes: {
        "*": { provider: "primary", passFields: ["mock"] },
        "fallback-model": { provider: "dead", fallbacks: [{ provider: "primary" }], passFields: ["mock"] },
      },
    },
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "20",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test",
    },
    // One call per target, so each CLIENT span below is one target; the retry test has its own stack.
    workerEnv: { UPSTREAM_RETRIES: "0" },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
  await receiver?.close();
});

/** Waits for the trace whose SERVER span asked for model, until it holds `count` spans, and returns it. */
async function traceFor(model: string, count: number): Promise<{ server: ReceivedSpan; spans: ReceivedSpan[] }> {
  const find = (spans: ReceivedSpan[]) =>
    spans.find((span) => span.kind === "SERVER" && span.attributes["gen_ai.request.model"] === model);
  const all = await receiver.waitFor((spans) => {
    const server = find(spans);
    return server !== undefined && spans.filter((span) => span.traceId === server.traceId).length >= count;
  });
  const server = find(all)!;
  return { server, spans: all.filter((span) => span.traceId === server.traceId) };
}

function only(spans: ReceivedSpan[], kind: ReceivedSpan["kind"]): ReceivedSpan {
  const matching = spans.filter((span) => span.kind === kind);
  expect(matching, `one ${kind} span`).toHaveLength(1);
  return matching[0]!;
}

const uniqueModel = (label: string) => `${label}-${randomBytes(3).toString("hex")}`;

describe("one trace per request, across processes", () => {
  it("traces a Responses API request the same way, under its own route", async () => {
    const model = uniqueModel("responses");
    const stream = client.responses.stream({ model, input: "Hi" });
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    await stream.finalResponse();
    expect(deltas).toHaveLength(12);

    const { server, spans } = await traceFor(model, 4);
    expect(spans.map((span) => span.kind).sort()).toEqual(["CLIENT", "CONSUMER", "PRODUCER", "SERVER"]);
    expect(server.name).toBe("POST /v1/responses");
    expect(server.attributes).toMatchObject({
      "http.route": "/v1/responses",
      "http.response.status_code": 200,
      "gen_ai.operation.name": "chat",
      "gen_ai.request.stream": true,
      "switchboard.chunk.count": 12,
    });
    expect(only(spans, "CLIENT").name).toBe(`chat ${model}`);
  });

  it("links SERVER -> PRODUCER -> CONSUMER -> CLIENT with the GenAI and gateway attributes, and nothing per token", async () => {
    const model = uniqueModel("traced");
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let chunks = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) chunks++;
    expect(chunks).toBe(12);

    const { server, spans } = await traceFor(model, 4);
    const producer = only(spans, "PRODUCER");
    const consumer = only(spans, "CONSUMER");
    const call = only(spans, "CLIENT");
    // Exactly these four: no span per token, no Redis command spans.
    expect(spans).toHaveLength(4);

    expect(server.parentSpanId).toBeUndefined();
    expect(producer.parentSpanId).toBe(server.spanId);
    expect(consumer.parentSpanId).toBe(producer.spanId);
    expect(call.parentSpanId).toBe(consumer.spanId);
    expect([server.service, producer.service, consumer.service, call.service]).toEqual([
      "switchboard-ingress",
      "switchboard-ingress",
      "switchboard-worker",
      "switchboard-worker",
    ]);

    expect(server.name).toBe("POST /v1/chat/completions");
    expect(server.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.response.status_code": 200,
      "gen_ai.operation.name": "chat",
      "switchboard.chunk.count": 12,
      "switchboard.cancelled": false,
    });
    expect(server.attributes["switchboard.time_to_first_token"]).toBeGreaterThan(0);
    expect(server.events.map((event) => event.name)).toContain("switchboard.first_chunk");
    const requestId = server.attributes["switchboard.request_id"];
    expect(typeof requestId).toBe("string");

    expect(producer.name).toBe("send chat");
    expect(producer.attributes).toMatchObject({
      "messaging.system": "bullmq",
      "messaging.destination.name": "chat",
      "messaging.message.id": requestId,
    });
    expect(consumer.name).toBe("process chat");
    expect(consumer.attributes).toMatchObject({
      "switchboard.request_id": requestId,
      "switchboard.attempt": 1,
      "switchboard.outcome": "stop",
    });
    expect(consumer.attributes["switchboard.queue.wait"]).toBeGreaterThanOrEqual(0);

    expect(call.name).toBe(`chat ${model}`);
    expect(call.statusCode).not.toBe(2);
    expect(call.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": model,
      "gen_ai.response.model": model,
      "gen_ai.usage.output_tokens": 12,
      "gen_ai.response.finish_reasons": ["stop"],
      "switchboard.chunk.count": 12,
      "switchboard.fallback.index": 0,
      "switchboard.provider": "primary",
    });
    expect(call.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
    expect(call.attributes["gen_ai.response.time_to_first_chunk"]).toBeGreaterThan(0);
    expect(call.attributes).not.toHaveProperty("gen_ai.input.messages");
    // OTEL_RESOURCE_ATTRIBUTES reaches both services' resources.
    expect(spans.every((span) => span.resource["deployment.environment.name"] === "test")).toBe(true);
  });

  it("puts the gateway's request id (the x-request-id answered) and the caller's own x-request-id on the SERVER span", async () => {
    const model = uniqueModel("caller-id");
    const response = await fetch(`${stack.urls[0]}/chat/completions`, {
      method: "POST",
      headers: { "x-request-id": "caller-turn-42" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }] }),
    });
    expect(response.status).toBe(200);
    await response.json();
    const { server } = await traceFor(model, 4);
    expect(server.attributes).toMatchObject({
      "switchboard.request_id": response.headers.get("x-request-id"),
      "switchboard.caller_request_id": "caller-turn-42",
    });
  });

  it("gives non-streamed requests the same trace shape", async () => {
    const model = uniqueModel("collected");
    const completion = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }] });
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    const { server, spans } = await traceFor(model, 4);
    expect(spans.map((span) => span.kind).sort()).toEqual(["CLIENT", "CONSUMER", "PRODUCER", "SERVER"]);
    expect(server.attributes["gen_ai.request.stream"]).toBe(false);
  });

  it("shows a cancelled request as cancelled on both services", async () => {
    const model = uniqueModel("cancelled");
    const abort = new AbortController();
    const stream = await client.chat.completions.create(
      {
        model,
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        mock: { tokens: 200, tokenDelayMs: 20 },
      } as never,
      { signal: abort.signal },
    );
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      if (chunk.choices[0]?.delta.content) break; // leaving the loop aborts the response
    }
    abort.abort();
    const { server, spans } = await traceFor(model, 4);
    const consumer = only(spans, "CONSUMER");
    const call = only(spans, "CLIENT");
    expect(server.attributes["switchboard.cancelled"]).toBe(true);
    expect(server.events.map((event) => event.name)).toContain("switchboard.cancelled");
    expect(consumer.attributes["switchboard.cancelled"]).toBe(true);
    expect(
      consumer.events.find((event) => event.name === "switchboard.cancelled")?.attributes["switchboard.cancel.reason"],
    ).toBe("client-gone");
    expect(call.attributes["switchboard.cancelled"]).toBe(true);
    expect(call.attributes["switchboard.chunk.count"]).toBeLessThan(200);
    // A client going away is not a gateway failure.
    expect(consumer.statusCode).not.toBe(2);
  });

  it("shows a failed upstream call as an error with its code, on the call, the job and the request", async () => {
    const model = uniqueModel("failing");
    const response = await fetch(`${stack.urls[0]}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model,
        messages: [{ role: "user", content: "Hi" }],
        mock: { fail: { kind: "http", status: 503 } },
      }),
    });
    expect(response.status).toBe(502);
    const { server, spans } = await traceFor(model, 4);
    const consumer = only(spans, "CONSUMER");
    const call = only(spans, "CLIENT");
    for (const span of [call, consumer, server]) {
      expect(span.statusCode, span.name).toBe(2);
      expect(span.attributes["error.type"], span.name).toBe("upstream_unavailable");
      expect(span.attributes["switchboard.error.code"], span.name).toBe("upstream_unavailable");
    }
    expect(server.attributes["http.response.status_code"]).toBe(502);
  });

  it("shows a fallback as two CLIENT calls, the first failed, and a fallback event on the job", async () => {
    const completion = await client.chat.completions.create({
      model: "fallback-model",
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    const { spans } = await traceFor("fallback-model", 5);
    const consumer = only(spans, "CONSUMER");
    const calls = spans
      .filter((span) => span.kind === "CLIENT")
      .sort(
        (a, b) =>
          Number(a.attributes["switchboard.fallback.index"]) - Number(b.attributes["switchboard.fallback.index"]),
      );
    expect(calls).toHaveLength(2);
    expect(calls.every((call) => call.parentSpanId === consumer.spanId)).toBe(true);
    expect(calls[0]!.attributes).toMatchObject({
      "switchboard.fallback.index": 0,
      "switchboard.provider": "dead",
      "error.type": "upstream_unavailable",
    });
    expect(calls[0]!.statusCode).toBe(2);
    expect(calls[1]!.attributes).toMatchObject({
      "switchboard.fallback.index": 1,
      "switchboard.provider": "primary",
      "gen_ai.response.finish_reasons": ["stop"],
    });
    expect(calls[1]!.statusCode).not.toBe(2);
    const fallback = consumer.events.find((event) => event.name === "switchboard.fallback");
    expect(fallback?.attributes).toMatchObject({
      "switchboard.fallback.from": "dead",
      "switchboard.fallback.to": "primary",
      "error.type": "upstream_unavailable",
    });
    expect(consumer.statusCode).not.toBe(2);

    // The worker's log line about it carries the trace and span ids.
    const line = stack.workers[0]!.output.flatMap((text) =>
      text.startsWith("{") ? [JSON.parse(text) as Record<string, unknown>] : [],
    ).find((entry) => entry.msg === "upstream failed, trying fallback" && entry.trace_id === consumer.traceId);
    expect(line?.span_id).toBe(consumer.spanId);
  });
});

describe("a caller's traceparent", () => {
  const callerIds = () => ({ traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex") });
  const ask = (baseUrl: string, model: string, traceparent: string) =>
    fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { traceparent, tracestate: "caller=opaque" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }] }),
    });

  it("does not decide sampling: the gateway samples by its own sampler, starts its own trace and links the caller's", async () => {
    const model = uniqueModel("caller-unsampled");
    const caller = callerIds();
    // The caller says "do not sample"; this gateway's sampler (the default, always on for roots) decides.
    expect((await ask(stack.urls[0]!, model, `00-${caller.traceId}-${caller.spanId}-00`)).status).toBe(200);
    const { server, spans } = await traceFor(model, 4);
    expect(spans.map((span) => span.kind).sort()).toEqual(["CLIENT", "CONSUMER", "PRODUCER", "SERVER"]);
    expect(server.traceId).not.toBe(caller.traceId);
    expect(server.parentSpanId).toBeUndefined();
    expect(server.links).toEqual([{ traceId: caller.traceId, spanId: caller.spanId, traceState: undefined }]);
    expect(receiver.spans.some((span) => span.traceId === caller.traceId)).toBe(false);
  });

  it("with TRUST_INCOMING_TRACEPARENT=true, joins the caller's trace, on into the worker", async () => {
    const trusting = await stack.startIngress({ TRUST_INCOMING_TRACEPARENT: "true" });
    const model = uniqueModel("caller-trusted");
    const caller = callerIds();
    expect((await ask(String(trusting.readyLine.url), model, `00-${caller.traceId}-${caller.spanId}-01`)).status).toBe(
      200,
    );
    const { server, spans } = await traceFor(model, 4);
    expect(server.traceId).toBe(caller.traceId);
    expect(server.parentSpanId).toBe(caller.spanId);
    expect(server.links).toEqual([]);
    expect(only(spans, "CONSUMER").service).toBe("switchboard-worker");
    expect(only(spans, "CLIENT").parentSpanId).toBe(only(spans, "CONSUMER").spanId);
  });
});

describe("retries", () => {
  it("shows a retried upstream call as a second CLIENT span with its retry number", async () => {
    const retrying = await startStack("tracing-retry", {
      routes: routesTo(mockUrlForRetries),
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "20",
      },
      workerEnv: { UPSTREAM_RETRIES: "1", UPSTREAM_RETRY_BACKOFF_MS: "1" },
    });
    try {
      const model = uniqueModel("retried");
      const response = await fetch(`${retrying.urls[0]}/chat/completions`, {
        method: "POST",
        body: JSON.stringify({
          model,
          messages: [{ role: "user", content: "Hi" }],
          mock: { tag: model, fail: { kind: "http", status: 503, times: 1 } },
        }),
      });
      expect(response.status).toBe(200);
      const { spans } = await traceFor(model, 5);
      const calls = spans
        .filter((span) => span.kind === "CLIENT")
        .sort(
          (a, b) =>
            Number(a.attributes["switchboard.upstream.retry"]) - Number(b.attributes["switchboard.upstream.retry"]),
        );
      expect(calls.map((call) => call.attributes["switchboard.upstream.retry"])).toEqual([0, 1]);
      expect(calls[0]!.statusCode).toBe(2);
      expect(calls[1]!.statusCode).not.toBe(2);
    } finally {
      await retrying.stop();
    }
  });
});

describe("without a collector", () => {
  it("serves requests normally when the configured collector does not answer", async () => {
    // Port 9: nothing listens; every export fails, as fast as the exporter lets it.
    const lonely = await startStack("no-collector", {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", OTEL_BSP_SCHEDULE_DELAY: "1" },
    });
    try {
      const lonelyClient = new OpenAI({ baseURL: lonely.urls[0], apiKey: "unused", maxRetries: 0 });
      const answers = await Promise.all(
        Array.from({ length: 5 }, () =>
          lonelyClient.chat.completions.create({
            model: "switchboard-sim",
            messages: [{ role: "user", content: "Hi" }],
          }),
        ),
      );
      expect(answers.map((answer) => answer.choices[0]!.finish_reason)).toEqual([
        "stop",
        "stop",
        "stop",
        "stop",
        "stop",
      ]);
      expect(lonely.ingresses[0]!.readyLine.tracing).toBe(true);
      expect(lonely.ingresses[0]!.child.exitCode).toBeNull();
      expect(lonely.workers[0]!.child.exitCode).toBeNull();
    } finally {
      await lonely.stop();
    }
  });
});
