// The three request formats the mock answers (OpenAI chat completions, Anthropic Messages, Gemini
// generateContent): how each one's body is checked, what it says about the answer (model, stream,
// prompt size, a forced tool) and which wire writes the answer. The mock's own options come in the
// body's `mock` field in every format.
import { anthropicAnswer, anthropicError, anthropicStream, type CacheUsage } from "./anthropic-response.ts";
import { chatAnswer, chatStream, promptTokensOf, type ChatPlan } from "./chat-response.ts";
import { googleError, geminiAnswer, geminiStream } from "./gemini-response.ts";
import { errorJson } from "./http-responses.ts";
import type { AnswerWire, HttpError, StreamWire } from "./wire-stream.ts";

/** What a valid request says about its answer. */
export interface RequestFacts {
  model: string;
  stream: boolean;
  promptTokens: number;
  includeUsage: boolean;
  /** The tool the request forces, answered with a call to it unless mock.toolCalls says otherwise. */
  forcedTool?: string;
  /** Anthropic: the part of the prompt marked cache_control (system and tools), as JSON, and its size. */
  cachePrefix?: { key: string; tokens: number };
}

export interface WireFormat {
  /** Prefix of the ids of the tool calls the mock makes. */
  toolIdPrefix: string;
  /** A 400 in the format's error shape. */
  badRequest(message: string, param: string | null, code?: string): HttpError;
  /** Checks the body: the request's facts, or the 400 to answer with. */
  read(body: Record<string, unknown>, pathModel: string | undefined, pathStream: boolean): RequestFacts | HttpError;
  stream(plan: ChatPlan, cache: CacheUsage): StreamWire;
  answer(plan: ChatPlan, cache: CacheUsage): AnswerWire;
}

export function isHttpError(value: RequestFacts | HttpError): value is HttpError {
  return "status" in value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function badStream(stream: unknown): boolean {
  return stream !== undefined && stream !== null && typeof stream !== "boolean";
}

export const openAIFormat: WireFormat = {
  toolIdPrefix: "call_mock_",
  badRequest: (message, param, code) => ({
    status: 400,
    body: errorJson(message, "invalid_request_error", param, code ?? null),
  }),
  read(body) {
    const { model, messages, stream } = body;
    if (typeof model !== "string") return this.badRequest("you must provide a model parameter (a string)", "model");
    if (!Array.isArray(messages) || messages.length === 0)
      return this.badRequest("messages must be a non-empty array", "messages");
    if (badStream(stream)) return this.badRequest("stream must be a boolean", "stream");
    const streamOptions = body.stream_options;
    const name =
      isRecord(body.tool_choice) && isRecord(body.tool_choice.function) ? body.tool_choice.function.name : undefined;
    return {
      model,
      stream: stream === true,
      promptTokens: promptTokensOf(messages),
      includeUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
      ...(typeof name === "string" && name !== "" ? { forcedTool: name } : {}),
    };
  },
  stream: (plan) => chatStream(plan),
  answer: (plan) => chatAnswer(plan),
};

/** Characters of text in an Anthropic system prompt (a string or text blocks). */
function systemText(system: unknown): string {
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) return "";
  return system.map((block) => (isRecord(block) && typeof block.text === "string" ? block.text : "")).join("");
}

function hasCacheControl(blocks: unknown): boolean {
  return Array.isArray(blocks) && blocks.some((block) => isRecord(block) && block.cache_control !== undefined);
}

export const anthropicFormat: WireFormat = {
  toolIdPrefix: "toolu_mock_",
  badRequest: (message) => anthropicError(400, message),
  read(body) {
    const { model, messages, stream, max_tokens: maxTokens, system, tools } = body;
    if (typeof model !== "string") return this.badRequest("model: Field required", null);
    if (!Array.isArray(messages) || messages.length === 0)
      return this.badRequest("messages: at least one message is required", null);
    if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1)
      return this.badRequest("max_tokens: Field required (an integer of at least 1)", null);
    if (badStream(stream)) return this.badRequest("stream: Input should be a valid boolean", null);
    const systemTokens = Math.ceil(systemText(system).length / 4);
    const toolTokens = Array.isArray(tools) ? Math.ceil(JSON.stringify(tools).length / 4) : 0;
    const cached = hasCacheControl(system) || hasCacheControl(tools);
    const forced = isRecord(body.tool_choice) && body.tool_choice.type === "tool" ? body.tool_choice.name : undefined;
    return {
      model,
      stream: stream === true,
      promptTokens: promptTokensOf(messages) + (cached ? 0 : systemTokens + toolTokens),
      includeUsage: true,
      ...(typeof forced === "string" && forced !== "" ? { forcedTool: forced } : {}),
      ...(cached ? { cachePrefix: { key: JSON.stringify([system, tools]), tokens: systemTokens + toolTokens } } : {}),
    };
  },
  stream: anthropicStream,
  answer: anthropicAnswer,
};

/** Characters of text in Gemini contents (or one systemInstruction content). */
function partsText(contents: unknown[]): number {
  let characters = 0;
  for (const content of contents) {
    const parts = isRecord(content) ? content.parts : undefined;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) if (isRecord(part) && typeof part.text === "string") characters += part.text.length;
  }
  return characters;
}

export const geminiFormat: WireFormat = {
  toolIdPrefix: "",
  badRequest: (message) => googleError(400, message),
  read(body, pathModel, pathStream) {
    const { contents, systemInstruction } = body;
    if (pathModel === undefined || pathModel === "") return this.badRequest("model: missing from the URL", null);
    if (!Array.isArray(contents) || contents.length === 0)
      return this.badRequest("* GenerateContentRequest.contents: contents is not specified", null);
    const config = isRecord(body.toolConfig) ? body.toolConfig.functionCallingConfig : undefined;
    const allowed = isRecord(config) && config.mode === "ANY" ? config.allowedFunctionNames : undefined;
    const forced = Array.isArray(allowed) && allowed.length === 1 ? allowed[0] : undefined;
    return {
      model: pathModel,
      stream: pathStream,
      promptTokens: Math.ceil((partsText(contents) + partsText(systemInstruction ? [systemInstruction] : [])) / 4),
      includeUsage: true,
      ...(typeof forced === "string" && forced !== "" ? { forcedTool: forced } : {}),
    };
  },
  stream: (plan) => geminiStream(plan),
  answer: (plan) => geminiAnswer(plan),
};
