// How the native providers (Anthropic, Gemini) read the OpenAI chat body they get, and what they do
// with its fields. The ingress sends a closed list of OpenAI chat fields (`openAIChatFields`, packages/protocol) plus
// those the route names in `passFields`. A native provider translates the OpenAI fields it has an
// equivalent for and drops the others; any field outside that list reached it only because the
// route passes it by name, so it is sent as is, at the top level of the native request (an
// operator's choice, e.g. Anthropic's `top_k` or `thinking`). The voice platform's own fields are
// never sent: a native API rejects them.
import { openAIChatFields, vendorFields } from "@switchboard/protocol";

/** The fields a native provider translates or drops: every OpenAI chat field, and the voice platform's. */
const knownFields: ReadonlySet<string> = new Set([...openAIChatFields, ...vendorFields]);

/** The fields of `body` a route passes by name (not OpenAI chat fields), to send as they are. */
export function passedFields(body: Record<string, unknown>): Record<string, unknown> {
  const passed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) if (!knownFields.has(field)) passed[field] = value;
  return passed;
}

/** The text of a message's content: a string, or the text parts of an array. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content)
    if (typeof part === "object" && part !== null && typeof (part as { text?: unknown }).text === "string")
      text += (part as { text: string }).text;
  return text;
}

/** A tool call's arguments as the object a native API wants; not a JSON object: {}. */
export function argumentsObject(args: unknown): Record<string, unknown> {
  if (typeof args !== "string" || args === "") return {};
  try {
    const value: unknown = JSON.parse(args);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** The request's length limit: max_completion_tokens, else max_tokens (OpenAI's older name). */
export function maxTokensOf(body: Record<string, unknown>): number | undefined {
  for (const value of [body.max_completion_tokens, body.max_tokens])
    if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  return undefined;
}

/** A data: URL's media type and base64 payload, or undefined for any other URL. */
export function dataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mediaType: match[1] as string, data: match[2] as string } : undefined;
}

/** The chat messages of the body, each as a plain record. */
export interface ChatMessageLike {
  role?: unknown;
  content?: unknown;
  tool_calls?: unknown;
  tool_call_id?: unknown;
}

export interface ToolCallLike {
  id: string;
  name: string;
  arguments: string;
}

/** An assistant message's tool calls, well formed ones only. */
export function toolCallsOf(message: ChatMessageLike): ToolCallLike[] {
  if (!Array.isArray(message.tool_calls)) return [];
  const calls: ToolCallLike[] = [];
  for (const call of message.tool_calls) {
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
    const id = (call as { id?: unknown } | null)?.id;
    if (typeof id === "string" && typeof fn?.name === "string")
      calls.push({ id, name: fn.name, arguments: typeof fn.arguments === "string" ? fn.arguments : "" });
  }
  return calls;
}

/** The OpenAI function tools of the body: name, description, JSON schema. */
export function functionTools(
  tools: unknown,
): Array<{ name: string; description?: string; parameters?: Record<string, unknown> }> {
  if (!Array.isArray(tools)) return [];
  const out: Array<{ name: string; description?: string; parameters?: Record<string, unknown> }> = [];
  for (const tool of tools) {
    const fn = (tool as { type?: unknown; function?: Record<string, unknown> } | null)?.function;
    if ((tool as { type?: unknown }).type !== "function" || typeof fn?.name !== "string") continue;
    out.push({
      name: fn.name,
      ...(typeof fn.description === "string" ? { description: fn.description } : {}),
      ...(typeof fn.parameters === "object" && fn.parameters !== null
        ? { parameters: fn.parameters as Record<string, unknown> }
        : {}),
    });
  }
  return out;
}

/** OpenAI's tool_choice as one of four intents. */
export type ToolChoice = { kind: "auto" | "none" | "required" } | { kind: "function"; name: string } | undefined;

export function toolChoiceOf(choice: unknown): ToolChoice {
  if (choice === "auto" || choice === "none" || choice === "required") return { kind: choice };
  const name = (choice as { function?: { name?: unknown } } | null)?.function?.name;
  return typeof name === "string" ? { kind: "function", name } : undefined;
}

/** OpenAI's `stop`: a string or a list, as a list. */
export function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === "string") return [stop];
  if (Array.isArray(stop)) return stop.filter((item): item is string => typeof item === "string");
  return undefined;
}

/**
 * The user turn put before a conversation that opens with the assistant (a voice agent's greeting):
 * Anthropic refuses a first message that is not the user's, and Gemini wants the user first too.
 */
export const openingUserText = ".";
