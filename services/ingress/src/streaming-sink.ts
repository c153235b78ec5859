// What both streamed answer shapes (chat chunks, Responses events) share on top of CompletionSink:
// the route's buffer words, armed when the request is accepted and disarmed at the first output
// or the end however it comes; and the SSE headers both send with their first write.
import type { GatewayError } from "@switchboard/protocol";
import { armBufferWords, type BufferWordsOptions } from "./buffer-words.ts";
import { CompletionSink } from "./completion-sink.ts";

export const sseHeaders = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
};

export abstract class StreamingSink extends CompletionSink {
  private outputWritten = false;
  private disarmBufferWords: () => void = () => {};

  get hasOutput(): boolean {
    return this.outputWritten || this.isEnded;
  }

  /** Send the route's buffer words if no token has arrived after their delay. */
  startBufferWords(options: BufferWordsOptions): void {
    this.disarmBufferWords = armBufferWords(this, options);
  }

  abstract writeBufferWords(deltaJson: string): void;

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

  /** Call before writing a token or the end: the buffer words are no longer wanted. */
  protected noteOutput(): void {
    if (this.outputWritten) return;
    this.outputWritten = true;
    this.disarmBufferWords();
  }
}
