import { describe, expect, it } from "vitest";
import { GatewayError } from "./gateway-error.ts";
import { ResponsesRequest } from "./responses-request.ts";
import { chatRequestFromResponses } from "./responses-to-chat.ts";

const translate = (body: Record<string, unknown>) =>
  chatRequestFromResponses(ResponsesRequest.parse({ model: "m", ...body }));

function refusal(body: Record<string, unknown>): { code: string; param: string | null } {
  try {
    translate(body);
  } catch (error) {
    if (error instanceof GatewayError) return { code: error.code, param: error.param };
    throw error;
  }
  throw new Error("translated without a refusal");
}

describe("chatRequestFromResponses", () => {
  it("makes a string input a user message, after the instructions as a system message", () => {
    expect(translate({ input: "Hi", instructions: "Be brief.", stream: true, temperature: 0 })).toEqual({
      model: "m",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      stream: true,
      temperature: 0,
    });
  });

  it("translates message items, their content parts, and images", () => {
    const { messages } = translate({
      input: [
        { role: "developer", content: "Rules." },
        { type: "message", role: "user", content: [{ type: "input_text", text: "Hello" }] },
        {
          type: "message",
          role: "assistant",
          content: [
            { type: "output_text", text: "Hi! ", annotations: [] },
            { type: "output_text", text: "How can I help?" },
          ],
        },
        {
          role: "user",
          content: [
            { type: "input_text", text: "What is this?" },
            { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "low" },
          ],
        },
      ],
    });
    expect(messages).toEqual([
      { role: "developer", content: "Rules." },
      { role: "user", content: "Hello" },
      { role: "assistant", content: "Hi! How can I help?" },
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } },
        ],
      },
    ]);
  });

  it("folds function calls into the assistant turn before them, and their outputs into tool messages", () => {
    const { messages } = translate({
      input: [
        { role: "user", content: "Weather in Paris and Rome?" },
        { role: "assistant", content: "Checking." },
        { type: "function_call", call_id: "call_1", name: "weather", arguments: '{"city":"Paris"}', id: "fc_1" },
        { type: "function_call", call_id: "call_2", name: "weather", arguments: '{"city":"Rome"}' },
        { type: "function_call_output", call_id: "call_1", output: "21" },
        { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "25" }] },
        { type: "function_call", call_id: "call_3", name: "end_call", arguments: "{}" },
      ],
    });
    expect(messages).toEqual([
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          { id: "call_2", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "21" },
      { role: "tool", tool_call_id: "call_2", content: "25" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_3", type: "function", function: { name: "end_call", arguments: "{}" } }],
      },
    ]);
  });

  it("translates function tools, tool_choice, max_output_tokens, text.format and reasoning.effort", () => {
    const parameters = { type: "object", properties: { city: { type: "string" } } };
    const request = translate({
      input: "Hi",
      tools: [{ type: "function", name: "weather", description: "Weather", parameters, strict: true }],
      tool_choice: { type: "function", name: "weather" },
      parallel_tool_calls: false,
      max_output_tokens: 50,
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true } },
      reasoning: { effort: "low" },
      metadata: { caller: "test" },
      store: false,
    });
    expect(request).toEqual({
      model: "m",
      messages: [{ role: "user", content: "Hi" }],
      tools: [{ type: "function", function: { name: "weather", description: "Weather", parameters, strict: true } }],
      tool_choice: { type: "function", function: { name: "weather" } },
      parallel_tool_calls: false,
      max_completion_tokens: 50,
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
      reasoning_effort: "low",
    });
    expect(translate({ input: "Hi", tool_choice: "required" }).tool_choice).toBe("required");
    expect(
      translate({
        input: "Hi",
        tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "a" }] },
      }).tool_choice,
    ).toEqual({
      type: "allowed_tools",
      allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "a" } }] },
    });
    expect(translate({ input: "Hi", text: { format: { type: "text" } } })).not.toHaveProperty("response_format");
  });

  it("accepts include entries for output it never produces", () => {
    expect(translate({ input: "Hi", include: ["reasoning.encrypted_content"] })).not.toHaveProperty("include");
  });

  it("keeps unknown and vendor fields, as the chat route does", () => {
    const request = translate({ input: "Hi", mock: { tokens: 2 }, user_id: "u1", elevenlabs_extra_body: { a: 1 } });
    expect(request).toMatchObject({ mock: { tokens: 2 }, user_id: "u1", elevenlabs_extra_body: { a: 1 } });
  });

  it.each([
    [{ store: true }, "store"],
    [{ previous_response_id: "resp_1" }, "previous_response_id"],
    [{ conversation: "conv_1" }, "conversation"],
    [{ prompt: { id: "pmpt_1" } }, "prompt"],
    [{ background: true }, "background"],
    [{ include: ["reasoning.encrypted_content", "message.output_text.logprobs"] }, "include[1]"],
    [{ truncation: "auto" }, "truncation"],
    [{ reasoning: { summary: "auto" } }, "reasoning.summary"],
    [{ tools: [{ type: "function", name: "a" }, { type: "file_search" }] }, "tools[1].type"],
    [{ tool_choice: { type: "web_search_preview" } }, "tool_choice"],
    [{ text: { format: { type: "grammar" } } }, "text.format.type"],
    [{ input: [{ type: "reasoning", summary: [] }] }, "input[0].type"],
    [{ input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] }, "input[0].content[0].type"],
  ])("refuses %j as unsupported_parameter at %s", (fields, param) => {
    expect(refusal({ input: "Hi", ...fields })).toEqual({ code: "unsupported_parameter", param });
  });

  it.each([
    [{ input: [{ type: "function_call", name: "a" }] }, "input[0]"],
    [{ input: [{ content: "no role" }] }, "input[0].type"],
    [{ input: [{ role: "tool", content: "x" }] }, "input[0].role"],
  ])("refuses the malformed %j as invalid_request at %s", (fields, param) => {
    expect(refusal(fields)).toEqual({ code: "invalid_request", param });
  });
});
