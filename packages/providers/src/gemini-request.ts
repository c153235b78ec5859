// The OpenAI chat body as a Gemini generateContent request (@google/genai's parameters): system
// messages as the systemInstruction, roles user/model, consecutive turns merged, assistant
// tool_calls as functionCall parts (their thought signatures restored from the ids, see
// gemini-tool-ids.ts), tool messages as functionResponse parts named after their call, tools as
// functionDeclarations, tool_choice as the function-calling mode, and the sampling settings.
import type { Content, FunctionCallingConfigMode, GenerateContentConfig, Part } from "@google/genai";
import {
  argumentsObject,
  type ChatMessageLike,
  contentText,
  dataUrl,
  functionTools,
  maxTokensOf,
  openingUserText,
  stopSequences,
  toolCallsOf,
  toolChoiceOf,
} from "./chat-body.ts";
import { thoughtSignatureOf } from "./gemini-tool-ids.ts";

export interface GeminiRequest {
  contents: Content[];
  config: GenerateContentConfig;
}

export function geminiRequest(body: Record<string, unknown>): GeminiRequest {
  const system: string[] = [];
  const contents: Content[] = [];
  /** Tool call id -> function name, for the tool messages that answer them. */
  const callNames = new Map<string, string>();
  const push = (role: "user" | "model", parts: Part[]): void => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    if (last?.role === role) (last.parts as Part[]).push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of (Array.isArray(body.messages) ? body.messages : []) as ChatMessageLike[]) {
    switch (message.role) {
      case "system":
      case "developer": {
        const text = contentText(message.content);
        if (text !== "") system.push(text);
        break;
      }
      case "user":
        push("user", userParts(message.content));
        break;
      case "assistant": {
        const text = contentText(message.content);
        const parts: Part[] = text === "" ? [] : [{ text }];
        for (const call of toolCallsOf(message)) {
          callNames.set(call.id, call.name);
          const signature = thoughtSignatureOf(call.id);
          parts.push({
            functionCall: { name: call.name, args: argumentsObject(call.arguments) },
            ...(signature === undefined ? {} : { thoughtSignature: signature }),
          });
        }
        push("model", parts);
        break;
      }
      case "tool": {
        const id = typeof message.tool_call_id === "string" ? message.tool_call_id : "";
        const name = callNames.get(id);
        if (name === undefined) break;
        push("user", [{ functionResponse: { name, response: functionResponse(contentText(message.content)) } }]);
        break;
      }
    }
  }

  if (contents[0]?.role === "model") contents.unshift({ role: "user", parts: [{ text: openingUserText }] });

  const config: GenerateContentConfig = {};
  if (system.length > 0) config.systemInstruction = { parts: [{ text: system.join("\n\n") }] };
  const tools = functionTools(body.tools);
  if (tools.length > 0) {
    config.tools = [
      {
        functionDeclarations: tools.map((tool) => ({
          name: tool.name,
          ...(tool.description === undefined ? {} : { description: tool.description }),
          ...(tool.parameters === undefined ? {} : { parametersJsonSchema: tool.parameters }),
        })),
      },
    ];
    const choice = toolChoiceOf(body.tool_choice);
    if (choice?.kind === "none")
      config.toolConfig = { functionCallingConfig: { mode: "NONE" as FunctionCallingConfigMode } };
    else if (choice?.kind === "required")
      config.toolConfig = { functionCallingConfig: { mode: "ANY" as FunctionCallingConfigMode } };
    else if (choice?.kind === "function")
      config.toolConfig = {
        functionCallingConfig: { mode: "ANY" as FunctionCallingConfigMode, allowedFunctionNames: [choice.name] },
      };
  }
  if (typeof body.temperature === "number") config.temperature = body.temperature;
  if (typeof body.top_p === "number") config.topP = body.top_p;
  const maxTokens = maxTokensOf(body);
  if (maxTokens !== undefined) config.maxOutputTokens = maxTokens;
  const stop = stopSequences(body.stop);
  if (stop && stop.length > 0) config.stopSequences = stop;
  if (typeof body.seed === "number") config.seed = body.seed;
  if (typeof body.presence_penalty === "number") config.presencePenalty = body.presence_penalty;
  if (typeof body.frequency_penalty === "number") config.frequencyPenalty = body.frequency_penalty;
  const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === "json_object") config.responseMimeType = "application/json";
  if (format?.type === "json_schema") {
    config.responseMimeType = "application/json";
    if (format.json_schema?.schema !== undefined) config.responseJsonSchema = format.json_schema.schema;
  }
  return { contents, config };
}

/** A tool's result as Gemini's response object: a JSON object as it is, anything else under `result`. */
function functionResponse(text: string): Record<string, unknown> {
  const parsed = argumentsObject(text);
  return Object.keys(parsed).length > 0 || text.trim() === "{}" ? parsed : { result: text };
}

/** A user message's content as text and inline image parts. */
function userParts(content: unknown): Part[] {
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  const parts: Part[] = [];
  for (const part of content as Array<Record<string, unknown> | null>) {
    if (part?.type === "text" && typeof part.text === "string" && part.text !== "") parts.push({ text: part.text });
    const url = (part?.image_url as { url?: unknown } | undefined)?.url;
    const inline = part?.type === "image_url" && typeof url === "string" ? dataUrl(url) : undefined;
    if (inline) parts.push({ inlineData: { mimeType: inline.mediaType, data: inline.data } });
  }
  return parts;
}
