// What a worker needs from an upstream: a stream of deltas for one request, stoppable at once.
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
  signal: AbortSignal;
}

export interface Provider {
  /** The GenAI provider name for telemetry, e.g. "openai". */
  readonly name: string;
  stream(request: UpstreamRequest): AsyncIterable<UpstreamChunk>;
}
