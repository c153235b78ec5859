// Step 1 of the chat route: is the body a request this gateway serves? Its structure (body-guard.ts),
// the completion API's own validation, a route for its model, and the route's body size limit.
// Nothing is queued or counted yet.
import { resolveRoute, type Route, type RouteTable } from "@switchboard/config";
import { GatewayError, type ChatRequest } from "@switchboard/protocol";
import { bodyDefect } from "./body-guard.ts";
import type { AcceptedCompletion, CompletionApi } from "./completion-api.ts";

export interface AcceptedRequest {
  completion: AcceptedCompletion;
  /** The chat-completions request the job carries (before the route's upstream-body rules). */
  body: ChatRequest;
  route: Route;
  /** The routing table's key that matched: the model id itself, or "*". */
  routeKey: string;
}

/** The accepted request, or the error to answer with. */
export function acceptRequest(
  rawBody: unknown,
  api: CompletionApi,
  routes: RouteTable,
  jsonMaxDepth: number,
  /** The body's size as parsed, for the route's maxBodyBytes (body-guard.ts). */
  bodyBytes?: number,
): AcceptedRequest | GatewayError {
  const defect = bodyDefect(rawBody, jsonMaxDepth);
  if (defect) return new GatewayError("invalid_request", { message: defect });
  const completion = api(rawBody);
  if (completion instanceof GatewayError) return completion;
  const body = completion.request;
  const route = resolveRoute(routes, body.model);
  if (!route) {
    return new GatewayError("model_not_found", {
      param: "model",
      message: `The model "${body.model}" is not served by this gateway. GET /v1/models lists the models it serves.`,
    });
  }
  if (route.maxBodyBytes !== undefined && bodyBytes !== undefined && bodyBytes > route.maxBodyBytes)
    return new GatewayError("request_too_large", {
      message: `The request body (${bodyBytes} bytes) is larger than the ${route.maxBodyBytes} bytes the model "${body.model}" accepts.`,
    });
  const routeKey = Object.hasOwn(routes.routes, body.model) ? body.model : "*";
  return { completion, body, route, routeKey };
}
