// What one completion API (chat completions, Responses) contributes to the shared request path:
// how its body becomes the chat-completions request a job carries, and how the relayed deltas are
// written back in its own shapes. Everything between (admission, queue, relay, cancellation,
// deadlines, buffer words, telemetry) is the same for every API (chat-completions-route.ts).
import type { Response } from "express";
import type { ChatRequest, GatewayError } from "@switchboard/protocol";
import type { BufferWordsOptions } from "./buffer-words.ts";
import type { CompletionContext, CompletionSink } from "./completion-sink.ts";

export interface AcceptedCompletion {
  /** The chat-completions request the job carries (before the route's upstream-body rules). */
  request: ChatRequest;
  /** The answer's writer: streamed or collected, in the API's own shapes. */
  createSink(response: Response, context: CompletionContext): CompletionSink & BufferWordsSink;
}

/** A streamed answer can send the route's buffer words; a collected one cannot. */
interface BufferWordsSink {
  startBufferWords?: (options: BufferWordsOptions) => void;
}

/** Validates a parsed JSON body: the accepted completion, or the error to answer with. */
export type CompletionApi = (body: unknown) => AcceptedCompletion | GatewayError;
