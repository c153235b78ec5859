// With no API key the simulated model answers; bad input gets the
// right status and an OpenAI-shaped error body, and never takes a process down.
import OpenAI from "openai";
import { describe, expect } from "vitest";
import { simulatedText } from "@switchboard/providers";
import { stackTest } from "../support/stack-test.ts";

// No routing file: the environment's default table, where the simulated model answers.
const it = stackTest("simulated", {
  routes: null,
  env: { SIMULATED_TOKEN_DELAY_MS: "1", SIMULATED_FIRST_TOKEN_DELAY_MS: "1", BODY_LIMIT_BYTES: "4096" },
}).extend(
  "post",
  { scope: "file" },
  ({ stack }) =>
    (body: string, path = "/chat/completions"): Promise<Response> =>
      fetch(`${stack.urls[0]}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body }),
);

describe("with no API key", () => {
  it("answers from the simulated model, streamed", async ({ stack }) => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "switchboard-sim",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(simulatedText());
  });

  it("lists the simulated model", async ({ stack }) => {
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toContain("switchboard-sim");
  });
});

describe("bad input", () => {
  const user = [{ role: "user", content: "Hi" }];
  const cases: Array<{ name: string; body: string; status: number; code: string; param?: string | null }> = [
    { name: "invalid JSON", body: "{not json", status: 400, code: "invalid_json" },
    { name: "an empty body", body: "", status: 400, code: "invalid_request" },
    { name: "a JSON array", body: "[1,2]", status: 400, code: "invalid_request" },
    {
      name: "a missing model",
      body: JSON.stringify({ messages: user }),
      status: 400,
      code: "invalid_request",
      param: "model",
    },
    {
      name: "a model that is not a string",
      body: JSON.stringify({ model: 42, messages: user }),
      status: 400,
      code: "invalid_request",
      param: "model",
    },
    {
      name: "missing messages",
      body: JSON.stringify({ model: "switchboard-sim" }),
      status: 400,
      code: "invalid_request",
      param: "messages",
    },
    {
      name: "messages that are not an array",
      body: JSON.stringify({ model: "switchboard-sim", messages: "hi" }),
      status: 400,
      code: "invalid_request",
      param: "messages",
    },
    {
      name: "empty messages",
      body: JSON.stringify({ model: "switchboard-sim", messages: [] }),
      status: 400,
      code: "invalid_request",
      param: "messages",
    },
    {
      name: "an unknown role",
      body: JSON.stringify({ model: "switchboard-sim", messages: [{ role: "robot", content: "x" }] }),
      status: 400,
      code: "invalid_request",
      param: "messages.0.role",
    },
    {
      name: "stream that is not a boolean",
      body: JSON.stringify({ model: "switchboard-sim", messages: user, stream: "yes" }),
      status: 400,
      code: "invalid_request",
      param: "stream",
    },
    {
      name: "n = 2",
      body: JSON.stringify({ model: "switchboard-sim", messages: user, n: 2 }),
      status: 400,
      code: "unsupported_parameter",
      param: "n",
    },
    {
      name: "an unknown model",
      body: JSON.stringify({ model: "no-such-model", messages: user }),
      status: 404,
      code: "model_not_found",
      param: "model",
    },
    {
      name: "a body over the limit",
      body: JSON.stringify({ model: "switchboard-sim", messages: [{ role: "user", content: "x".repeat(5000) }] }),
      status: 413,
      code: "request_too_large",
    },
  ];

  for (const testCase of cases) {
    it(`answers ${testCase.name} with ${testCase.status} ${testCase.code}`, async ({ post }) => {
      const response = await post(testCase.body);
      expect(response.status).toBe(testCase.status);
      const body = (await response.json()) as { error: Record<string, unknown> };
      // The OpenAI error fields, plus the request's id (also its x-request-id header).
      expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "request_id", "type"]);
      expect(body.error.request_id).toBe(response.headers.get("x-request-id"));
      expect(body.error.code).toBe(testCase.code);
      expect(typeof body.error.message).toBe("string");
      if (testCase.param !== undefined) expect(body.error.param).toBe(testCase.param);
    });
  }

  it("answers every name an object inherits, as a model id, with a fast 404 model_not_found", async ({ post }) => {
    const names = Object.getOwnPropertyNames(Object.prototype);
    expect(names).toEqual(expect.arrayContaining(["constructor", "__proto__", "toString", "hasOwnProperty"]));
    const startedAt = Date.now();
    const answers = await Promise.all(
      names.map(async (model) => {
        const response = await post(JSON.stringify({ model, messages: user, stream: true }));
        const body = (await response.json()) as { error: { code: string; param: string } };
        return { model, status: response.status, code: body.error.code, param: body.error.param };
      }),
    );
    expect(answers).toEqual(names.map((model) => ({ model, status: 404, code: "model_not_found", param: "model" })));
    // Refused at the ingress, not at the queue deadline (QUEUE_MAX_WAIT_MS) nor the request's.
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });

  it("answers an unknown path with 404 in the same shape", async ({ stack }) => {
    const response = await fetch(`${stack.urls[0]}/no/such/path`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("is still alive and answering after all of it", async ({ stack, post }) => {
    expect(stack.ingresses[0]!.child.exitCode).toBeNull();
    const response = await post(JSON.stringify({ model: "switchboard-sim", messages: user }));
    expect(response.status).toBe(200);
  });
});
