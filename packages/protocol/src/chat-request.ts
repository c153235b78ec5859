// The chat-completions request as ElevenLabs and OpenAI clients really send it.
// Permissive on purpose: unknown fields are kept (new OpenAI parameters appear all the time),
// content may be a string, null or an array of parts, and tools may be absent, null or [].
import { z } from "zod";

const ContentPart = z.looseObject({ type: z.string() });
export type ContentPart = z.infer<typeof ContentPart>;

const MessageContent = z.union([z.string(), z.null(), z.array(ContentPart)]);

const ToolCall = z.looseObject({
  id: z.string(),
  type: z.string().optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const ChatMessage = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: MessageContent.optional(),
  name: z.string().nullish(),
  tool_calls: z.array(ToolCall).nullish(),
  tool_call_id: z.string().nullish(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

const StreamOptions = z.looseObject({ include_usage: z.boolean().nullish() });

const Tool = z.looseObject({
  type: z.string(),
  function: z.looseObject({ name: z.string() }).optional(),
});
export type Tool = z.infer<typeof Tool>;

/** Fields that belong to a voice platform, never to an upstream. */
export const vendorFields = ["elevenlabs_extra_body", "user_id"] as const;

/**
 * The OpenAI chat fields every route passes upstream (services/ingress/src/upstream-body.ts): the
 * conversation, the sampling and length settings, tools, the caller's end-user id, and the prompt
 * cache key (which the ingress sets to the conversation's id when the caller did not set one). A
 * native provider (packages/providers/src/chat-body.ts) translates those it has an equivalent for;
 * any other field reached it only because the route passes it by name.
 */
export const openAIChatFields: ReadonlySet<string> = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "n",
  "temperature",
  "top_p",
  "frequency_penalty",
  "presence_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "seed",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "functions",
  "function_call",
  "response_format",
  "user",
  "safety_identifier",
  "prompt_cache_key",
]);

export const ChatRequest = z.looseObject({
  model: z.string().min(1),
  messages: z.array(ChatMessage).min(1),
  stream: z.boolean().nullish(),
  stream_options: StreamOptions.nullish(),
  n: z.number().int().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  max_tokens: z.number().int().nullish(),
  max_completion_tokens: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  seed: z.number().int().nullish(),
  tools: z.array(Tool).nullish(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
  user: z.string().nullish(),
  user_id: z.string().nullish(),
  elevenlabs_extra_body: z.record(z.string(), z.unknown()).nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;
