// Every response names its request: the x-request-id header on successes, errors and streams (read
// by the real openai SDK into response._request_id and error.requestID), error bodies carrying the
// same id, and a caller's own x-request-id recorded in the request's log lines (never used as the id).
import { request as httpRequest } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readSse } from "@switchboard/testing";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";

const gatewayId = /^[A-Za-z0-9_-]{16}$/;
const key = "sb-request-ids-test-key-91c3";

let mock: MockUpstream;
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 4, tokenDelayMs: 1 });
  const { url } = await mock.listen(0);
  stack = await startStack("request-ids", {
    routes: {
      providers: {
        sim: { type: "simulated" },
        upstream: { type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" },
      },
      routes: { "switchboard-sim": { provider: "sim" }, "via-mock": { provider: "upstream", passFields: ["mock"] } },
    },
    env: { SIMULATED_FIRST_TOKEN_DELAY_MS: "1", SIMULATED_TOKEN_DELAY_MS: "1" },
    // Debug: the "request ended" line is logged for every request.
    ingressEnv: { API_KEYS: key, LOG_LEVEL: "debug" },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: key, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

const messages = [{ role: "user" as const, content: "Hi" }];

/** A raw HTTP/1.1 request, as curl would send it: status, headers and the whole body. */
function rawRequest(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(stack.urls[0]!);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: url.hostname, port: url.port, path, method: options.method ?? "GET", headers: options.headers ?? {} },
      (incoming) => {
        let body = "";
        incoming.setEncoding("utf8");
        incoming.on("data", (text: string) => (body += text));
        incoming.on("end", () => resolve({ status: incoming.statusCode!, headers: incoming.headers, body }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

/** The ingress's parsed log lines that name this request. */
function ingressLinesOf(requestId: string): Array<Record<string, unknown>> {
  return stack.ingresses[0]!.output.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      return entry.requestId === requestId ? [entry] : [];
    } catch {
      return [];
    }
  });
}

describe("the openai SDK sees the gateway's request id", () => {
  it("on a non-streamed answer (response._request_id) and a streamed one (the response header)", async () => {
    const completion = await client.chat.completions.create({ model: "switchboard-sim", messages });
    expect(completion._request_id).toMatch(gatewayId);

    const { data: stream, response } = await client.chat.completions
      .create({ model: "switchboard-sim", messages, stream: true })
      .withResponse();
    for await (const _chunk of stream);
    expect(response.headers.get("x-request-id")).toMatch(gatewayId);
    expect(response.headers.get("x-request-id")).not.toBe(completion._request_id);
  });

  it("on an HTTP error: error.requestID, the same id as error.request_id in the body", async () => {
    const error = await client.chat.completions.create({ model: "no-such-model", messages }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.requestID).toMatch(gatewayId);
    expect(apiError.error).toMatchObject({ code: "model_not_found", request_id: apiError.requestID });
  });

  it("on an error in the middle of a stream: the error event carries the id of the stream's header", async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: "via-mock",
        messages,
        stream: true,
        mock: { fail: { kind: "in-stream-error", afterTokens: 2 } },
      } as never)
      .withResponse();
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toMatch(gatewayId);
    let caught: unknown;
    try {
      for await (const _chunk of stream as unknown as AsyncIterable<unknown>);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect((caught as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      code: "upstream_interrupted",
      request_id: requestId,
    });
  });
});

describe("raw HTTP sees the request id on every response", () => {
  it("on refusals before the body is read, on bad bodies and on unknown paths", async () => {
    const cases = [
      { path: "/v1/chat/completions", method: "POST", headers: {}, body: "{}", status: 401 },
      {
        path: "/v1/chat/completions",
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
        body: "{not json",
        status: 400,
      },
      { path: "/v1/nowhere", method: "GET", headers: { authorization: `Bearer ${key}` }, status: 404 },
    ];
    for (const testCase of cases) {
      const answer = await rawRequest(testCase.path, testCase);
      expect(answer.status, testCase.path).toBe(testCase.status);
      const requestId = answer.headers["x-request-id"];
      expect(requestId).toMatch(gatewayId);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { request_id: requestId } });
    }
  });

  it("on a streamed answer and on /health", async () => {
    const streamed = await rawRequest("/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "switchboard-sim", messages, stream: true }),
    });
    expect(streamed.status).toBe(200);
    expect(streamed.headers["x-request-id"]).toMatch(gatewayId);
    expect(streamed.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const health = await rawRequest("/health");
    expect(health.headers["x-request-id"]).toMatch(gatewayId);
  });
});

describe("a caller's own x-request-id", () => {
  it("is recorded next to the gateway's id in the request's log lines, never used as the id", async () => {
    const callerId = "elevenlabs-turn-7f3a:2";
    const response = await fetch(`${stack.urls[0]}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "x-request-id": callerId },
      body: JSON.stringify({ model: "switchboard-sim", messages, stream: true }),
    });
    const requestId = response.headers.get("x-request-id")!;
    expect(requestId).toMatch(gatewayId);
    expect(requestId).not.toBe(callerId);
    expect((await readSse(response)).at(-1)?.data).toBe("[DONE]");
    await vi.waitFor(async () => expect(ingressLinesOf(requestId).length > 0, "the request's log line").toBe(true), {
      timeout: 5000,
      interval: 25,
    });
    expect(ingressLinesOf(requestId)[0]).toMatchObject({ msg: "request ended", requestId, callerRequestId: callerId });
  });

  it("is left out when it is too long or carries other characters", async () => {
    for (const callerId of ["x".repeat(129), "has space", 'quote"d']) {
      const response = await fetch(`${stack.urls[0]}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "x-request-id": callerId },
        body: JSON.stringify({ model: "switchboard-sim", messages }),
      });
      const requestId = response.headers.get("x-request-id")!;
      expect(response.status).toBe(200);
      await response.json();
      await vi.waitFor(async () => expect(ingressLinesOf(requestId).length > 0, "the request's log line").toBe(true), {
        timeout: 5000,
        interval: 25,
      });
      expect(ingressLinesOf(requestId)[0]).not.toHaveProperty("callerRequestId");
    }
  });
});
