// POST /v1/responses's own part of the request path: the Responses body becomes the chat-completions
// request every worker and upstream already serve (protocol's chatRequestFromResponses), and the
// relayed deltas are written back as Responses events or one `response` object.
import { GatewayError, ResponsesRequest, chatRequestFromResponses } from "@switchboard/protocol";
import { CollectedResponse } from "./collected-response.ts";
import type { CompletionApi } from "./completion-api.ts";
import { StreamingResponse } from "./streaming-response.ts";
import { validationError } from "./validation-error.ts";

export const responsesApi: CompletionApi = (body) => {
  const parsed = ResponsesRequest.safeParse(body);
  if (!parsed.success) return validationError(parsed.error.issues);
  let request: ReturnType<typeof chatRequestFromResponses>;
  try {
    request = chatRequestFromResponses(parsed.data);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  const settings = echoedSettings(parsed.data);
  return {
    request,
    createSink: (response, context) =>
      request.stream
        ? new StreamingResponse(response, context, settings)
        : new CollectedResponse(response, context, settings),
  };
};

/**
 * The request's settings as the response object repeats them. Not `instructions`: the gateway
 * repeats no message content (it could reach a log or an error report downstream).
 */
function echoedSettings(body: ResponsesRequest): Record<string, unknown> {
  return {
    instructions: null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: body.temperature ?? null,
    text: body.text ?? { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? null,
    truncation: "disabled",
  };
}
