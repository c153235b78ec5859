// The Responses API request (`POST /v1/responses`) as ElevenLabs agents set to `api_type: responses`
// and the OpenAI SDKs send it. Permissive like the chat request: unknown fields are kept, and an item
// or tool type the gateway cannot serve is accepted here and refused by the translation, which can
// name it (see responses-to-chat.ts).
import { z } from "zod";

/** One part of a message's content: input_text, output_text, input_image, refusal, … */
export const ResponsesContentPart = z.looseObject({ type: z.string() });
export type ResponsesContentPart = z.infer<typeof ResponsesContentPart>;

/** A conversation item of `input`: a message (with or without `type`), a function call, its output, … */
export const ResponsesInputItem = z.looseObject({
  type: z.string().optional(),
  role: z.string().optional(),
  content: z.union([z.string(), z.array(ResponsesContentPart)]).optional(),
  call_id: z.string().optional(),
  name: z.string().optional(),
  arguments: z.string().optional(),
  output: z.union([z.string(), z.array(ResponsesContentPart)]).optional(),
});
export type ResponsesInputItem = z.infer<typeof ResponsesInputItem>;

/** A tool: `{type: "function", name, description, parameters, strict}`, or a built-in tool type. */
export const ResponsesTool = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
export type ResponsesTool = z.infer<typeof ResponsesTool>;

export const ResponsesRequest = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(ResponsesInputItem).min(1)]),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  max_output_tokens: z.number().int().nullish(),
  tools: z.array(ResponsesTool).nullish(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: z.looseObject({ type: z.string() }).nullish() }).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
  user_id: z.string().nullish(),
  elevenlabs_extra_body: z.record(z.string(), z.unknown()).nullish(),
});
export type ResponsesRequest = z.infer<typeof ResponsesRequest>;
