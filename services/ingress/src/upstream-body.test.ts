import { describe, expect, it } from "vitest";
import { ChatRequest } from "@switchboard/protocol";
import { upstreamBody } from "./upstream-body.ts";

const base = { model: "m", messages: [{ role: "user", content: "Hi" }] };
const tools = [{ type: "function", function: { name: "end_call" } }];

describe("the upstream body", () => {
  it("drops vendor fields unless the route passes them, and keeps unknown fields", () => {
    const body = ChatRequest.parse({ ...base, user_id: "u", elevenlabs_extra_body: { a: 1 }, future_field: 2 });
    expect(upstreamBody(body, false)).toEqual({ ...base, future_field: 2 });
    expect(upstreamBody(body, true)).toEqual(body);
  });

  it("drops tool settings without tools, and keeps them with tools", () => {
    for (const empty of [{}, { tools: null }, { tools: [] }]) {
      expect(
        upstreamBody(ChatRequest.parse({ ...base, ...empty, tool_choice: "auto", parallel_tool_calls: true }), false),
      ).toEqual(base);
    }
    const withTools = ChatRequest.parse({ ...base, tools, tool_choice: "required", parallel_tool_calls: false });
    expect(upstreamBody(withTools, false)).toEqual(withTools);
  });
});
