// The OpenAI chat body as an Anthropic Messages request: system prompt split out, messages merged
// so roles alternate, assistant tool_calls as tool_use blocks and tool messages as tool_result
// blocks, tools and tool_choice translated, max_tokens always set (Anthropic requires it), and with
// prompt caching an ephemeral cache_control on the system prompt and on the last tool.
import {
  argumentsObject,
  type ChatMessageLike,
  contentText,
  dataUrl,
  functionTools,
  maxTokensOf,
  openingUserText,
  passedFields,
  stopSequences,
  toolCallsOf,
  toolChoiceOf,
} from "./chat-body.ts";
import { plainToolCallId } from "./gemini-tool-ids.ts";

export interface AnthropicRequestOptions {
  /** max_tokens when the request sets neither max_completion_tokens nor max_tokens. */
  defaultMaxTokens: number;
  /** Mark the system prompt and the last tool with cache_control {type: "ephemeral"}. */
  promptCaching: boolean;
}

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: "user" | "assistant";
  content: Block[];
}

const ephemeral = { type: "ephemeral" } as const;

/** The request body for POST /v1/messages (without `stream`). */
export function anthropicRequest(
  body: Record<string, unknown>,
  model: string,
  options: AnthropicRequestOptions,
): Record<string, unknown> {
  const system: Block[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage["role"], content: Block[]): void => {
    if (content.length === 0) return;
    const last = messages.at(-1);
    if (last?.role === role) last.content.push(...content);
    else messages.push({ role, content });
  };
  for (const message of (Array.isArray(body.messages) ? body.messages : []) as ChatMessageLike[]) {
    switch (message.role) {
      case "system":
      case "developer": {
        const text = contentText(message.content);
        if (text !== "") system.push({ type: "text", text });
        break;
      }
      case "user":
        push("user", userBlocks(message.content));
        break;
      case "assistant": {
        const text = contentText(message.content);
        const blocks: Block[] = text === "" ? [] : [{ type: "text", text }];
        for (const call of toolCallsOf(message))
          blocks.push({
            type: "tool_use",
            id: plainToolCallId(call.id),
            name: call.name,
            input: argumentsObject(call.arguments),
          });
        push("assistant", blocks);
        break;
      }
      case "tool":
        if (typeof message.tool_call_id === "string")
          push("user", [
            {
              type: "tool_result",
              tool_use_id: plainToolCallId(message.tool_call_id),
              content: contentText(message.content),
            },
          ]);
        break;
    }
  }
  if (messages[0]?.role === "assistant")
    messages.unshift({ role: "user", content: [{ type: "text", text: openingUserText }] });
  if (options.promptCaching && system.length > 0) (system.at(-1) as Block).cache_control = ephemeral;

  const request: Record<string, unknown> = {
    ...passedFields(body),
    model,
    messages,
    max_tokens: maxTokensOf(body) ?? options.defaultMaxTokens,
  };
  if (system.length > 0) request.system = system;
  const tools = functionTools(body.tools).map(
    (tool): Block => ({
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      input_schema: tool.parameters ?? { type: "object", properties: {} },
    }),
  );
  if (tools.length > 0) {
    if (options.promptCaching) (tools.at(-1) as Block).cache_control = ephemeral;
    request.tools = tools;
    const choice = toolChoice(body);
    if (choice) request.tool_choice = choice;
  }
  // Anthropic's temperature runs from 0 to 1, OpenAI's to 2: a higher one is capped.
  if (typeof body.temperature === "number") request.temperature = Math.min(body.temperature, 1);
  if (typeof body.top_p === "number") request.top_p = body.top_p;
  const stop = stopSequences(body.stop);
  if (stop && stop.length > 0) request.stop_sequences = stop;
  const user = typeof body.safety_identifier === "string" ? body.safety_identifier : body.user;
  if (typeof user === "string" && user !== "") request.metadata = { user_id: user };
  return request;
}

function toolChoice(body: Record<string, unknown>): Block | undefined {
  const choice = toolChoiceOf(body.tool_choice);
  const serial = body.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  switch (choice?.kind) {
    case "none":
      return { type: "none" };
    case "required":
      return { type: "any", ...serial };
    case "function":
      return { type: "tool", name: choice.name, ...serial };
    default:
      return body.parallel_tool_calls === false ? { type: "auto", ...serial } : undefined;
  }
}

/** A user message's content as text and image blocks (empty text is left out: Anthropic rejects it). */
function userBlocks(content: unknown): Block[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) return [];
  const blocks: Block[] = [];
  for (const part of content as Array<Record<string, unknown> | null>) {
    if (part?.type === "text" && typeof part.text === "string" && part.text !== "")
      blocks.push({ type: "text", text: part.text });
    const url = (part?.image_url as { url?: unknown } | undefined)?.url;
    if (part?.type === "image_url" && typeof url === "string") {
      const inline = dataUrl(url);
      blocks.push({
        type: "image",
        source: inline ? { type: "base64", media_type: inline.mediaType, data: inline.data } : { type: "url", url },
      });
    }
  }
  return blocks;
}
