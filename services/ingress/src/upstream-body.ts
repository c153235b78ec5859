// The request body as an upstream gets it: a closed list of OpenAI chat fields, plus those the
// route names. What crosses to the upstream is what the operator pays for, so a caller cannot
// switch on what costs more (`service_tier`, `store`, `audio`, `web_search_options`,
// `reasoning_effort`, `models`, …) unless the route passes it (`passFields`). Voice platforms also
// send their own fields (`elevenlabs_extra_body`, `user_id`), passed only with `passVendorFields`;
// and tool settings without tools are dropped (OpenAI answers 400 to `tool_choice` or
// `parallel_tool_calls` without `tools`, and to `tools: []`).
import { vendorFields, type ChatRequest } from "@switchboard/protocol";

/**
 * The OpenAI chat fields every route passes: the conversation, the sampling and length settings,
 * tools, the caller's end-user id, and the prompt cache key (which the ingress sets to the
 * conversation's id when the caller did not set one). `stream` and `stream_options` are the worker's to set.
 */
const upstreamFields: ReadonlySet<string> = new Set([
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

export interface UpstreamBodyOptions {
  /** Send the voice platform's own fields (elevenlabs_extra_body, user_id) too. */
  passVendorFields: boolean;
  /** More top-level fields this route passes. */
  passFields: readonly string[];
}

export interface UpstreamBody {
  body: ChatRequest;
  /** The names of the fields left out (at most maxDroppedNames), for a debug log line. */
  dropped: string[];
}

const maxDroppedNames = 20;

export function upstreamBody(request: ChatRequest, options: UpstreamBodyOptions): UpstreamBody {
  const body: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [field, value] of Object.entries(request)) {
    const passed =
      upstreamFields.has(field) ||
      options.passFields.includes(field) ||
      (options.passVendorFields && (vendorFields as readonly string[]).includes(field));
    if (passed) body[field] = value;
    else if (dropped.length < maxDroppedNames) dropped.push(field.length > 64 ? `${field.slice(0, 64)}…` : field);
  }
  if (!Array.isArray(request.tools) || request.tools.length === 0) {
    delete body.tools;
    delete body.tool_choice;
    delete body.parallel_tool_calls;
  }
  return { body: body as ChatRequest, dropped };
}
