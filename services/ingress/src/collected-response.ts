// Assembles one non-streamed Responses API answer: the `response` object, built by the same
// builder as the streamed events, so both shapes always agree.
import type { Response } from "express";
import type { ChunkDelta, FinishReason, GatewayError, Usage } from "@switchboard/protocol";
import { CompletionSink, sendError, type CompletionContext } from "./completion-sink.ts";
import { responseBuilderFor, type ResponseBuilder } from "./response-builder.ts";

export class CollectedResponse extends CompletionSink {
  private readonly builder: ResponseBuilder;

  constructor(response: Response, context: CompletionContext, settings: Record<string, unknown>) {
    super(response, context);
    this.builder = responseBuilderFor(context, settings, () => {});
  }

  protected writeDelta(deltaJson: string): void {
    this.builder.addDelta(JSON.parse(deltaJson) as ChunkDelta);
  }

  protected writeFinish(finishReason: FinishReason, usage: Usage | null): void {
    this.response.json(this.builder.finish(finishReason, usage));
  }

  protected writeStreamError(error: GatewayError): void {
    // Headers are never sent before the whole answer is known, so this is unreachable in practice.
    sendError(this.response, error);
  }
}
