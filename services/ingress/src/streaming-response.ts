// Writes one streamed Responses API answer over SSE: `event: <type>` and `data: <event>` per event,
// as OpenAI does. The first event goes out with the first output (or the end), so that a failure
// before it is still an HTTP error the client can retry, as on the chat route.
import type { Response } from "express";
import type { ChunkDelta, FinishReason, GatewayError, ResponseStreamEvent, Usage } from "@switchboard/protocol";
import { armBufferWords, type BufferWordsOptions } from "./buffer-words.ts";
import { CompletionSink, type CompletionContext } from "./completion-sink.ts";
import { ResponseBuilder } from "./response-builder.ts";
import { sseHeaders } from "./streaming-completion.ts";

export class StreamingResponse extends CompletionSink {
  private readonly builder: ResponseBuilder;
  /** Events of the relay event being handled, written together. */
  private pending = "";
  private outputWritten = false;
  private disarmBufferWords: () => void = () => {};

  constructor(response: Response, context: CompletionContext, settings: Record<string, unknown>) {
    super(response, context);
    this.builder = new ResponseBuilder({
      requestId: context.requestId,
      model: context.model,
      createdAt: context.created,
      settings,
      emit: (event, sequenceNumber) => {
        this.pending += serialize(event, sequenceNumber);
      },
    });
  }

  get hasOutput(): boolean {
    return this.outputWritten || this.isEnded;
  }

  /** Send the route's buffer words if no token has arrived after their delay. */
  startBufferWords(options: BufferWordsOptions): void {
    this.disarmBufferWords = armBufferWords(this, options);
  }

  writeBufferWords(deltaJson: string): void {
    this.builder.addDelta(JSON.parse(deltaJson) as ChunkDelta);
    this.flush();
  }

  override fail(error: GatewayError): void {
    this.disarmBufferWords();
    super.fail(error);
  }

  override finishSuperseded(): void {
    this.disarmBufferWords();
    super.finishSuperseded();
  }

  override abandon(): void {
    this.disarmBufferWords();
    super.abandon();
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

  private noteOutput(): void {
    if (this.outputWritten) return;
    this.outputWritten = true;
    this.disarmBufferWords();
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
