// Step 3 of the chat route: the answer as the ingress holds it while the job runs. It makes the
// answer's writer (sink), listens for the job's relayed events before anything is enqueued, and
// arms what can end the answer from outside the relay: the client leaving, the request deadline,
// and the queue-wait check (queue-wait.ts), and a newer turn of its conversation (supersession).
// Whatever ends it runs onEnd once, which releases all and, for a conversation's turn, writes the
// turn's record to the conversation's timeline (turn-timeline.ts).
import type { Response } from "express";
import { GatewayError, completionId } from "@switchboard/protocol";
import { traceIdsOf, type Logger } from "@switchboard/telemetry";
import type { CompletionSink } from "./completion-sink.ts";
import type { Conversation } from "./conversation-id.ts";
import type { IngressRuntime } from "./ingress-runtime.ts";
import { endIfNotStarted } from "./queue-wait.ts";
import type { AcceptedRequest } from "./request-acceptance.ts";
import type { Admission } from "./request-admission.ts";
import { requestTelemetryOf, type RequestTelemetry } from "./request-telemetry.ts";
import { TurnTimeline } from "./turn-timeline.ts";

export interface AnswerOptions {
  runtime: IngressRuntime;
  requestTimeoutMs: number;
  queueMaxWaitMs: number;
  log: Logger;
}

export interface OpenAnswer {
  sink: CompletionSink;
  /** Every line about this request names it (and the caller's own id, if it sent one). */
  log: Logger;
  telemetry: RequestTelemetry | undefined;
  /** Epoch ms the request was accepted: the job's enqueue time and the base of its deadlines. */
  startedAt: number;
  /** End the answer with an error and stop its job wherever it is. */
  failAndCancel: (error: GatewayError) => void;
}

export function openAnswer(
  response: Response,
  accepted: AcceptedRequest,
  admission: Admission,
  conversation: Conversation | undefined,
  options: AnswerOptions,
): OpenAnswer {
  const { runtime } = options;
  const { body, route, routeKey } = accepted;
  const { requestId, ids, release } = admission;
  const startedAt = Date.now();
  const telemetry = requestTelemetryOf(response);
  telemetry?.accepted(body.model, body.stream === true, { key: routeKey, model: route.model ?? routeKey });
  const traceIds = telemetry ? traceIdsOf(telemetry.span) : {};
  const log = options.log.child({
    ...traceIds,
    requestId,
    ...(ids?.callerRequestId ? { callerRequestId: ids.callerRequestId } : {}),
    ...(conversation ? { conversationId: conversation.id } : {}),
  });
  if (conversation) telemetry?.conversation(conversation.id);
  const turn = conversation
    ? new TurnTimeline({
        requestId,
        route: routeKey,
        model: route.model ?? routeKey,
        stream: body.stream === true,
        traceId: traceIds.trace_id,
      })
    : undefined;
  let deadline: NodeJS.Timeout | undefined;
  let queueWait: NodeJS.Timeout | undefined;
  const sink = accepted.completion.createSink(response, {
    requestId,
    completionId: completionId(requestId),
    created: Math.floor(startedAt / 1000),
    model: body.model,
    includeUsage: body.stream_options?.include_usage === true,
    onEnd: (outcome: string) => {
      clearTimeout(deadline);
      clearTimeout(queueWait);
      runtime.hub.unregister(requestId);
      runtime.openRequests.delete(requestId);
      release();
      log.debug("request ended", { outcome, durationMs: Date.now() - startedAt });
      if (conversation && turn) runtime.recordTurn(conversation.id, turn.ended(outcome));
    },
    ...(turn ? { onStarted: () => turn.started() } : {}),
    ...deltaListener(telemetry, turn),
  });
  const failAndCancel = (error: GatewayError) => {
    if (sink.isEnded) return;
    sink.fail(error);
    runtime.cancel(requestId);
  };

  // Listening before enqueueing: nothing can be published before someone listens.
  runtime.hub.register(requestId, sink);
  runtime.openRequests.add(requestId, {
    fail: failAndCancel,
    supersede: () => {
      if (sink.isEnded) return;
      // The cancel first: its commands leave before the client's last bytes.
      runtime.cancel(requestId, "superseded");
      telemetry?.superseded();
      sink.finishSuperseded();
      log.info("request superseded", { started: sink.hasStarted });
    },
  });
  response.on("close", () => {
    if (sink.isEnded) return;
    // The cancel first: it asks the reply hub whether the worker was heard from, before the end
    // of the request unregisters it there.
    runtime.cancel(requestId);
    sink.abandon();
    // Not an error: voice users interrupt all the time. Once a worker has started the request, its
    // `request cancelled` line says so, with the usage so far; this one is then only for debugging
    // (at info, 200 callers hanging up at once took measurably longer to reach their workers:
    // docs/performance.md). Before that, the cancel may remove the job unseen: this line is its record.
    if (sink.hasStarted) log.debug("client went away", { started: true });
    else log.info("client went away", { started: false });
  });
  deadline = setTimeout(
    () =>
      failAndCancel(
        new GatewayError("deadline_exceeded", {
          message: `No complete answer within ${options.requestTimeoutMs} ms.`,
        }),
      ),
    options.requestTimeoutMs,
  );
  const answer = { sink, log, telemetry, startedAt, failAndCancel };
  queueWait = setTimeout(
    () => void endIfNotStarted(answer, requestId, runtime, options.queueMaxWaitMs),
    options.queueMaxWaitMs,
  );
  if (route.bufferWords && sink.startBufferWords) sink.startBufferWords(route.bufferWords);
  return answer;
}

/** Per delta: the telemetry's count and the turn's first token, only what is there. */
function deltaListener(
  telemetry: RequestTelemetry | undefined,
  turn: TurnTimeline | undefined,
): { onDelta?: () => void } {
  if (telemetry && turn)
    return {
      onDelta: () => {
        telemetry.delta();
        turn.delta();
      },
    };
  if (telemetry) return { onDelta: () => telemetry.delta() };
  if (turn) return { onDelta: () => turn.delta() };
  return {};
}
