// The request body as an upstream gets it. Voice platforms and clients send fields that strict
// upstreams reject: ElevenLabs' own fields (`elevenlabs_extra_body`, `user_id`), and tool settings
// without tools (OpenAI answers 400 to `tool_choice` or `parallel_tool_calls` without `tools`, and
// to `tools: []`). Everything else is passed on untouched, unknown fields included.
import { vendorFields, type ChatRequest } from "@switchboard/protocol";

export function upstreamBody(body: ChatRequest, passVendorFields: boolean): ChatRequest {
  const copy: Record<string, unknown> = { ...body };
  if (!passVendorFields) for (const field of vendorFields) delete copy[field];
  if (!Array.isArray(body.tools) || body.tools.length === 0) {
    delete copy.tools;
    delete copy.tool_choice;
    delete copy.parallel_tool_calls;
  }
  return copy as ChatRequest;
}
