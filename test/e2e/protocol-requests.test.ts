// Issue 3, acceptance 2: every request shape ElevenLabs and OpenAI clients really send is accepted,
// and what reaches the upstream is what a strict upstream accepts (vendor fields and tool settings
// without tools removed, fields outside the allowlist dropped unless the route passes them, the
// rest untouched). Malformed shapes get their documented 400.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockText, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";
import { readSse } from "@switchboard/testing";

let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 4 });
  const { url } = await mock.listen(0);
  stack = await startStack("shapes", {
    routes: {
      providers: { upstream: { type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" } },
      routes: {
        "vendor-model": { provider: "upstream", passVendorFields: true, passFields: ["mock"] },
        "reasoning-model": { provider: "upstream", passFields: ["mock", "reasoning_effort", "service_tier"] },
        "*": { provider: "upstream", passFields: ["mock"] },
      },
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

interface Sent {
  response: Response;
  /** The body the upstream received. */
  upstream: Record<string, unknown>;
}

/** Sends a body through the gateway; returns the response and the body the upstream saw. */
async function send(body: Record<string, unknown>): Promise<Sent> {
  const tag = randomBytes(6).toString("hex");
  const response = await fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, mock: { tag } }),
  });
  const text = await response.clone().text();
  expect(response.status, text.slice(0, 500)).toBe(200);
  const record = mock.stats().recent.find((entry) => entry.tag === tag);
  expect(record, "the request reached the upstream").toBeDefined();
  return { response, upstream: record!.body as Record<string, unknown> };
}

async function answerText(response: Response): Promise<string> {
  const completion = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return completion.choices[0]!.message.content;
}

const user = { role: "user", content: "Hello" };

describe("requests ElevenLabs sends", () => {
  it("accepts the documented Custom LLM request and strips the vendor fields before the upstream", async () => {
    const messages = [
      { role: "system", content: "You are a helpful voice agent." },
      { role: "assistant", content: "Hi! How can I help you today?" },
      { role: "user", content: "What's the weather like?" },
    ];
    const { response, upstream } = await send({
      model: "gpt-4o",
      messages,
      temperature: 0.5,
      max_tokens: 5000,
      stream: true,
      user_id: "user-123",
      elevenlabs_extra_body: {
        UUID: "123e4567-e89b-12d3-a456-426614174000",
        "parameter-1": "value-1",
        nested: { a: 1 },
      },
    });
    const events = await readSse(response);
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(
      events
        .map(
          (event) =>
            (event.json?.choices as Array<{ delta?: { content?: string } }> | undefined)?.[0]?.delta?.content ?? "",
        )
        .join(""),
    ).toBe(mockText(4));
    expect(upstream).not.toHaveProperty("elevenlabs_extra_body");
    expect(upstream).not.toHaveProperty("user_id");
    expect(upstream.messages).toEqual(messages);
    expect(upstream).toMatchObject({ model: "gpt-4o", temperature: 0.5, max_tokens: 5000, stream: true });
  });

  it("passes the vendor fields through when the route says passVendorFields", async () => {
    const extra = { UUID: "abc", "parameter-1": "value-1" };
    const { upstream } = await send({
      model: "vendor-model",
      messages: [user],
      user_id: "user-9",
      elevenlabs_extra_body: extra,
    });
    expect(upstream.elevenlabs_extra_body).toEqual(extra);
    expect(upstream.user_id).toBe("user-9");
  });

  it("accepts a history that opens with the assistant's greeting", async () => {
    const messages = [{ role: "assistant", content: "Hello, this is Ava." }, user];
    const { response, upstream } = await send({ model: "gpt-4o", messages });
    expect(await answerText(response)).toBe(mockText(4));
    expect(upstream.messages).toEqual(messages);
  });

  it("accepts assistant tool_calls with null content followed by tool messages, ending on a tool message", async () => {
    const messages = [
      { role: "system", content: "Agent." },
      { role: "assistant", content: "Hi!" },
      { role: "user", content: "Is the blue shirt in stock?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "inventory_check", arguments: '{"item":"blue shirt"}' } },
          { id: "call_2", type: "function", function: { name: "price_check", arguments: '{"item":"blue shirt"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"in_stock":true}' },
      { role: "tool", tool_call_id: "call_2", name: "price_check", content: '{"price":20}' },
    ];
    const tools = [
      {
        type: "function",
        function: { name: "inventory_check", parameters: { type: "object", properties: { item: { type: "string" } } } },
      },
      {
        type: "function",
        function: { name: "price_check", parameters: { type: "object", properties: { item: { type: "string" } } } },
      },
    ];
    const { upstream } = await send({
      model: "gpt-4o",
      messages,
      tools,
      tool_choice: "auto",
      parallel_tool_calls: true,
      stream: true,
    });
    expect(upstream.messages).toEqual(messages);
    expect(upstream.tools).toEqual(tools);
    expect(upstream.tool_choice).toBe("auto");
    expect(upstream.parallel_tool_calls).toBe(true);
  });

  it("passes ElevenLabs' system tools to the upstream untouched", async () => {
    const tools = [
      {
        type: "function",
        function: {
          name: "end_call",
          description: "End the call",
          parameters: {
            type: "object",
            properties: { reason: { type: "string" }, message: { type: "string" } },
            required: ["reason"],
          },
        },
      },
      {
        type: "function",
        function: {
          name: "language_detection",
          parameters: {
            type: "object",
            properties: { reason: { type: "string" }, language: { type: "string" } },
            required: ["reason", "language"],
          },
        },
      },
      {
        type: "function",
        function: {
          name: "transfer_to_agent",
          parameters: {
            type: "object",
            properties: { agent_number: { type: "integer" }, reason: { type: "string" } },
            required: ["agent_number"],
          },
        },
      },
      {
        type: "function",
        function: {
          name: "transfer_to_number",
          parameters: { type: "object", properties: { transfer_number: { type: "string" } } },
        },
      },
      {
        type: "function",
        function: { name: "skip_turn", parameters: { type: "object", properties: { reason: { type: "string" } } } },
      },
    ];
    const { upstream } = await send({ model: "gpt-4o", messages: [user], tools, stream: true });
    expect(upstream.tools).toEqual(tools);
  });

  it("accepts a 2 MB system prompt (ElevenLabs' documented maximum)", async () => {
    const prompt = "You are a knowledgeable agent. "
      .repeat(Math.ceil((2 * 1024 * 1024) / 31))
      .slice(0, 2 * 1024 * 1024);
    const { response, upstream } = await send({
      model: "gpt-4o",
      messages: [{ role: "system", content: prompt }, user],
      stream: true,
    });
    expect((await readSse(response)).at(-1)!.data).toBe("[DONE]");
    expect((upstream.messages as Array<{ content: string }>)[0]!.content.length).toBe(2 * 1024 * 1024);
  });
});

describe("tools absent, null or empty", () => {
  for (const [name, fields] of [
    ["tools: null", { tools: null }],
    ["tools: []", { tools: [] }],
    ["tool_choice and parallel_tool_calls without tools", { tool_choice: "auto", parallel_tool_calls: false }],
    ["tools: null with tool_choice", { tools: null, tool_choice: "none", parallel_tool_calls: true }],
    ["tools: [] with tool_choice", { tools: [], tool_choice: "auto" }],
  ] as const) {
    it(`accepts ${name} and sends no tool settings upstream (OpenAI rejects them without tools)`, async () => {
      const { response, upstream } = await send({ model: "gpt-4o", messages: [user], ...fields });
      expect(await answerText(response)).toBe(mockText(4));
      expect(upstream).not.toHaveProperty("tools");
      expect(upstream).not.toHaveProperty("tool_choice");
      expect(upstream).not.toHaveProperty("parallel_tool_calls");
    });
  }
});

describe("requests OpenAI clients send", () => {
  it("passes sampling and output parameters through exactly", async () => {
    const fields = {
      temperature: 0,
      top_p: 0.9,
      max_completion_tokens: 256,
      stop: ["\n\n", "END"],
      seed: 42,
      response_format: { type: "json_object" },
      user: "end-user-1",
      frequency_penalty: 0.1,
      presence_penalty: 0,
      logit_bias: { "50256": -100 },
    };
    const { upstream } = await send({ model: "gpt-4o", messages: [user], ...fields });
    expect(upstream).toMatchObject(fields);
  });

  it("accepts stop as a single string and max_tokens with max_completion_tokens absent", async () => {
    const { upstream } = await send({ model: "gpt-4o", messages: [user], stop: "END", max_tokens: 10 });
    expect(upstream).toMatchObject({ stop: "END", max_tokens: 10 });
    expect(upstream).not.toHaveProperty("max_completion_tokens");
  });

  it("accepts content as a string, null, an empty string, or an array of parts", async () => {
    const messages = [
      { role: "system", content: [{ type: "text", text: "Be brief." }] },
      { role: "assistant", content: "" },
      { role: "assistant", content: null },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this image?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        ],
      },
    ];
    const { upstream } = await send({ model: "gpt-4o", messages });
    expect(upstream.messages).toEqual(messages);
  });

  it("accepts several system and developer messages, in any position", async () => {
    const messages = [
      { role: "system", content: "Persona." },
      { role: "developer", content: "House rules." },
      { role: "system", content: "Current time: 10:00." },
      user,
      { role: "developer", content: "Answer in one sentence." },
    ];
    const { upstream } = await send({ model: "gpt-4o", messages });
    expect(upstream.messages).toEqual(messages);
  });

  it("accepts n: 1, stream_options with include_usage false, and unknown fields, which it does not pass on", async () => {
    const { response, upstream } = await send({
      model: "gpt-4o",
      messages: [user],
      n: 1,
      stream: true,
      stream_options: { include_usage: false },
      some_future_parameter: { x: [1, 2] },
    });
    const events = await readSse(response);
    expect(
      events.some((event) => Array.isArray(event.json?.choices) && (event.json.choices as unknown[]).length === 0),
    ).toBe(false);
    expect(upstream).not.toHaveProperty("some_future_parameter");
  });
});

describe("fields that change what the operator pays for", () => {
  const costly = {
    models: ["gpt-4o", "o1-pro"],
    service_tier: "priority",
    store: true,
    metadata: { a: "b" },
    web_search_options: { search_context_size: "high" },
    audio: { voice: "alloy", format: "wav" },
    modalities: ["text", "audio"],
    reasoning_effort: "high",
    prediction: { type: "content", content: "x" },
  };

  it("are dropped before the upstream, the rest of the request kept", async () => {
    const { upstream } = await send({ model: "gpt-4o", messages: [user], temperature: 0.2, max_tokens: 20, ...costly });
    for (const field of Object.keys(costly)) expect(upstream, field).not.toHaveProperty(field);
    expect(upstream).toMatchObject({ model: "gpt-4o", messages: [user], temperature: 0.2, max_tokens: 20 });
  });

  it("are passed by a route that names them in passFields, and only those", async () => {
    const { upstream } = await send({ model: "reasoning-model", messages: [user], ...costly });
    expect(upstream).toMatchObject({ reasoning_effort: "high", service_tier: "priority" });
    for (const field of ["models", "store", "metadata", "web_search_options", "audio", "modalities", "prediction"])
      expect(upstream, field).not.toHaveProperty(field);
  });
});

describe("malformed requests", () => {
  const cases: Array<{
    name: string;
    body: Record<string, unknown>;
    status: number;
    code: string;
    param: string | null;
  }> = [
    {
      name: "content that is a number",
      body: { messages: [{ role: "user", content: 42 }] },
      status: 400,
      code: "invalid_request",
      param: "messages.0.content",
    },
    {
      name: "a message without a role",
      body: { messages: [{ content: "hi" }] },
      status: 400,
      code: "invalid_request",
      param: "messages.0.role",
    },
    {
      name: "a content part without a type",
      body: { messages: [{ role: "user", content: [{ text: "hi" }] }] },
      status: 400,
      code: "invalid_request",
      param: "messages.0.content",
    },
    {
      name: "a tool call without a function",
      body: { messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function" }] }] },
      status: 400,
      code: "invalid_request",
      param: "messages.0.tool_calls.0.function",
    },
    {
      name: "tools that are not an array",
      body: { messages: [user], tools: "end_call" },
      status: 400,
      code: "invalid_request",
      param: "tools",
    },
    {
      name: "max_tokens as a string",
      body: { messages: [user], max_tokens: "100" },
      status: 400,
      code: "invalid_request",
      param: "max_tokens",
    },
    {
      name: "temperature as a string",
      body: { messages: [user], temperature: "hot" },
      status: 400,
      code: "invalid_request",
      param: "temperature",
    },
    { name: "n = 3", body: { messages: [user], n: 3 }, status: 400, code: "unsupported_parameter", param: "n" },
    { name: "n = 0", body: { messages: [user], n: 0 }, status: 400, code: "unsupported_parameter", param: "n" },
  ];
  for (const testCase of cases) {
    it(`answers ${testCase.name} with ${testCase.status} ${testCase.code} (param ${testCase.param}) and never calls the upstream`, async () => {
      const before = mock.stats().requests;
      const response = await fetch(`${stack.urls[0]}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o", ...testCase.body }),
      });
      expect(response.status).toBe(testCase.status);
      expect(response.headers.get("x-should-retry")).toBe("false");
      const body = (await response.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ code: testCase.code, type: "invalid_request_error", param: testCase.param });
      expect(typeof body.error.message).toBe("string");
      expect(mock.stats().requests).toBe(before);
    });
  }
});
