// Writes one streamed answer as OpenAI chat.completion.chunk events over SSE.
// Each chunk is built by splicing the relayed delta JSON (serialised by the worker) into a prebuilt
// template: no JSON is parsed or re-serialised per token. Nothing an upstream sent is spliced as
// raw text.
import type { Response } from "express";
import { toErrorBody, type FinishReason, type GatewayError, type Usage } from "@switchboard/protocol";
import type { CompletionContext } from "./completion-sink.ts";
import { StreamingSink, sseHeaders } from "./streaming-sink.ts";

export class StreamingCompletion extends StreamingSink {
  private readonly chunkStart: string;
  private readonly chunkEnd: string;
  private roleSent = false;

  constructor(response: Response, context: CompletionContext) {
    super(response, context);
    this.chunkStart =
      `data: {"id":${JSON.stringify(context.completionId)},"object":"chat.completion.chunk","created":${context.created},` +
      `"model":${JSON.stringify(context.model)},"choices":[{"index":0,"delta":`;
    this.chunkEnd = context.includeUsage
      ? `,"logprobs":null,"finish_reason":null}],"usage":null}\n\n`
      : `,"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  writeBufferWords(deltaJson: string): void {
    this.write(this.chunkStart + this.withRole(deltaJson) + this.chunkEnd);
  }

  protected writeDelta(deltaJson: string): void {
    this.noteOutput();
    this.write(this.chunkStart + this.withRole(deltaJson) + this.chunkEnd);
  }

  protected writeFinish(finishReason: FinishReason, usage: Usage | null): void {
    this.noteOutput();
    const usageField = this.context.includeUsage ? `,"usage":null` : "";
    // Serialised, never spliced: the finish reason is the upstream's string, and a hostile one
    // could otherwise close the JSON and write an SSE event (or an early [DONE]) of its own.
    let tail = `${this.chunkStart}${this.withRole("{}")},"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]${usageField}}\n\n`;
    if (this.context.includeUsage) {
      const { completionId, created, model } = this.context;
      tail += `data: ${JSON.stringify({ id: completionId, object: "chat.completion.chunk", created, model, choices: [], usage })}\n\n`;
    }
    this.write(`${tail}data: [DONE]\n\n`);
    this.response.end();
  }

  protected writeStreamError(error: GatewayError): void {
    this.write(`data: ${JSON.stringify(toErrorBody(error, this.context.requestId))}\n\n`);
    this.response.end();
  }

  private withRole(deltaJson: string): string {
    if (this.roleSent) return deltaJson;
    this.roleSent = true;
    return deltaJson === "{}" ? `{"role":"assistant","content":""}` : `{"role":"assistant",${deltaJson.slice(1)}`;
  }

  private write(text: string): void {
    if (!this.response.headersSent) this.response.writeHead(200, sseHeaders);
    this.response.write(text);
  }
}
