// The upstream body: the allowlist, the route's extra fields, vendor fields and tool settings.
import { describe, expect, it } from "vitest";
import { ChatRequest } from "@switchboard/protocol";
import { upstreamBody } from "./upstream-body.ts";

const base = { model: "m", messages: [{ role: "user", content: "Hi" }] };
const tools = [{ type: "function", function: { name: "end_call" } }];
const closed = { passVendorFields: false, passFields: [] };

describe("the upstream body", () => {
  it("passes the OpenAI chat fields a conversation needs", () => {
    const body = ChatRequest.parse({
      ...base,
      temperature: 0.5,
      top_p: 1,
      max_tokens: 50,
      max_completion_tokens: 60,
      stop: ["\n"],
      seed: 1,
      response_format: { type: "text" },
      user: "u",
      frequency_penalty: 0,
      presence_penalty: 0,
    });
    expect(upstreamBody(body, closed)).toEqual({ body, dropped: [] });
  });

  it("drops fields that change what the operator pays for, and unknown ones, naming them", () => {
    const costly = {
      models: ["gpt-4o", "o1"],
      service_tier: "priority",
      store: true,
      web_search_options: {},
      audio: { voice: "alloy", format: "wav" },
      reasoning_effort: "high",
      future_field: 2,
    };
    const { body, dropped } = upstreamBody(ChatRequest.parse({ ...base, ...costly }), closed);
    expect(body).toEqual(base);
    expect(dropped.sort()).toEqual(Object.keys(costly).sort());
  });

  it("passes the fields a route names", () => {
    const request = ChatRequest.parse({ ...base, reasoning_effort: "low", store: true });
    expect(upstreamBody(request, { passVendorFields: false, passFields: ["reasoning_effort"] })).toEqual({
      body: { ...base, reasoning_effort: "low" },
      dropped: ["store"],
    });
  });

  it("drops vendor fields unless the route passes them", () => {
    const body = ChatRequest.parse({ ...base, user_id: "u", elevenlabs_extra_body: { a: 1 } });
    expect(upstreamBody(body, closed).body).toEqual(base);
    expect(upstreamBody(body, { passVendorFields: true, passFields: [] }).body).toEqual(body);
  });

  it("names at most 20 dropped fields", () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, index) => [`field${index}`, index]));
    expect(upstreamBody(ChatRequest.parse({ ...base, ...many }), closed).dropped).toHaveLength(20);
  });

  it("drops tool settings without tools, and keeps them with tools", () => {
    for (const empty of [{}, { tools: null }, { tools: [] }]) {
      expect(
        upstreamBody(ChatRequest.parse({ ...base, ...empty, tool_choice: "auto", parallel_tool_calls: true }), closed)
          .body,
      ).toEqual(base);
    }
    const withTools = ChatRequest.parse({ ...base, tools, tool_choice: "required", parallel_tool_calls: false });
    expect(upstreamBody(withTools, closed).body).toEqual(withTools);
  });
});
