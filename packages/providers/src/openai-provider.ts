// Any OpenAI-compatible upstream, through the official openai SDK. The SDK's own retries are off:
// the worker decides about retries and fallbacks, knowing whether a token already went out.
import OpenAI from "openai";
import type { ChunkDelta } from "@switchboard/protocol";
import type { Provider, UpstreamChunk, UpstreamRequest } from "./provider.ts";
import { toUpstreamError } from "./upstream-error.ts";

export interface OpenAIProviderOptions {
  name: string;
  apiKey: string;
  baseUrl?: string;
  timeoutMs: number;
}

export function createOpenAIProvider(options: OpenAIProviderOptions): Provider {
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseUrl === undefined ? {} : { baseURL: options.baseUrl }),
    maxRetries: 0,
    timeout: options.timeoutMs,
  });
  return {
    name: options.name,
    async *stream(request: UpstreamRequest): AsyncIterable<UpstreamChunk> {
      let stream;
      try {
        const body = { ...request.body, model: request.model, stream: true, stream_options: { include_usage: true } };
        stream = await client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, { signal: request.signal });
      } catch (error) {
        throw toUpstreamError(error, options.name);
      }
      // The answering model is reported once, on the first chunk yielded.
      let modelReported = false;
      try {
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          const out: UpstreamChunk = {};
          if (choice) {
            const delta = relayedDelta(choice.delta as Record<string, unknown>);
            if (delta) out.delta = delta;
            if (choice.finish_reason) out.finishReason = choice.finish_reason;
          }
          if (chunk.usage) out.usage = chunk.usage as unknown as NonNullable<UpstreamChunk["usage"]>;
          if (out.delta || out.finishReason || out.usage) {
            if (!modelReported && chunk.model) {
              out.model = chunk.model;
              modelReported = true;
            }
            yield out;
          }
        }
      } catch (error) {
        throw toUpstreamError(error, options.name);
      }
    },
  };
}

/** Keep only the parts of a delta a client should see; undefined when nothing is left. */
function relayedDelta(delta: Record<string, unknown> | undefined): ChunkDelta | undefined {
  if (!delta) return undefined;
  let out: ChunkDelta | undefined;
  const { content, tool_calls, refusal, reasoning_content } = delta;
  if (typeof content === "string" && content !== "") (out ??= {}).content = content;
  if (Array.isArray(tool_calls) && tool_calls.length > 0) (out ??= {}).tool_calls = tool_calls as ChunkDelta["tool_calls"] & object;
  if (typeof refusal === "string" && refusal !== "") (out ??= {}).refusal = refusal;
  if (typeof reasoning_content === "string" && reasoning_content !== "") (out ??= {}).reasoning_content = reasoning_content;
  return out;
}
