// An upstream that speaks the Responses API (a provider with `api: "responses"`): the chat request
// goes out as a Responses request (protocol's responsesRequestFromChat), and the upstream's events
// come back as the same chunks a chat-completions upstream gives, so nothing behind the provider
// (retries, fallbacks, the relay, either API at the ingress) knows the difference.
//
// Text and refusal deltas become content and refusal; each function_call item becomes a tool call
// (its own index, the upstream's call_id as id) whose argument deltas follow; reasoning summary
// text becomes reasoning_content. The terminal event gives the finish reason (tool_calls when a
// function was called, length or content_filter for an incomplete answer) and the usage; a failed
// response or an error event is a failure, as an error chunk is from a chat upstream.
import { text as streamText } from "node:stream/consumers";
import type OpenAI from "openai";
import { APIError } from "openai";
import { responsesRequestFromChat, type ChatRequest, type FinishReason, type Usage } from "@switchboard/protocol";
import { nodeResponseBody } from "./node-fetch.ts";
import type { UpstreamChunk, UpstreamRequest } from "./provider.ts";
import { readNodeSseEvents, readSseEvents } from "./sse-reader.ts";
import { toUpstreamError } from "./upstream-error.ts";

interface ResponsesAnswer {
  status?: string;
  model?: string;
  output?: Array<Record<string, unknown>>;
  usage?: Record<string, unknown> | null;
  incomplete_details?: { reason?: string } | null;
  error?: unknown;
}

export async function* responsesUpstream(
  client: OpenAI,
  request: UpstreamRequest,
  providerName: string,
): AsyncIterable<UpstreamChunk> {
  let response: Response;
  try {
    const body = {
      ...responsesRequestFromChat(request.body as ChatRequest),
      model: request.model,
      stream: request.stream,
    };
    const timeout = request.timeoutMs === undefined ? {} : { timeout: Math.max(1, Math.ceil(request.timeoutMs)) };
    response = await client
      .post("/responses", { body, stream: request.stream, signal: request.signal, ...timeout })
      .asResponse();
  } catch (error) {
    throw toUpstreamError(error, providerName);
  }
  const nodeBody = nodeResponseBody(response);
  if (!request.stream) {
    try {
      const answer = JSON.parse(nodeBody ? await streamText(nodeBody) : await response.text()) as ResponsesAnswer;
      yield answerChunk(answer, response.headers);
      return;
    } catch (error) {
      throw toUpstreamError(error, providerName);
    }
  }
  const translation = new EventTranslation(response.headers);
  let finished = false;
  try {
    for await (const events of nodeBody
      ? readNodeSseEvents(nodeBody)
      : readSseEvents(response.body as ReadableStream<Uint8Array>)) {
      for (const event of events) {
        if (event.data === "[DONE]") continue;
        const chunk = translation.chunk(JSON.parse(event.data) as Record<string, unknown>);
        if (!chunk) continue;
        yield chunk;
        if (chunk.finishReason) {
          finished = true;
          return;
        }
      }
    }
  } catch (error) {
    throw toUpstreamError(error, providerName);
  } finally {
    // Finished: read the rest so the socket goes back to the pool; stopped otherwise: close it.
    if (nodeBody && !nodeBody.readableEnded) {
      if (finished) nodeBody.resume();
      else nodeBody.destroy();
    }
  }
}

/** Streamed Responses events as chunks, in order; one translation per call. */
class EventTranslation {
  private readonly headers: Headers;
  /** Output index of each function_call item -> its tool-call index. */
  private readonly callIndexes = new Map<number, number>();
  /** The answering model, from response.created, reported on the first chunk yielded. */
  private model: string | undefined;

  constructor(headers: Headers) {
    this.headers = headers;
  }

  chunk(event: Record<string, unknown>): UpstreamChunk | undefined {
    const chunk = this.translate(event);
    if (chunk && this.model !== undefined) {
      chunk.model = this.model;
      this.model = undefined;
    }
    return chunk;
  }

  private translate(event: Record<string, unknown>): UpstreamChunk | undefined {
    switch (event.type) {
      case "response.created": {
        const model = (event.response as { model?: unknown } | undefined)?.model;
        if (typeof model === "string") this.model = model;
        return undefined;
      }
      case "response.output_text.delta":
        return event.delta ? { delta: { content: String(event.delta) } } : undefined;
      case "response.refusal.delta":
        return event.delta ? { delta: { refusal: String(event.delta) } } : undefined;
      case "response.reasoning_summary_text.delta":
      case "response.reasoning_text.delta":
        return event.delta ? { delta: { reasoning_content: String(event.delta) } } : undefined;
      case "response.output_item.added": {
        const item = event.item as Record<string, unknown> | undefined;
        if (item?.type !== "function_call") return undefined;
        const index = this.callIndexes.size;
        this.callIndexes.set(Number(event.output_index), index);
        const initial = typeof item.arguments === "string" ? item.arguments : "";
        return {
          delta: {
            tool_calls: [
              {
                index,
                id: String(item.call_id),
                type: "function",
                function: { name: String(item.name), arguments: initial },
              },
            ],
          },
        };
      }
      case "response.function_call_arguments.delta": {
        const index = this.callIndexes.get(Number(event.output_index));
        if (index === undefined || !event.delta) return undefined;
        return { delta: { tool_calls: [{ index, function: { arguments: String(event.delta) } }] } };
      }
      case "response.completed":
      case "response.incomplete":
        return finishChunk(event.response as ResponsesAnswer, this.callIndexes.size > 0);
      case "response.failed":
        throw new APIError(
          undefined,
          (event.response as ResponsesAnswer | undefined)?.error ?? event,
          undefined,
          this.headers,
        );
      case "error":
        throw new APIError(undefined, event, undefined, this.headers);
      default:
        return undefined;
    }
  }
}

/** A non-streamed Responses answer as the one chunk the worker relays. */
function answerChunk(answer: ResponsesAnswer, headers: Headers): UpstreamChunk {
  if (answer.error || answer.status === "failed")
    throw new APIError(undefined, answer.error ?? answer, undefined, headers);
  const content: string[] = [];
  const refusal: string[] = [];
  const toolCalls: NonNullable<NonNullable<UpstreamChunk["delta"]>["tool_calls"]> = [];
  for (const item of answer.output ?? []) {
    if (item.type === "message" && Array.isArray(item.content)) {
      for (const part of item.content as Array<Record<string, unknown>>) {
        if (part.type === "output_text") content.push(String(part.text ?? ""));
        if (part.type === "refusal") refusal.push(String(part.refusal ?? ""));
      }
    }
    if (item.type === "function_call")
      toolCalls.push({
        index: toolCalls.length,
        id: String(item.call_id),
        type: "function",
        function: { name: String(item.name), arguments: String(item.arguments ?? "") },
      });
  }
  const chunk = finishChunk(answer, toolCalls.length > 0);
  chunk.delta = {
    ...(content.length > 0 ? { content: content.join("") } : {}),
    ...(refusal.length > 0 ? { refusal: refusal.join("") } : {}),
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
  };
  if (typeof answer.model === "string") chunk.model = answer.model;
  return chunk;
}

function finishChunk(answer: ResponsesAnswer | undefined, calledTools: boolean): UpstreamChunk {
  const reason = answer?.incomplete_details?.reason;
  const finishReason: FinishReason =
    answer?.status === "incomplete"
      ? reason === "content_filter"
        ? "content_filter"
        : "length"
      : calledTools
        ? "tool_calls"
        : "stop";
  const chunk: UpstreamChunk = { finishReason };
  const usage = chatUsage(answer?.usage);
  if (usage) chunk.usage = usage;
  return chunk;
}

/** Responses usage in chat-completions names (what the worker measures and records). */
function chatUsage(usage: Record<string, unknown> | null | undefined): Usage | undefined {
  if (!usage) return undefined;
  const count = (value: unknown) => (typeof value === "number" ? value : 0);
  const cached = (usage.input_tokens_details as { cached_tokens?: unknown } | undefined)?.cached_tokens;
  const reasoning = (usage.output_tokens_details as { reasoning_tokens?: unknown } | undefined)?.reasoning_tokens;
  return {
    prompt_tokens: count(usage.input_tokens),
    completion_tokens: count(usage.output_tokens),
    total_tokens: count(usage.total_tokens),
    prompt_tokens_details: { cached_tokens: count(cached) },
    completion_tokens_details: { reasoning_tokens: count(reasoning) },
  };
}
