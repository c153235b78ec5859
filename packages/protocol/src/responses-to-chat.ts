// A Responses API request as the chat-completions request the queue, the workers and every upstream
// already serve: the translation happens once, at the ingress, and nothing behind it changes.
//
// What has a chat-completions equivalent is translated (input items to messages, instructions to a
// system message, function tools, tool_choice, max_output_tokens, text.format, reasoning.effort).
// What the gateway cannot honour is refused with a 400 naming the parameter, never dropped in
// silence: stored state (`store: true`, `previous_response_id`, `conversation`, item references),
// built-in tools (web search, file search, …) and the other server-side features below. Unknown
// fields are kept, as on the chat route (new upstream parameters, the mock upstream's options).
import type { ChatMessage, ChatRequest, ContentPart, Tool } from "./chat-request.ts";
import { GatewayError } from "./gateway-error.ts";
import type { ResponsesContentPart, ResponsesInputItem, ResponsesRequest, ResponsesTool } from "./responses-request.ts";

/** Responses fields that never reach the upstream: translated below, or only echoed in the answer. */
const responsesOnlyFields = [
  "input",
  "instructions",
  "max_output_tokens",
  "tools",
  "tool_choice",
  "text",
  "reasoning",
  "metadata",
  "store",
  "previous_response_id",
  "stream_options",
  "truncation",
  "include",
  "background",
] as const;

/** Server-side features a stateless chat-completions gateway cannot provide, with why. */
const unservedFields: Record<string, string> = {
  previous_response_id: "this gateway stores no responses; send the whole conversation in `input`",
  conversation: "this gateway stores no conversations; send the whole conversation in `input`",
  prompt: "stored prompt templates are not supported; send `instructions` and `input`",
  max_tool_calls: "built-in tool calls are not supported",
  context_management: "server-side context management is not supported",
};

/**
 * `include` entries asking for data of items the gateway never produces (reasoning, built-in tool
 * calls) or never repeats (input images): asking for them loses nothing, so they are accepted (the
 * Vercel AI SDK asks for encrypted reasoning whenever `store` is false). Others (such as output
 * logprobs) are refused.
 */
const servedIncludes = [
  "reasoning.",
  "web_search_call.",
  "file_search_call.",
  "code_interpreter_call.",
  "computer_call_output.",
  "message.input_image.",
];

export function chatRequestFromResponses(body: ResponsesRequest): ChatRequest {
  refuseUnserved(body);
  const copy: Record<string, unknown> = { ...body };
  for (const field of responsesOnlyFields) delete copy[field];
  const messages: ChatMessage[] = [];
  if (body.instructions) messages.push({ role: "system", content: body.instructions });
  if (typeof body.input === "string") messages.push({ role: "user", content: body.input });
  else for (const [index, item] of body.input.entries()) addInputItem(messages, item, `input[${index}]`);
  copy.messages = messages;
  if (body.max_output_tokens != null) copy.max_completion_tokens = body.max_output_tokens;
  if (body.tools != null) copy.tools = body.tools.map((tool, index) => chatTool(tool, `tools[${index}]`));
  if (body.tool_choice != null) copy.tool_choice = chatToolChoice(body.tool_choice);
  const format = body.text?.format;
  if (format && format.type !== "text") copy.response_format = chatResponseFormat(format);
  if (body.text?.verbosity != null) copy.verbosity = body.text.verbosity;
  if (body.reasoning?.effort != null) copy.reasoning_effort = body.reasoning.effort;
  return copy as ChatRequest;
}

function refuseUnserved(body: ResponsesRequest): void {
  if (body.store === true) {
    throw unsupported("store", "Stored responses are not supported: send `store: false` or leave it out.");
  }
  for (const [field, reason] of Object.entries(unservedFields)) {
    if (body[field] != null) throw unsupported(field, `\`${field}\` is not supported: ${reason}.`);
  }
  if (body.background === true) throw unsupported("background", "Background responses are not supported.");
  if (Array.isArray(body.include)) {
    for (const [index, entry] of (body.include as unknown[]).entries()) {
      if (typeof entry === "string" && servedIncludes.some((prefix) => entry.startsWith(prefix))) continue;
      throw unsupported(`include[${index}]`, `\`include: ${JSON.stringify(entry)}\` is not supported.`);
    }
  }
  if (body.truncation != null && body.truncation !== "disabled") {
    throw unsupported("truncation", 'Only `truncation: "disabled"` is supported.');
  }
  if (body.reasoning?.summary != null) {
    throw unsupported("reasoning.summary", "Reasoning summaries are not supported.");
  }
}

function addInputItem(messages: ChatMessage[], item: ResponsesInputItem, param: string): void {
  const type = item.type ?? (item.role === undefined ? undefined : "message");
  switch (type) {
    case "message":
      return void messages.push(chatMessage(item, param));
    case "function_call": {
      if (item.call_id === undefined || item.name === undefined || item.arguments === undefined) {
        throw invalid(param, "A function_call item needs `call_id`, `name` and `arguments`.");
      }
      const call = { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } };
      // Calls that follow an assistant message (or each other) are that message's tool calls.
      const last = messages.at(-1);
      if (last?.role === "assistant") last.tool_calls = [...(last.tool_calls ?? []), call];
      else messages.push({ role: "assistant", content: null, tool_calls: [call] });
      return;
    }
    case "function_call_output":
      if (item.call_id === undefined || item.output === undefined) {
        throw invalid(param, "A function_call_output item needs `call_id` and `output`.");
      }
      return void messages.push({
        role: "tool",
        tool_call_id: item.call_id,
        content: typeof item.output === "string" ? item.output : textOf(item.output, `${param}.output`),
      });
    case undefined:
      throw invalid(`${param}.type`, "An input item needs a `type` or a `role`.");
    default:
      throw unsupported(
        `${param}.type`,
        `Input items of type "${type}" are not supported: this gateway serves messages, function_call and function_call_output items.`,
      );
  }
}

function chatMessage(item: ResponsesInputItem, param: string): ChatMessage {
  const role = item.role;
  if (role !== "user" && role !== "assistant" && role !== "system" && role !== "developer") {
    throw invalid(`${param}.role`, "A message's role must be user, assistant, system or developer.");
  }
  const content = item.content;
  if (content === undefined) throw invalid(`${param}.content`, "A message needs `content`.");
  if (typeof content === "string") return { role, content };
  // An assistant turn goes back as plain text: many chat upstreams refuse content parts there.
  if (role === "assistant") return { role, content: textOf(content, `${param}.content`) };
  const parts = content.map((part, index) => chatContentPart(part, `${param}.content[${index}]`));
  const only = parts[0];
  return { role, content: parts.length === 1 && only?.type === "text" ? String(only.text) : parts };
}

function chatContentPart(part: ResponsesContentPart, param: string): ContentPart {
  switch (part.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: String(part.text ?? "") };
    case "input_image":
      if (typeof part.image_url !== "string") {
        throw unsupported(`${param}.file_id`, "Images must be sent as `image_url` (a URL or a data URL).");
      }
      return { type: "image_url", image_url: { url: part.image_url, ...(part.detail ? { detail: part.detail } : {}) } };
    default:
      throw unsupported(`${param}.type`, `Content parts of type "${part.type}" are not supported.`);
  }
}

/** The text of output_text, input_text and refusal parts, in order. */
function textOf(parts: ResponsesContentPart[], param: string): string {
  return parts
    .map((part, index) => {
      if (part.type === "input_text" || part.type === "output_text") return String(part.text ?? "");
      if (part.type === "refusal") return String(part.refusal ?? "");
      throw unsupported(`${param}[${index}].type`, `Content parts of type "${part.type}" are not supported here.`);
    })
    .join("");
}

function chatTool(tool: ResponsesTool, param: string): Tool {
  if (tool.type !== "function") {
    throw unsupported(
      `${param}.type`,
      `Built-in tools ("${tool.type}") are not supported: this gateway serves function tools only.`,
    );
  }
  if (!tool.name) throw invalid(`${param}.name`, "A function tool needs a `name`.");
  const { type: _type, name, description, parameters, strict, ...rest } = tool;
  return {
    ...rest,
    type: "function",
    function: {
      name,
      ...(description != null ? { description } : {}),
      ...(parameters != null ? { parameters } : {}),
      ...(strict != null ? { strict } : {}),
    },
  };
}

function chatToolChoice(choice: unknown): unknown {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  const object = choice as { type?: unknown; name?: unknown; mode?: unknown; tools?: unknown };
  if (object?.type === "function" && typeof object.name === "string") {
    return { type: "function", function: { name: object.name } };
  }
  if (object?.type === "allowed_tools" && Array.isArray(object.tools)) {
    const tools = (object.tools as Array<{ type?: unknown; name?: unknown }>).map((tool, index) => {
      if (tool?.type !== "function" || typeof tool.name !== "string") {
        throw unsupported(`tool_choice.tools[${index}]`, "Only function tools can be allowed.");
      }
      return { type: "function", function: { name: tool.name } };
    });
    return { type: "allowed_tools", allowed_tools: { mode: object.mode ?? "auto", tools } };
  }
  throw unsupported(
    "tool_choice",
    'tool_choice must be "auto", "none", "required", a function ({type: "function", name}) or allowed_tools.',
  );
}

function chatResponseFormat(format: { type: string; [field: string]: unknown }): unknown {
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type === "json_schema") {
    const { type: _type, ...schema } = format;
    return { type: "json_schema", json_schema: schema };
  }
  throw unsupported("text.format.type", `text.format of type "${format.type}" is not supported.`);
}

function unsupported(param: string, message: string): GatewayError {
  return new GatewayError("unsupported_parameter", { param, message });
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", { param, message });
}
