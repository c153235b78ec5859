// What a worker needs from an upstream: a stream of deltas for one request (one chunk when the
// client asked for one answer), stoppable at once.
import type { ChunkDelta, FinishReason, Usage } from "@switchboard/protocol";

export interface UpstreamChunk {
  /** Only what the client should see: content, tool_calls, refusal, reasoning_content (never role). */
  delta?: ChunkDelta;
  finishReason?: FinishReason;
  usage?: Usage;
  /** The model that answered, as the upstream names it (on the first chunk yielded). */
  model?: string;
}

export interface UpstreamRequest {
  /** The request body (vendor fields already removed); `model` is replaced by the target's model. */
  body: Record<string, unknown>;
  model: string;
  /**
   * Whether the client asked for a stream. When it did not, an upstream that can answer in one
   * piece is asked for one answer (yielded as one chunk); a provider may stream anyway.
   */
  stream: boolean;
  /**
   * Bounds the whole call, in ms (default: the provider's own header timeout). For a non-streamed
   * call the upstream's headers come only with the whole answer, so the provider's header timeout
   * would otherwise cut long answers.
   */
  timeoutMs?: number;
  signal: AbortSignal;
}

export interface Provider {
  /** The GenAI provider name for telemetry, e.g. "openai". */
  readonly name: string;
  stream(request: UpstreamRequest): AsyncIterable<UpstreamChunk>;
}
