// An upstream that says too much: error messages quoting an org id, a key and a credentialed
// internal address, a Retry-After of 100000 s, and a finish_reason that tries to write SSE events of
// its own. The client hears the gateway's own words, a capped Retry-After and well-formed events;
// the worker's log has the upstream's text with the secrets scrubbed.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";

const orgId = `org-${randomBytes(12).toString("hex")}`;
const key = `sk-live-${randomBytes(16).toString("hex")}`;
const credentials = `admin:${randomBytes(6).toString("hex")}`;
const internalHost = "10.23.45.67";
const upstreamText = `Quota of ${orgId} used by key ${key}; see http://${credentials}@${internalHost}:9000/internal`;
/** Nothing of these may reach a client. */
const secrets = [orgId, key, credentials, internalHost, upstreamText];

let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 4 });
  const mockUrl = (await mock.listen(0)).url;
  const upstream = { provider: "upstream", passFields: ["mock"] };
  stack = await startStack("hostile-upstream", {
    routes: {
      providers: { upstream: { type: "openai", baseUrl: mockUrl, apiKeyEnv: "UPSTREAM_API_KEY" } },
      routes: { "*": upstream, "dev-model": { ...upstream, exposeUpstreamErrors: true } },
    },
    workerEnv: { UPSTREAM_RETRIES: "0" },
  });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

function post(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "Hi" }], ...body }),
  });
}

const failures: Array<{ name: string; stream: boolean; fail: Record<string, unknown>; status: number; code: string }> =
  [
    { name: "a 400", stream: true, fail: { kind: "http", status: 400 }, status: 400, code: "upstream_bad_request" },
    { name: "a 404", stream: false, fail: { kind: "http", status: 404 }, status: 404, code: "model_not_found" },
    { name: "a 422", stream: true, fail: { kind: "http", status: 422 }, status: 400, code: "upstream_bad_request" },
    {
      name: "a 429 with Retry-After: 100000",
      stream: true,
      fail: { kind: "http", status: 429, retryAfterSeconds: 100_000 },
      status: 429,
      code: "upstream_rate_limited",
    },
    { name: "a 500", stream: false, fail: { kind: "http", status: 500 }, status: 502, code: "upstream_unavailable" },
    { name: "a 503", stream: true, fail: { kind: "http", status: 503 }, status: 502, code: "upstream_unavailable" },
    {
      name: "an error event before any token",
      stream: true,
      fail: { kind: "in-stream-error" },
      status: 502,
      code: "upstream_unavailable",
    },
  ];

describe("an upstream's error text", () => {
  for (const failure of failures) {
    it(`never reaches the client: ${failure.name} is answered ${failure.status} ${failure.code} in the gateway's words`, async () => {
      const response = await post({
        stream: failure.stream,
        mock: { fail: { ...failure.fail, message: upstreamText } },
      });
      const text = await response.text();
      expect(response.status).toBe(failure.status);
      const error = (JSON.parse(text) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe(failure.code);
      expect(error.message).toMatch(/^The upstream model provider /);
      for (const secret of secrets) expect(text).not.toContain(secret);
      const retryAfter = response.headers.get("retry-after");
      if (failure.code === "upstream_rate_limited") {
        // Capped at UPSTREAM_RETRY_AFTER_MAX_SECONDS (60 by default).
        expect(retryAfter).toBe("60");
        expect(response.headers.get("retry-after-ms")).toBe("60000");
      }
    });
  }

  it("never reaches the client after the first token either (an in-stream upstream_interrupted)", async () => {
    const response = await post({
      stream: true,
      mock: { fail: { kind: "in-stream-error", afterTokens: 2, message: upstreamText } },
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    const events = text.split("\n\n").filter((block) => block !== "");
    const last = JSON.parse((events.at(-1) as string).slice("data: ".length)) as { error: { code: string } };
    expect(last.error.code).toBe("upstream_interrupted");
    expect(text).not.toContain("[DONE]");
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it("goes to the worker's log, with the key and the credentials scrubbed", async () => {
    const logged = () => stack.workers.flatMap((worker) => worker.output).filter((line) => line.includes("Quota of"));
    // One line per failed upstream call (UPSTREAM_RETRIES=0): every failure above, and the mid-stream one.
    await vi.waitFor(
      async () => expect(logged().length >= failures.length + 1, "every upstream failure logged").toBe(true),
      { timeout: 5000, interval: 25 },
    );
    expect(logged()).toHaveLength(failures.length + 1);
    for (const line of logged()) {
      const entry = JSON.parse(line) as { msg: string; detail: string };
      expect(entry.msg).toBe("upstream call failed");
      expect(entry.detail).toContain("[redacted]");
      expect(entry.detail).toContain(internalHost);
      expect(line).not.toContain(key);
      expect(line).not.toContain(credentials);
      expect(line).not.toContain(orgId);
    }
  });

  it("is shown to the client, scrubbed, on a route with exposeUpstreamErrors (for development)", async () => {
    const response = await post({
      model: "dev-model",
      mock: { fail: { kind: "http", status: 400, message: upstreamText } },
    });
    const error = ((await response.json()) as { error: { message: string } }).error;
    expect(response.status).toBe(400);
    expect(error.message).toContain("The upstream said: upstream: Quota of");
    expect(error.message).toContain("[redacted]");
    for (const secret of [orgId, key, credentials]) expect(error.message).not.toContain(secret);
  });
});

describe("an upstream's finish_reason", () => {
  const injected = 'stop"}]}\n\ndata: {"injected":true}\n\ndata: [DONE]\n\n';

  it("is serialised into the last chunk, never spliced: no injected event, one [DONE] at the end", async () => {
    const response = await post({ stream: true, mock: { finishReason: injected } });
    const text = await response.text();
    const blocks = text.split("\n\n").filter((block) => block !== "");
    expect(blocks.at(-1)).toBe("data: [DONE]");
    expect(blocks.filter((block) => block === "data: [DONE]")).toHaveLength(1);
    const chunks = blocks.slice(0, -1).map((block) => {
      expect(block.startsWith("data: {")).toBe(true);
      expect(block.slice(6)).not.toContain("\n");
      return JSON.parse(block.slice(6)) as Record<string, unknown>;
    });
    expect(chunks.some((chunk) => "injected" in chunk)).toBe(false);
    const finish = chunks.at(-1) as { choices: Array<{ finish_reason: string }> };
    expect(finish.choices[0]?.finish_reason).toBe(injected);
  });

  it("is a JSON string value in a non-streamed answer too", async () => {
    const response = await post({ stream: false, mock: { finishReason: injected } });
    const completion = (await response.json()) as { choices: Array<{ finish_reason: string }> };
    expect(completion.choices[0]?.finish_reason).toBe(injected);
  });
});
