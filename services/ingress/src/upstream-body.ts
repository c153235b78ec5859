// The request body as an upstream gets it: a closed list of OpenAI chat fields, plus those the
// route names. What crosses to the upstream is what the operator pays for, so a caller cannot
// switch on what costs more (`service_tier`, `store`, `audio`, `web_search_options`,
// `reasoning_effort`, `models`, …) unless the route passes it (`passFields`). Voice platforms also
// send their own fields (`elevenlabs_extra_body`, `user_id`), passed only with `passVendorFields`;
// and tool settings without tools are dropped (OpenAI answers 400 to `tool_choice` or
// `parallel_tool_calls` without `tools`, and to `tools: []`).
import { openAIChatFields, vendorFields, type ChatRequest } from "@switchboard/protocol";

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
      openAIChatFields.has(field) ||
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
