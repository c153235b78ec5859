// POST /v1/chat/completions: validate, enqueue, and answer from the relayed events. The same path
// serves POST /v1/responses, whose API (responses-api.ts) translates its body into a chat request
// and writes the answer as Responses events. The handler reads top to bottom as the request's
// steps: accept the body (request-acceptance.ts), admit it (request-admission.ts), find its
// conversation (conversation-id.ts), open its answer (open-answer.ts), build its job, claim the
// conversation's turn (which supersedes an older one still running), enqueue.
import type { Request, Response } from "express";
import type { RouteTable } from "@switchboard/config";
import { GatewayError, type ChatJob } from "@switchboard/protocol";
import { withSpan, type Logger } from "@switchboard/telemetry";
import { chatCompletionsApi } from "./chat-completions-api.ts";
import type { CompletionApi } from "./completion-api.ts";
import { bodyBytesOf } from "./body-guard.ts";
import { sendError } from "./completion-sink.ts";
import type { IngressRuntime } from "./ingress-runtime.ts";
import { conversationOf, type Conversation } from "./conversation-id.ts";
import { openAnswer, type OpenAnswer } from "./open-answer.ts";
import { acceptRequest, type AcceptedRequest } from "./request-acceptance.ts";
import { admitRequest } from "./request-admission.ts";
import { upstreamBody } from "./upstream-body.ts";

export interface ChatRouteOptions {
  runtime: IngressRuntime;
  routes: RouteTable;
  requestTimeoutMs: number;
  /** A request no worker has started within this long is answered queue_timeout. */
  queueMaxWaitMs: number;
  jsonMaxDepth: number;
  log: Logger;
}

/** api: the completion API whose body and answer shapes the route speaks (chat completions unless given). */
export function chatCompletionsRoute(options: ChatRouteOptions, api: CompletionApi = chatCompletionsApi) {
  const { runtime, routes, log } = options;
  return async (request: Request, response: Response): Promise<void> => {
    const accepted = acceptRequest(request.body, api, routes, options.jsonMaxDepth, bodyBytesOf(request));
    if (accepted instanceof GatewayError) return sendError(response, accepted);
    const admission = await admitRequest(request, response, runtime, log);
    if (!admission) return;
    const conversation = conversationOf(request.headers, accepted.body, runtime.conversations.header);
    const answer = openAnswer(response, accepted, admission, conversation, options);
    const job = buildJob(accepted, admission.requestId, conversation, answer, runtime, options);
    // Beside the enqueue, not before it: ending the older turn is not on this turn's path.
    if (conversation && (accepted.route.supersede ?? runtime.conversations.supersede))
      void runtime.claimTurn(conversationScope(response), conversation.id, admission.requestId);
    await enqueueJob(job, answer, runtime);
  };
}

function buildJob(
  accepted: AcceptedRequest,
  requestId: string,
  conversation: Conversation | undefined,
  answer: OpenAnswer,
  runtime: IngressRuntime,
  options: ChatRouteOptions,
): ChatJob {
  const forwarded = upstreamBody(accepted.body, accepted.route);
  // An OpenAI-compatible upstream caches a conversation's shared prefix better under one key;
  // a provider with promptCacheKey: false rejects the field (the worker drops it for such a target).
  const provider = options.routes.providers[accepted.route.provider];
  if (conversation && forwarded.body.prompt_cache_key == null && provider?.type === "openai" && provider.promptCacheKey)
    forwarded.body.prompt_cache_key = conversation.id;
  if (forwarded.dropped.length > 0) answer.log.debug("fields not passed upstream", { fields: forwarded.dropped });
  const { startedAt } = answer;
  return {
    requestId,
    model: accepted.body.model,
    request: forwarded.body,
    ingressId: runtime.ingressId,
    replyChannel: runtime.hub.channel,
    deadlineAt: startedAt + options.requestTimeoutMs,
    enqueuedAt: startedAt,
    startBy: startedAt + options.queueMaxWaitMs,
    ...(conversation ? { conversationId: conversation.id } : {}),
  };
}

/** Whose conversation ids these are: the caller's key id, or one scope for an open gateway. */
function conversationScope(response: Response): string {
  const apiKeyId: unknown = response.locals.apiKeyId;
  return typeof apiKeyId === "string" ? `key:${apiKeyId}` : "open";
}

async function enqueueJob(job: ChatJob, answer: OpenAnswer, runtime: IngressRuntime): Promise<void> {
  const { telemetry, sink } = answer;
  try {
    // Inside the request's SERVER span, so the enqueue (PRODUCER) and the worker's spans join its trace.
    await (telemetry ? withSpan(telemetry.span, () => runtime.enqueue(job)) : runtime.enqueue(job));
  } catch (error) {
    // The add may have reached Redis even so (a reply lost, a command timed out): the cancel
    // that goes with the 503 removes or stops that job, now or once Redis is back.
    answer.log.warn("enqueue failed", { error });
    if (sink.isEnded) return;
    // The cancel first, then the answer: the cancel's commands leave before the client hears.
    runtime.cancel(job.requestId);
    sink.fail(new GatewayError("redis_unavailable", { retryAfterSeconds: 1, cause: error }));
  }
}
