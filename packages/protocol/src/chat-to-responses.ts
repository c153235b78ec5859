// A chat-completions request as the Responses API request an upstream that speaks only (or best)
// the Responses API takes: the other direction of responses-to-chat.ts, used by the provider for
// routes whose upstream is set to `api: "responses"`. Whatever arrived at the gateway (chat
// completions, or the Responses API translated at the ingress) is a chat request by then.
//
// Always `store: false`: OpenAI stores Responses by default, and voice conversations are personal
// data. Fields without a Responses equivalent (`stop`, `seed`, `n`, penalties, …) are passed on as
// they are, so an upstream that does not know them says so (an explicit upstream_bad_request)
// rather than the gateway dropping them.
import type { ChatMessage, ChatRequest } from "./chat-request.ts";

/** Chat fields translated below, never sent as they are. */
const chatOnlyFields = [
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "tools",
  "tool_choice",
  "response_format",
  "reasoning_effort",
  "verbosity",
  "stream_options",
] as const;

export function responsesRequestFromChat(body: ChatRequest): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...body };
  for (const field of chatOnlyFields) delete copy[field];
  copy.input = body.messages.flatMap(inputItems);
  copy.store = false;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) copy.max_output_tokens = maxTokens;
  if (Array.isArray(body.tools)) copy.tools = body.tools.map(responsesTool);
  if (body.tool_choice != null) copy.tool_choice = responsesToolChoice(body.tool_choice);
  const text: Record<string, unknown> = {};
  const format = body.response_format;
  if (format?.type === "json_object") text.format = { type: "json_object" };
  if (format?.type === "json_schema")
    text.format = { type: "json_schema", ...(format.json_schema as Record<string, unknown> | undefined) };
  if (body.verbosity != null) text.verbosity = body.verbosity;
  if (Object.keys(text).length > 0) copy.text = text;
  if (body.reasoning_effort != null) copy.reasoning = { effort: body.reasoning_effort };
  return copy;
}

function inputItems(message: ChatMessage): Array<Record<string, unknown>> {
  switch (message.role) {
    case "tool":
    case "function":
      return [
        {
          type: "function_call_output",
          call_id: message.tool_call_id ?? message.name ?? "",
          output: textOf(message.content),
        },
      ];
    case "assistant": {
      const items: Array<Record<string, unknown>> = [];
      const text = textOf(message.content);
      if (text !== "") items.push({ role: "assistant", content: text });
      for (const call of message.tool_calls ?? [])
        items.push({
          type: "function_call",
          call_id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
        });
      return items;
    }
    default: {
      const content = message.content;
      if (!Array.isArray(content)) return [{ role: message.role, content: content ?? "" }];
      return [
        {
          role: message.role,
          content: content.map((part) => {
            if (part.type === "text") return { type: "input_text", text: part.text };
            if (part.type === "image_url") {
              const image = part.image_url as { url?: unknown; detail?: unknown } | undefined;
              return { type: "input_image", image_url: image?.url, detail: image?.detail ?? "auto" };
            }
            return part;
          }),
        },
      ];
    }
  }
}

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (typeof part.text === "string" ? part.text : "")).join("");
}

function responsesTool(tool: Record<string, unknown>): Record<string, unknown> {
  if (tool.type !== "function" || typeof tool.function !== "object" || tool.function === null) return tool;
  const { type: _type, function: definition, ...rest } = tool;
  return { ...rest, type: "function", ...(definition as Record<string, unknown>) };
}

function responsesToolChoice(choice: unknown): unknown {
  const object = choice as { type?: unknown; function?: { name?: unknown }; allowed_tools?: unknown } | null;
  if (object?.type === "function" && typeof object.function?.name === "string")
    return { type: "function", name: object.function.name };
  if (object?.type === "allowed_tools" && typeof object.allowed_tools === "object" && object.allowed_tools !== null) {
    const allowed = object.allowed_tools as { mode?: unknown; tools?: Array<{ function?: { name?: unknown } }> };
    return {
      type: "allowed_tools",
      mode: allowed.mode ?? "auto",
      tools: (allowed.tools ?? []).map((tool) => ({ type: "function", name: tool.function?.name })),
    };
  }
  return choice;
}
