// An Anthropic upstream through the official @anthropic-ai/sdk (the Messages API). The chat body is
// translated by anthropic-request.ts; the streamed events become the same chunks the openai
// provider yields (text deltas, tool-call deltas indexed from 0 in call order, a finish reason,
// usage), and the SDK's errors become the same GatewayErrors (through toUpstreamError), so the
// worker's retries and cross-provider fallbacks treat every upstream alike. The SDK's own retries
// are off: the worker decides. The SDK is loaded when a routing table declares such a provider
// (it is not small), while the worker starts.
import type Anthropic from "@anthropic-ai/sdk";
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { ChunkDelta, FinishReason, Usage } from "@switchboard/protocol";
import { type AnthropicRequestOptions, anthropicRequest } from "./anthropic-request.ts";
import type { Provider, UpstreamChunk, UpstreamRequest } from "./provider.ts";
import { toUpstreamError } from "./upstream-error.ts";

export interface AnthropicProviderOptions extends AnthropicRequestOptions {
  name: string;
  apiKey: string;
  /** The API's origin (the SDK adds /v1/messages); default api.anthropic.com. */
  baseUrl?: string;
  /** Bounds the wait for the response headers, in ms. */
  timeoutMs: number;
}

interface TokenCounts {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

type Sdk = typeof import("@anthropic-ai/sdk");

export function createAnthropicProvider(options: AnthropicProviderOptions): Provider {
  const loading = import("@anthropic-ai/sdk").then((sdk) => ({
    sdk,
    client: new sdk.Anthropic({
      apiKey: options.apiKey,
      ...(options.baseUrl === undefined ? {} : { baseURL: options.baseUrl }),
      maxRetries: 0,
      timeout: options.timeoutMs,
    }),
  }));
  // Failing to load is reported by the first call, not as an unhandled rejection.
  loading.catch(() => {});
  return {
    name: options.name,
    async *stream(request: UpstreamRequest): AsyncIterable<UpstreamChunk> {
      let sdk: Sdk | undefined;
      const fail = (error: unknown) => toUpstreamError(sdk ? fromAnthropicError(sdk, error) : error, options.name);
      let client: Anthropic;
      try {
        ({ sdk, client } = await loading);
      } catch (error) {
        throw fail(error);
      }
      const params = anthropicRequest(request.body, request.model, options);
      const callOptions = {
        signal: request.signal,
        ...(request.timeoutMs === undefined ? {} : { timeout: Math.max(1, Math.ceil(request.timeoutMs)) }),
      };
      if (!request.stream) {
        let message: Anthropic.Message;
        try {
          message = await client.messages.create(
            { ...(params as unknown as Anthropic.MessageCreateParamsNonStreaming), stream: false },
            callOptions,
          );
        } catch (error) {
          throw fail(error);
        }
        yield answerChunk(message);
        return;
      }
      const state = new StreamState();
      try {
        const events = await client.messages.create(
          { ...(params as unknown as Anthropic.MessageCreateParamsStreaming), stream: true },
          callOptions,
        );
        for await (const event of events) {
          const chunk = state.chunk(event);
          if (chunk) yield chunk;
        }
        // The SDK ends the iteration quietly when the call is aborted: say so, as the openai one does.
        if (request.signal.aborted) throw new APIUserAbortError();
      } catch (error) {
        throw fail(error);
      }
    },
  };
}

/** Turns the streamed events of one answer into chunks. */
class StreamState {
  private model: string | undefined;
  private modelReported = false;
  private readonly usage: TokenCounts = {};
  private stopReason: string | null | undefined;
  /** Content block index -> tool call index (tool calls only, in order). */
  private readonly toolIndexes = new Map<number, number>();

  chunk(event: Anthropic.RawMessageStreamEvent): UpstreamChunk | undefined {
    let out: UpstreamChunk | undefined;
    switch (event.type) {
      case "message_start":
        this.model = event.message.model;
        Object.assign(this.usage, definedCounts(event.message.usage));
        return undefined;
      case "content_block_start": {
        const block = event.content_block;
        if (block.type === "tool_use") {
          const index = this.toolIndexes.size;
          this.toolIndexes.set(event.index, index);
          out = {
            delta: {
              tool_calls: [{ index, id: block.id, type: "function", function: { name: block.name, arguments: "" } }],
            },
          };
        } else if (block.type === "text" && block.text !== "") out = { delta: { content: block.text } };
        break;
      }
      case "content_block_delta": {
        const delta = event.delta;
        if (delta.type === "text_delta" && delta.text !== "") out = { delta: { content: delta.text } };
        else if (delta.type === "thinking_delta" && delta.thinking !== "")
          out = { delta: { reasoning_content: delta.thinking } };
        else if (delta.type === "input_json_delta" && delta.partial_json !== "") {
          const index = this.toolIndexes.get(event.index);
          if (index !== undefined)
            out = { delta: { tool_calls: [{ index, function: { arguments: delta.partial_json } }] } };
        }
        break;
      }
      case "message_delta":
        this.stopReason = event.delta.stop_reason;
        Object.assign(this.usage, definedCounts(event.usage));
        return undefined;
      case "message_stop":
        out = { finishReason: finishReasonOf(this.stopReason, this.toolIndexes.size > 0), usage: usageOf(this.usage) };
        break;
      default:
        return undefined;
    }
    if (out && !this.modelReported && this.model) {
      out.model = this.model;
      this.modelReported = true;
    }
    return out;
  }
}

/** The counts an event carries (a null or absent one leaves the earlier figure). */
function definedCounts(counts: TokenCounts): TokenCounts {
  const out: TokenCounts = {};
  for (const [key, value] of Object.entries(counts))
    if (typeof value === "number") out[key as keyof TokenCounts] = value;
  return out;
}

/** Anthropic's stop_reason as an OpenAI finish_reason. */
function finishReasonOf(stopReason: string | null | undefined, calledTools: boolean): FinishReason {
  switch (stopReason) {
    case "tool_use":
      return "tool_calls";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "refusal":
      return "content_filter";
    default:
      return calledTools ? "tool_calls" : "stop";
  }
}

/**
 * OpenAI usage from Anthropic's counts. Anthropic's input_tokens leave out the cached part, so the
 * prompt is input + cache writes + cache reads; the reads are OpenAI's cached_tokens and the writes
 * go in cache_write_tokens beside them.
 */
function usageOf(counts: TokenCounts): Usage {
  const read = counts.cache_read_input_tokens ?? 0;
  const write = counts.cache_creation_input_tokens ?? 0;
  const prompt = (counts.input_tokens ?? 0) + read + write;
  const completion = counts.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: read, cache_write_tokens: write },
  };
}

/** A whole message as the one chunk the worker relays. */
function answerChunk(message: Anthropic.Message): UpstreamChunk {
  const delta: ChunkDelta = {};
  let text = "";
  const toolCalls: NonNullable<ChunkDelta["tool_calls"]> = [];
  for (const block of message.content) {
    if (block.type === "text") text += block.text;
    else if (block.type === "tool_use")
      toolCalls.push({
        index: toolCalls.length,
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
  }
  if (text !== "") delta.content = text;
  if (toolCalls.length > 0) delta.tool_calls = toolCalls;
  return {
    ...(text !== "" || toolCalls.length > 0 ? { delta } : {}),
    finishReason: finishReasonOf(message.stop_reason, toolCalls.length > 0),
    usage: usageOf(message.usage),
    model: message.model,
  };
}

/**
 * The SDK's error as the openai SDK's equivalent, which toUpstreamError maps to the gateway's
 * codes: Anthropic's body `{type: "error", error: {type, message}}` gives the category (e.g.
 * overloaded_error), its headers the Retry-After.
 */
function fromAnthropicError(sdk: Sdk, error: unknown): unknown {
  if (error instanceof sdk.APIUserAbortError) return new APIUserAbortError();
  if (error instanceof sdk.APIConnectionTimeoutError) return new APIConnectionTimeoutError();
  if (error instanceof sdk.APIConnectionError) return new APIConnectionError({ message: error.message, cause: error });
  if (error instanceof sdk.APIError) {
    const body = error.error as { error?: object } | undefined;
    // An error event in a stream has no status of its own (the HTTP answer was a 200).
    if (error.status === undefined || error.headers === undefined)
      return new APIError(undefined, body?.error ?? body, undefined, error.headers);
    return APIError.generate(error.status, body, error.message, error.headers);
  }
  return error;
}
