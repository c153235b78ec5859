import { describe, expect, it } from "vitest";
import { ChatRequest } from "./chat-request.ts";
import { chatRequestFromResponses } from "./responses-to-chat.ts";
import { responsesRequestFromChat } from "./chat-to-responses.ts";
import { ResponsesRequest } from "./responses-request.ts";

const conversation = ChatRequest.parse({
  model: "m",
  stream: true,
  stream_options: { include_usage: true },
  temperature: 0,
  max_tokens: 300,
  messages: [
    { role: "system", content: "Be brief." },
    {
      role: "user",
      content: [
        { type: "text", text: "What is this?" },
        { type: "image_url", image_url: { url: "https://x/y.png", detail: "auto" } },
      ],
    },
    {
      role: "assistant",
      content: "Checking.",
      tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }],
    },
    { role: "tool", tool_call_id: "call_1", content: "21" },
  ],
  tools: [{ type: "function", function: { name: "weather", description: "Weather", parameters: { type: "object" } } }],
  tool_choice: { type: "function", function: { name: "weather" } },
  response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } },
  reasoning_effort: "low",
  mock: { tokens: 2 },
});

describe("responsesRequestFromChat", () => {
  it("turns a chat request into a Responses request that stores nothing", () => {
    expect(responsesRequestFromChat(conversation)).toEqual({
      model: "m",
      stream: true,
      temperature: 0,
      store: false,
      max_output_tokens: 300,
      input: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "input_text", text: "What is this?" },
            { type: "input_image", image_url: "https://x/y.png", detail: "auto" },
          ],
        },
        { role: "assistant", content: "Checking." },
        { type: "function_call", call_id: "call_1", name: "weather", arguments: '{"city":"Paris"}' },
        { type: "function_call_output", call_id: "call_1", output: "21" },
      ],
      tools: [{ type: "function", name: "weather", description: "Weather", parameters: { type: "object" } }],
      tool_choice: { type: "function", name: "weather" },
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object" } } },
      reasoning: { effort: "low" },
      mock: { tokens: 2 },
    });
  });

  it("is undone by the ingress's translation, message for message", () => {
    const back = chatRequestFromResponses(ResponsesRequest.parse(responsesRequestFromChat(conversation)));
    expect(back.messages).toEqual([
      { role: "system", content: "Be brief." },
      conversation.messages[1],
      conversation.messages[2],
      conversation.messages[3],
    ]);
    expect(back).toMatchObject({
      tools: conversation.tools,
      tool_choice: conversation.tool_choice,
      response_format: conversation.response_format,
      max_completion_tokens: 300,
      reasoning_effort: "low",
    });
  });
});
