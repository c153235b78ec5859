// POST /v1/chat/completions's own part of the request path: the body is the job's request as it
// is, and the answer is chat.completion.chunk events or one chat.completion.
import { ChatRequest, GatewayError } from "@switchboard/protocol";
import { CollectedCompletion } from "./collected-completion.ts";
import type { CompletionApi } from "./completion-api.ts";
import { StreamingCompletion } from "./streaming-completion.ts";
import { validationError } from "./validation-error.ts";

export const chatCompletionsApi: CompletionApi = (body) => {
  const parsed = ChatRequest.safeParse(body);
  if (!parsed.success) return validationError(parsed.error.issues);
  const request = parsed.data;
  if (request.n != null && request.n !== 1) {
    return new GatewayError("unsupported_parameter", {
      param: "n",
      message: "Only n = 1 is supported: one answer per request.",
    });
  }
  return {
    request,
    createSink: (response, context) =>
      request.stream ? new StreamingCompletion(response, context) : new CollectedCompletion(response, context),
  };
};
