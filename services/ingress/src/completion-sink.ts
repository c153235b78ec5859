// What both answer shapes share: receive ordered relay events for one request, end exactly once.
import type { Response } from "express";
import {
  GatewayError,
  decodeRelayEvent,
  isDeterministic,
  toErrorBody,
  type EventPosition,
  type FinishReason,
  type Usage,
} from "@switchboard/protocol";
import type { ReplySink } from "@switchboard/relay";
import { requestIdsOf } from "./request-id-header.ts";
import { requestTelemetryOf } from "./request-telemetry.ts";

export interface CompletionContext {
  requestId: string;
  completionId: string;
  created: number;
  model: string;
  includeUsage: boolean;
  /** Called once when the answer has ended, however it ended. */
  onEnd: (outcome: string) => void;
  /** Called once, at the first relayed event (a worker started the request). */
  onStarted?: () => void;
  /** Called for every delta relayed (telemetry counts them; keep it cheap). */
  onDelta?: () => void;
}

export abstract class CompletionSink implements ReplySink {
  protected readonly response: Response;
  protected readonly context: CompletionContext;
  private ended = false;
  private started = false;
  private deltaAttempt = 0;

  constructor(response: Response, context: CompletionContext) {
    this.response = response;
    this.context = context;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Has this ingress heard that a worker started the request (so it is past its queue wait)? The
   * worker's started event comes with its first token or its end; catchUp() reads it from the log.
   */
  get hasStarted(): boolean {
    return this.started;
  }

  onFrame(frame: string, position: EventPosition): void {
    if (this.ended) return;
    const event = decodeRelayEvent(frame);
    if (!this.started) {
      this.started = true;
      this.context.onStarted?.();
    }
    switch (event.kind) {
      case "started":
        return;
      case "delta":
        // A second attempt must never add to what an earlier one already said.
        if (this.deltaAttempt !== 0 && this.deltaAttempt !== position.attempt) {
          return this.fail(new GatewayError("upstream_interrupted"));
        }
        this.deltaAttempt = position.attempt;
        this.writeDelta(event.deltaJson);
        // After the write: telemetry never delays a token.
        return this.context.onDelta?.();
      case "finish":
        this.end("finish");
        return this.writeFinish(event.finishReason, event.usage);
      case "error":
        return this.fail(
          new GatewayError(event.code, {
            message: event.message,
            ...(event.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: event.retryAfterSeconds }),
          }),
        );
    }
  }

  /** End the answer with an explicit error: an HTTP error if nothing was sent yet, else in-stream. */
  fail(error: GatewayError): void {
    if (this.ended) return;
    requestTelemetryOf(this.response)?.error(error.code);
    this.end(error.code);
    if (this.response.headersSent) return this.writeStreamError(error);
    sendError(this.response, error);
  }

  /**
   * A newer turn of the conversation replaced this request: the voice platform has already dropped
   * this answer, so it ends as a normal one, finish_reason "stop" after what it had, not an error.
   */
  finishSuperseded(): void {
    if (this.ended) return;
    this.end("superseded");
    this.writeFinish("stop", null);
  }

  /** The client went away: nothing more will be written. */
  abandon(): void {
    this.end("client-gone");
  }

  protected abstract writeDelta(deltaJson: string): void;
  protected abstract writeFinish(finishReason: FinishReason, usage: Usage | null): void;
  protected abstract writeStreamError(error: GatewayError): void;

  private end(outcome: string): void {
    this.ended = true;
    this.context.onEnd(outcome);
  }
}

export function sendError(response: Response, error: GatewayError): void {
  requestTelemetryOf(response)?.error(error.code);
  if (error.retryAfterSeconds !== undefined) {
    response.setHeader("Retry-After", String(error.retryAfterSeconds));
    response.setHeader("retry-after-ms", String(error.retryAfterSeconds * 1000));
  }
  // Tell SDKs not to retry what would fail the same way again.
  if (isDeterministic(error.code)) response.setHeader("x-should-retry", "false");
  response.status(error.status).json(toErrorBody(error, requestIdsOf(response)?.requestId ?? error.requestId));
}
