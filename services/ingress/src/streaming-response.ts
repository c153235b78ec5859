// Writes one streamed Responses API answer over SSE: `event: <type>` and `data: <event>` per event,
// as OpenAI does. The first event goes out with the first output (or the end), so that a failure
// before it is still an HTTP error the client can retry, as on the chat route.
import type { Response } from "express";
import type { ChunkDelta, FinishReason, GatewayError, ResponseStreamEvent, Usage } from "@switchboard/protocol";
import type { CompletionContext } from "./completion-sink.ts";
import { responseBuilderFor, type ResponseBuilder } from "./response-builder.ts";
import { StreamingSink, sseHeaders } from "./streaming-sink.ts";

export class StreamingResponse extends StreamingSink {
  private readonly builder: ResponseBuilder;
  /** Events of the relay event being handled, written together. */
  private pending = "";

  constructor(response: Response, context: CompletionContext, settings: Record<string, unknown>) {
    super(response, context);
    this.builder = responseBuilderFor(context, settings, (event, sequenceNumber) => {
      this.pending += serialize(event, sequenceNumber);
    });
  }

  writeBufferWords(deltaJson: string): void {
    this.builder.addDelta(JSON.parse(deltaJson) as ChunkDelta);
    this.flush();
  }

  protected writeDelta(deltaJson: string): void {
    this.noteOutput();
    this.builder.addDelta(JSON.parse(deltaJson) as ChunkDelta);
    this.flush();
  }

  protected writeFinish(finishReason: FinishReason, usage: Usage | null): void {
    this.noteOutput();
    this.builder.finish(finishReason, usage);
    this.flush();
    this.response.end();
  }

  protected writeStreamError(error: GatewayError): void {
    this.builder.fail(error);
    this.flush();
    this.response.end();
  }

  private flush(): void {
    if (this.pending === "") return;
    if (!this.response.headersSent) this.response.writeHead(200, sseHeaders);
    this.response.write(this.pending);
    this.pending = "";
  }
}

function serialize(event: ResponseStreamEvent, sequenceNumber: number): string {
  return `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequenceNumber })}\n\n`;
}
