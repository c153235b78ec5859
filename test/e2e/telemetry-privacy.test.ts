// No log line, exported span or error body carries the upstream API key or
// the message content of the requests (prompts and answers), on the openai provider's paths and on
// the native anthropic and gemini ones - unless the operator switched content
// capture on, and then only the upstream call's span carries the content, still never the key.
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";
import { startOtlpReceiver, type OtlpReceiver } from "@switchboard/testing";

const apiKey = `sk-test-${randomBytes(16).toString("hex")}`;
const prompt = `private-prompt-${randomBytes(6).toString("hex")}`;
const answerWord = `private-answer-${randomBytes(6).toString("hex")}`;
const answer = `The answer is ${answerWord}`;
const secrets = [apiKey, prompt, answerWord];

let mock: MockUpstream;
let mockUrl: string;
let receiver: OtlpReceiver;
const stacks: Stack[] = [];

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 8, tokenDelayMs: 1 });
  mockUrl = (await mock.listen(0)).url;
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await Promise.all(stacks.map((stack) => stack.stop()));
  await mock?.close();
  await receiver?.close();
});

function startTracedStack(label: string, extraEnv: Record<string, string> = {}): Promise<Stack> {
  return startStack(label, {
    routes: {
      providers: {
        primary: { type: "openai", baseUrl: mockUrl, apiKeyEnv: "UPSTREAM_API_KEY" },
        dead: { type: "openai", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "UPSTREAM_API_KEY" },
        anthropic: { type: "anthropic", baseUrl: new URL(mockUrl).origin, apiKeyEnv: "UPSTREAM_API_KEY" },
        gemini: { type: "gemini", baseUrl: new URL(mockUrl).origin, apiKeyEnv: "UPSTREAM_API_KEY" },
      },
      routes: {
        "*": { provider: "primary", passFields: ["mock"] },
        "fallback-model": { provider: "dead", fallbacks: [{ provider: "primary" }], passFields: ["mock"] },
        ...nativeRoutes(),
      },
    },
    env: {
      UPSTREAM_API_KEY: apiKey,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "20",
      ...extraEnv,
    },
    // Debug logs are the chattiest: if anything leaks into logs, it leaks there.
    ingressEnv: { LOG_LEVEL: "debug" },
    workerEnv: { LOG_LEVEL: "debug" },
  }).then((stack) => {
    stacks.push(stack);
    return stack;
  });
}

const nativeProviders = ["anthropic", "gemini"] as const;
const nativeKinds = ["stream", "collected", "tools", "auth", "echo", "midstream", "cut"] as const;

/** A route per native provider and request kind (`anthropic-stream`, …), and one falling back from one to the other. */
function nativeRoutes(): Record<string, unknown> {
  const routes: Record<string, unknown> = {
    "native-fallback": { provider: "anthropic", fallbacks: [{ provider: "gemini" }], passFields: ["mock"] },
  };
  for (const provider of nativeProviders)
    for (const kind of nativeKinds) routes[`${provider}-${kind}`] = { provider, passFields: ["mock"] };
  return routes;
}

/**
 * The native providers' paths: streamed, collected, with a tool call, failed in several ways (the
 * upstream quoting the key and the prompt in its error), and a fallback; returns the error bodies.
 */
async function exerciseNative(stack: Stack): Promise<{ models: string[]; errorBodies: string[] }> {
  const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "client-key-unused", maxRetries: 0 });
  const messages = [
    { role: "system" as const, content: `You are ${prompt}` },
    { role: "user" as const, content: `Tell me about ${prompt}` },
  ];
  const errorBodies: string[] = [];
  const models: string[] = ["native-fallback"];
  for (const provider of nativeProviders) {
    const model = (kind: (typeof nativeKinds)[number]) => {
      models.push(`${provider}-${kind}`);
      return `${provider}-${kind}`;
    };
    const stream = (await client.chat.completions.create({
      model: model("stream"),
      messages,
      stream: true,
      mock: { text: answer },
    } as never)) as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>;
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? "";
    expect(streamed).toBe(answer);
    const collected = (await client.chat.completions.create({
      model: model("collected"),
      messages,
      mock: { text: answer },
    } as never)) as OpenAI.ChatCompletion;
    expect(collected.choices[0]?.message.content).toBe(answer);
    const tools = (await client.chat.completions.create({
      model: model("tools"),
      messages,
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }],
      mock: { toolCalls: [{ name: "lookup", arguments: JSON.stringify({ about: prompt }) }] },
    } as never)) as OpenAI.ChatCompletion;
    expect(tools.choices[0]?.finish_reason).toBe("tool_calls");
    for (const [kind, fail, stream] of [
      ["auth", { kind: "http", status: 401, message: `invalid key ${apiKey}` }, false],
      ["echo", { kind: "http", status: 400, message: `cannot handle "${prompt}"` }, false],
      ["midstream", { kind: "in-stream-error", afterTokens: 2, message: `failed on "${prompt}"` }, true],
      ["cut", { kind: "reset", afterTokens: 2 }, true],
    ] as const) {
      const failed = await fetch(`${stack.urls[0]}/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: model(kind), messages, stream, mock: { text: answer, fail } }),
      });
      errorBodies.push(await failed.text());
    }
  }
  const tag = `native-fallback-${randomBytes(3).toString("hex")}`;
  await client.chat.completions.create({
    model: "native-fallback",
    messages,
    mock: { text: answer, tag, fail: { kind: "http", status: 529, times: 1, message: `overloaded by "${prompt}"` } },
  } as never);
  await receiver.waitFor((spans) =>
    models.every((name) =>
      spans.some(
        (span) =>
          span.kind === "CLIENT" &&
          span.attributes["gen_ai.request.model"] === name &&
          span.service === "switchboard-worker",
      ),
    ),
  );
  return { models, errorBodies };
}

/** Sends one request of every kind (streamed, collected, failed in several ways, fallback, cancelled); returns the error bodies. */
async function exercise(stack: Stack, label: string): Promise<{ models: string[]; errorBodies: string[] }> {
  const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "client-key-unused", maxRetries: 0 });
  const messages = [
    { role: "system" as const, content: `You are ${prompt}` },
    { role: "user" as const, content: `Tell me about ${prompt}` },
  ];
  const model = (kind: string) => `${label}-${kind}`;
  const errorBodies: string[] = [];

  const stream = await client.chat.completions.create({
    model: model("stream"),
    messages,
    stream: true,
    mock: { text: answer },
  } as never);
  let streamed = "";
  for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>)
    streamed += chunk.choices[0]?.delta.content ?? "";
  expect(streamed).toBe(answer);

  const collected = await client.chat.completions.create({
    model: model("collected"),
    messages,
    mock: { text: answer },
  } as never);
  expect((collected as OpenAI.ChatCompletion).choices[0]!.message.content).toBe(answer);

  await client.chat.completions.create({ model: "fallback-model", messages, mock: { text: answer } } as never);

  // The Responses API: the same content as instructions and input, streamed and not.
  const responsesInput = { instructions: `You are ${prompt}`, input: `Tell me about ${prompt}` };
  const responseStream = client.responses.stream({
    model: model("responses-stream"),
    ...responsesInput,
    mock: { text: answer },
  } as never);
  expect((await responseStream.finalResponse()).output_text).toBe(answer);
  const response = await client.responses.create({
    model: model("responses-collected"),
    ...responsesInput,
    mock: { text: answer },
  } as never);
  expect((response as OpenAI.Responses.Response).output_text).toBe(answer);

  for (const [kind, fail] of [
    ["auth", { kind: "http", status: 401 }],
    ["bad", { kind: "http", status: 400 }],
    ["midstream", { kind: "in-stream-error", afterTokens: 2 }],
  ] as const) {
    const response = await fetch(`${stack.urls[0]}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: model(kind),
        messages,
        stream: kind === "midstream",
        mock: { text: answer, fail },
      }),
    });
    errorBodies.push(await response.text());
  }
  for (const [kind, fail] of [
    ["responses-bad", { kind: "http", status: 400 }],
    ["responses-midstream", { kind: "in-stream-error", afterTokens: 2 }],
  ] as const) {
    const failed = await fetch(`${stack.urls[0]}/responses`, {
      method: "POST",
      body: JSON.stringify({
        model: model(kind),
        ...responsesInput,
        stream: kind === "responses-midstream",
        mock: { text: answer, fail },
      }),
    });
    errorBodies.push(await failed.text());
  }
  // An upstream that quotes the request back in its error: that text reaches neither the caller
  // (the gateway answers in its own words) nor logs or spans (quoted passages are elided there).
  const echoed = await fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: model("echo"),
      messages,
      mock: { fail: { kind: "http", status: 400, message: `cannot handle "${prompt}"` } },
    }),
  });
  expect(echoed.status).toBe(400);
  errorBodies.push(await echoed.text());
  // Invalid requests echo nothing of the body either.
  const invalid = await fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: model("invalid"),
      messages: [{ role: "user", content: prompt, extra: { deep: prompt } }],
      temperature: prompt,
    }),
  });
  expect(invalid.status).toBe(400);
  errorBodies.push(await invalid.text());

  const abort = new AbortController();
  const slow = await client.chat.completions.create(
    { model: model("cancelled"), messages, stream: true, mock: { tokens: 200, tokenDelayMs: 20 } } as never,
    { signal: abort.signal },
  );
  for await (const chunk of slow as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>)
    if (chunk.choices[0]?.delta.content) break;
  abort.abort();

  const models = [
    model("stream"),
    model("collected"),
    model("auth"),
    model("bad"),
    model("midstream"),
    model("echo"),
    model("cancelled"),
    "fallback-model",
    model("responses-stream"),
    model("responses-collected"),
    model("responses-bad"),
    model("responses-midstream"),
  ];
  // Every request's trace has arrived, down to the upstream call (the cancelled one ends last).
  await receiver.waitFor((spans) =>
    models.every((name) =>
      spans.some(
        (span) =>
          span.kind === "CLIENT" &&
          span.attributes["gen_ai.request.model"] === name &&
          span.service === "switchboard-worker",
      ),
    ),
  );
  await receiver.waitFor((spans) =>
    spans.some((span) => span.kind === "SERVER" && span.attributes["gen_ai.request.model"] === model("cancelled")),
  );
  return { models, errorBodies };
}

describe("no secrets and no message content in telemetry", () => {
  it("keeps the API key and the messages out of logs, spans and error bodies", async () => {
    const stack = await startTracedStack("privacy");
    const { errorBodies } = await exercise(stack, "private");

    // The content really was in play: the upstream saw the prompt, and the answer came back.
    expect(JSON.stringify(mock.stats().recent.map((call) => call.body))).toContain(prompt);
    expect(errorBodies).toHaveLength(7);
    const logLines = [...stack.ingresses, ...stack.workers].flatMap((service) => service.output);
    expect(logLines.length).toBeGreaterThan(10);
    expect(receiver.rawBodies.length).toBeGreaterThan(0);

    for (const secret of secrets) {
      expect(
        logLines.filter((line) => line.includes(secret)),
        `log lines containing ${secret}`,
      ).toEqual([]);
      expect(
        receiver.rawBodies.filter((body) => body.includes(secret)),
        `exported spans containing ${secret}`,
      ).toEqual([]);
      expect(
        errorBodies.filter((body) => body.includes(secret)),
        `error bodies containing ${secret}`,
      ).toEqual([]);
    }
    // Logs inside a request carry its trace ids.
    expect(logLines.some((line) => /"trace_id":"[0-9a-f]{32}","span_id":"[0-9a-f]{16}"/.test(line))).toBe(true);
  });

  it("keeps the API key and the messages out of logs, spans and error bodies on the anthropic and gemini paths", async () => {
    const stack = await startTracedStack("native-privacy");
    const { errorBodies } = await exerciseNative(stack);

    const seen = JSON.stringify(mock.stats().recent.map((call) => call.body));
    expect(seen).toContain(prompt);
    expect(seen).toContain('"contents"'); // Gemini's format
    expect(seen).toContain('"max_tokens"'); // Anthropic's format
    expect(errorBodies).toHaveLength(8);
    // The upstream calls' spans name the providers as OpenTelemetry's GenAI conventions do.
    const spans = await receiver.waitFor((all) => all.length > 0);
    const providerOf = (model: string) =>
      spans.find((span) => span.kind === "CLIENT" && span.attributes["gen_ai.request.model"] === model)?.attributes[
        "gen_ai.provider.name"
      ];
    expect(providerOf("anthropic-stream")).toBe("anthropic");
    expect(providerOf("gemini-stream")).toBe("gcp.gemini");
    const logLines = [...stack.ingresses, ...stack.workers].flatMap((service) => service.output);
    // The failures were logged (with the upstream's words, elided and scrubbed).
    expect(logLines.filter((line) => line.includes("upstream call failed")).length).toBeGreaterThanOrEqual(8);
    for (const secret of secrets) {
      expect(
        logLines.filter((line) => line.includes(secret)),
        `log lines containing ${secret}`,
      ).toEqual([]);
      expect(
        receiver.rawBodies.filter((body) => body.includes(secret)),
        `exported spans containing ${secret}`,
      ).toEqual([]);
      expect(
        errorBodies.filter((body) => body.includes(secret)),
        `error bodies containing ${secret}`,
      ).toEqual([]);
    }
  });

  it("records the content on the upstream call's span only when SWITCHBOARD_CAPTURE_CONTENT=true, and never the key", async () => {
    const stack = await startTracedStack("capture", { SWITCHBOARD_CAPTURE_CONTENT: "true" });
    const model = `captured-${randomBytes(3).toString("hex")}`;
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "client-key-unused", maxRetries: 0 });
    await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: `Tell me about ${prompt}` }],
      mock: { text: answer },
    } as never);
    const spans = await receiver.waitFor((all) =>
      all.some((span) => span.kind === "CLIENT" && span.attributes["gen_ai.request.model"] === model),
    );
    const call = spans.find((span) => span.kind === "CLIENT" && span.attributes["gen_ai.request.model"] === model)!;
    expect(JSON.parse(String(call.attributes["gen_ai.input.messages"]))).toEqual([
      { role: "user", parts: [{ type: "text", content: `Tell me about ${prompt}` }] },
    ]);
    expect(JSON.parse(String(call.attributes["gen_ai.output.messages"]))).toEqual([
      { role: "assistant", parts: [{ type: "text", content: answer }], finish_reason: "stop" },
    ]);
    const otherSpans = spans.filter((span) => span.traceId === call.traceId && span !== call);
    expect(JSON.stringify(otherSpans)).not.toContain(prompt);
    expect(receiver.rawBodies.some((body) => body.includes(apiKey))).toBe(false);
    const logLines = [...stack.ingresses, ...stack.workers].flatMap((service) => service.output);
    expect(logLines.some((line) => line.includes(prompt) || line.includes(apiKey))).toBe(false);
  });
});
