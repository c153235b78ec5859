// Writes one streamed answer as OpenAI chat.completion.chunk events over SSE.
// Each chunk is built by splicing the relayed delta JSON into a prebuilt template: no JSON is
// parsed or re-serialised per token.
import type { Response } from "express";
import { toErrorBody, type FinishReason, type GatewayError, type Usage } from "@switchboard/protocol";
import { CompletionSink, type CompletionContext } from "./completion-sink.ts";

const sseHeaders = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
};

export class StreamingCompletion extends CompletionSink {
  private readonly chunkStart: string;
  private readonly chunkEnd: string;
  private roleSent = false;

  constructor(response: Response, context: CompletionContext) {
    super(response, context);
    this.chunkStart =
      `data: {"id":${JSON.stringify(context.completionId)},"object":"chat.completion.chunk","created":${context.created},` +
      `"model":${JSON.stringify(context.model)},"choices":[{"index":0,"delta":`;
    this.chunkEnd = context.includeUsage ? `,"logprobs":null,"finish_reason":null}],"usage":null}\n\n` : `,"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  protected writeDelta(deltaJson: string): void {
    this.write(this.chunkStart + this.withRole(deltaJson) + this.chunkEnd);
  }

  protected writeFinish(finishReason: FinishReason, usage: Usage | null): void {
    const usageField = this.context.includeUsage ? `,"usage":null` : "";
    let tail = `${this.chunkStart}${this.withRole("{}")},"logprobs":null,"finish_reason":"${finishReason}"}]${usageField}}\n\n`;
    if (this.context.includeUsage) {
      const { completionId, created, model } = this.context;
      tail += `data: ${JSON.stringify({ id: completionId, object: "chat.completion.chunk", created, model, choices: [], usage })}\n\n`;
    }
    this.write(`${tail}data: [DONE]\n\n`);
    this.response.end();
  }

  protected writeStreamError(error: GatewayError): void {
    this.write(`data: ${JSON.stringify(toErrorBody(error))}\n\n`);
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
