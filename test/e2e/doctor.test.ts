// Issue 3, acceptance 3: `switchboard doctor` passes against the project's own stack (simulated
// model and mock upstream, with authentication on) and fails, saying what to fix, against a
// deliberately broken server.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, runDoctor } from "@switchboard/doctor";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";

const key = "sb-doctor-test-key-5f0e";
const bin = fileURLToPath(new URL("../../node_modules/.bin/switchboard", import.meta.url));

let mock: MockUpstream;
let mockUrl: string;
let stack: Stack;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 8, tokenDelayMs: 1 });
  const { url } = await mock.listen(0);
  mockUrl = url;
  stack = await startStack("doctor", {
    routes: {
      providers: {
        sim: { type: "simulated" },
        upstream: { type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" },
      },
      routes: { "switchboard-sim": { provider: "sim" }, "*": { provider: "upstream", passFields: ["mock"] } },
    },
    env: { SIMULATED_FIRST_TOKEN_DELAY_MS: "1", SIMULATED_TOKEN_DELAY_MS: "1" },
    ingressEnv: { API_KEYS: key, AUTH_HEADER: "x-switchboard-key" },
  });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
  child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe("doctor against Switchboard", () => {
  it("passes every check through the CLI with the simulated model and the key in a custom header", async () => {
    const result = await runCli(["doctor", stack.urls[0]!, "--key", key, "--header", "x-switchboard-key"]);
    expect(result.stdout).not.toContain("FAIL");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("model switchboard-sim");
    expect(result.stdout).toContain("All checks passed.");
    for (const title of [
      "GET /health answers 200",
      "one id and one created across all chunks",
      "a forced tool call streams as OpenAI does",
      "a wrong or missing API key is rejected with 401",
    ]) {
      expect(result.stdout).toMatch(new RegExp(`PASS\\s+${title.replace(/[/()]/g, "\\$&")}`));
    }
    expect(result.stdout).not.toContain(key);
  });

  it("passes every check with the mock upstream behind the gateway and a Bearer key", async () => {
    const report = await runDoctor({ baseUrl: stack.urls[0]!, key, model: "mock-model" });
    expect(
      report.results.filter((result) => result.status !== "pass"),
      formatReport(report),
    ).toEqual([]);
    expect(report.results.map((result) => result.id)).toEqual([
      "health",
      "models",
      "auth",
      "completion",
      "elevenlabs-request",
      "sse-headers",
      "sse-framing",
      "chunk-shape",
      "stable-id",
      "role",
      "finish-reason",
      "done",
      "no-usage-chunk",
      "first-chunk",
      "usage-chunk",
      "tool-calls",
    ]);
    expect(report.ok).toBe(true);
  });

  it("passes against the mock upstream itself (any OpenAI-compatible endpoint), skipping the auth check without a key", async () => {
    const report = await runDoctor({ baseUrl: mockUrl, model: "mock-model" });
    expect(
      report.results.filter((result) => result.status === "fail"),
      formatReport(report),
    ).toEqual([]);
    expect(report.results.find((result) => result.id === "auth")!.status).toBe("skip");
  });

  it("fails the auth check when the key is wrong, saying so", async () => {
    const report = await runDoctor({ baseUrl: stack.urls[0]!, key: "not-a-key" });
    expect(report.ok).toBe(false);
    const models = report.results.find((result) => result.id === "models")!;
    expect(models.detail).toMatch(/HTTP 401.*invalid_api_key/);
    // The failing response's id, printed under the fix, finds the request in the gateway's logs.
    expect(models.requestId).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(formatReport(report)).toContain(`request id: ${models.requestId}`);
  });
});

describe("doctor --api-type responses against Switchboard", () => {
  it("passes every Responses check through the CLI, with the simulated model", async () => {
    const result = await runCli([
      "doctor",
      stack.urls[0]!,
      "--key",
      key,
      "--header",
      "x-switchboard-key",
      "--api-type",
      "responses",
    ]);
    expect(result.stdout).not.toContain("FAIL");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("model switchboard-sim, Responses API");
    for (const title of [
      "a wrong or missing API key is rejected with 401",
      "non-streaming answer is a complete response object",
      "accepts the Responses request ElevenLabs sends",
      "the events build the response as OpenAI's do",
      "a forced function call streams as a function_call item",
    ])
      expect(result.stdout).toMatch(new RegExp(`PASS\\s+${title.replace(/[()]/g, "\\$&")}`));
  });

  it("passes through a chat-completions upstream (the mock) too", async () => {
    const report = await runDoctor({
      baseUrl: stack.urls[0]!,
      key,
      header: "x-switchboard-key",
      model: "gpt-4o",
      apiType: "responses",
    });
    expect(report.results.filter((result) => result.status === "fail")).toEqual([]);
  });
});

describe("doctor against a broken server", () => {
  let broken: Server;
  let brokenUrl: string;

  beforeAll(async () => {
    // Mistakes real implementations make: a new id per chunk (echo-learn), role on every chunk,
    // no [DONE], a usage chunk nobody asked for, tool calls without id, a non-streamed answer
    // without usage (the reference guide's own example omits created and model in chunks).
    let sequence = 0;
    broken = createServer((request, response) => {
      let body = "";
      request.on("data", (data: Buffer) => (body += data.toString()));
      request.on("end", () => {
        if (request.url === "/health") return void response.end('{"status":"ok"}');
        if (request.url === "/v1/models")
          return void response.end('{"object":"list","data":[{"id":"broken-model","object":"model"}]}');
        const parsed = JSON.parse(body) as { stream?: boolean; tools?: unknown[] };
        if (!parsed.stream) {
          response.setHeader("content-type", "application/json");
          return void response.end(
            JSON.stringify({
              id: "chatcmpl-1",
              object: "chat.completion",
              created: 1,
              model: "broken-model",
              choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }],
            }),
          );
        }
        response.writeHead(200, { "content-type": "text/event-stream" });
        const chunk = (delta: unknown, finish: string | null) =>
          `data: ${JSON.stringify({ id: `chatcmpl-${++sequence}`, object: "chat.completion.chunk", created: 1, model: "broken-model", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        if (parsed.tools) {
          response.write(
            chunk(
              { role: "assistant", tool_calls: [{ index: 0, function: { name: "get_weather", arguments: "{}" } }] },
              null,
            ),
          );
          response.end(chunk({ role: "assistant" }, "tool_calls"));
          return;
        }
        response.write(chunk({ role: "assistant", content: "Hello" }, null));
        response.write(chunk({ role: "assistant", content: " there" }, null));
        response.write(chunk({}, "stop"));
        response.end(
          `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 1, model: "broken-model", choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })}\n\n`,
        );
      });
    });
    broken.listen(0, "127.0.0.1");
    await once(broken, "listening");
    brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    broken?.closeAllConnections();
    await new Promise((resolve) => broken?.close(resolve));
  });

  it("fails with what is wrong and how to fix it, and the CLI exits 1", async () => {
    const report = await runDoctor({ baseUrl: brokenUrl });
    const byId = Object.fromEntries(report.results.map((result) => [result.id, result]));
    expect(report.ok).toBe(false);
    expect(byId["health"]!.status).toBe("pass");
    expect(byId["stable-id"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/different ids in one stream/),
    });
    expect(byId["stable-id"]!.fix).toMatch(/one id/);
    expect(byId["done"]).toMatchObject({
      status: "fail",
      detail: "the last event is not data: [DONE]",
      fix: expect.stringContaining("data: [DONE]"),
    });
    expect(byId["role"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/later chunk\(s\) repeat delta.role/),
    });
    expect(byId["no-usage-chunk"]!.status).toBe("fail");
    expect(byId["completion"]).toMatchObject({ status: "fail", detail: expect.stringContaining("usage is missing") });
    expect(byId["tool-calls"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/first fragment has no id/),
    });
    expect(byId["auth"]!.status).toBe("skip");

    const responses = await runDoctor({ baseUrl: brokenUrl, apiType: "responses" });
    const responsesById = Object.fromEntries(responses.results.map((result) => [result.id, result]));
    expect(responsesById["responses-object"]).toMatchObject({
      status: "fail",
      detail: expect.stringContaining('object is "chat.completion", expected "response"'),
    });
    expect(responsesById["responses-events"]).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("not response.created"),
    });

    const result = await runCli(["doctor", brokenUrl]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL\s+the stream ends with data: \[DONE\]\s+the last event is not data: \[DONE\]/);
    expect(result.stdout).toMatch(/fix: End the stream with `data: \[DONE\]`/);
    expect(result.stdout).toMatch(/\d+ check\(s\) failed\./);
  });

  it("fails the health check with a useful message when nothing answers", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const report = await runDoctor({ baseUrl: `http://127.0.0.1:${port}/v1`, timeoutMs: 2000 });
    expect(report.results[0]).toMatchObject({
      id: "health",
      status: "fail",
      detail: `cannot reach http://127.0.0.1:${port}/health: ECONNREFUSED`,
    });
    expect(report.ok).toBe(false);
  });

  it("explains its usage and exits 2 when called wrongly", async () => {
    const result = await runCli(["doctor"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("usage: switchboard doctor <base-url>");
  });
});
