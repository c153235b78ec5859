// Any OpenAI-compatible upstream, through the official openai SDK. The SDK's own retries are off:
// the worker decides about retries and fallbacks, knowing whether a token already went out. The
// streamed body is read with a lean SSE loop (sse-reader.ts): this is the worker's per-token path.
// The SDK sends through a node:http fetch (node-fetch.ts) whose body the loop reads as a Node
// stream, so neither undici nor web streams are on that path. A client that asked for one answer
// gets one: the upstream is called without a stream and its chat.completion becomes one chunk.
import { text as streamText } from "node:stream/consumers";
import OpenAI, { APIError } from "openai";
import type { ChunkDelta, FinishReason, Usage } from "@switchboard/protocol";
import type { Provider, UpstreamChunk, UpstreamRequest } from "./provider.ts";
import { createNodeFetch, nodeResponseBody } from "./node-fetch.ts";
import { readNodeSseEvents, readSseEvents } from "./sse-reader.ts";
import { responsesUpstream } from "./responses-upstream.ts";
import { StreamRepair } from "./stream-repair.ts";
import { toUpstreamError } from "./upstream-error.ts";

export interface OpenAIProviderOptions {
  name: string;
  apiKey: string;
  baseUrl?: string;
  timeoutMs: number;
  /** The fetch the SDK sends with; default a node:http one (node-fetch.ts). The benchmark passes the global fetch to compare. */
  fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** The API the upstream is called with (default chat_completions; responses: responses-upstream.ts). */
  api?: "chat_completions" | "responses";
}

export function createOpenAIProvider(options: OpenAIProviderOptions): Provider {
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseUrl === undefined ? {} : { baseURL: options.baseUrl }),
    maxRetries: 0,
    timeout: options.timeoutMs,
    fetch: options.fetch ?? createNodeFetch(),
  });
  if (options.api === "responses")
    return { name: options.name, stream: (request) => responsesUpstream(client, request, options.name) };
  return {
    name: options.name,
    async *stream(request: UpstreamRequest): AsyncIterable<UpstreamChunk> {
      let response: Response;
      try {
        // Usage is always measured: a stream is asked for it, one answer carries it. OpenAI rejects
        // stream_options unless stream is true (undefined: left out of the JSON).
        const body = request.stream
          ? { ...request.body, model: request.model, stream: true, stream_options: { include_usage: true } }
          : { ...request.body, model: request.model, stream: false, stream_options: undefined };
        const timeout = request.timeoutMs === undefined ? {} : { timeout: Math.max(1, Math.ceil(request.timeoutMs)) };
        // The SDK builds, sends and checks the request (auth, headers, HTTP errors, timeout, abort);
        // its raw response is then read with one lean loop instead of the SDK's generator stack.
        // Sent with the SDK's generic `client.post` (its documented way to any endpoint: the same
        // request path as `chat.completions.create`), not `create`: `create` has the body
        // serialized with a replacer callback on every value, to learn `stream` from the JSON as
        // written, which costs CPU in proportion to the body (about 20 µs on a 17 kB request with
        // tools, against plain JSON.stringify). Here `stream` is ours, set just above.
        response = await client
          .post("/chat/completions", { body, stream: request.stream, signal: request.signal, ...timeout })
          .asResponse();
      } catch (error) {
        throw toUpstreamError(error, options.name);
      }
      if (!request.stream) {
        yield answerChunk(await readAnswer(response, options.name));
        return;
      }
      const nodeBody = nodeResponseBody(response);
      if (!nodeBody && !response.body)
        throw toUpstreamError(new Error("the streamed response has no body"), options.name);
      // The answering model is reported once, on the first chunk yielded.
      let modelReported = false;
      const repair = new StreamRepair();
      let done = false;
      try {
        for await (const events of nodeBody
          ? readNodeSseEvents(nodeBody)
          : readSseEvents(response.body as ReadableStream<Uint8Array>)) {
          for (const event of events) {
            if (event.data === "[DONE]") {
              done = true;
              return;
            }
            const chunk = JSON.parse(event.data) as StreamedChunk;
            // The SDK's own rule: an `error` event, or any event carrying `error`, is a failure.
            if (event.event === "error" || chunk.error)
              throw new APIError(undefined, chunk.error ?? chunk, undefined, response.headers);
            const out = upstreamChunk(chunk, repair);
            if (!out) continue;
            if (!modelReported && chunk.model) {
              out.model = chunk.model;
              modelReported = true;
            }
            yield out;
          }
        }
        done = true;
      } catch (error) {
        throw toUpstreamError(error, options.name);
      } finally {
        // After [DONE] only the end of the body can be left: read it, so the socket goes back to
        // the pool. Stopped any other way (the consumer left, a bad event): close the upstream.
        if (nodeBody && !nodeBody.readableEnded) {
          if (done) nodeBody.resume();
          else nodeBody.destroy();
        }
      }
    },
  };
}

interface Answer {
  model?: string;
  choices?: Array<{ message?: Record<string, unknown>; finish_reason?: string | null }>;
  usage?: unknown;
  error?: unknown;
}

/** The whole body of a non-streamed answer, parsed; an `error` in it is a failure, as in a stream. */
async function readAnswer(response: Response, providerName: string): Promise<Answer> {
  try {
    const nodeBody = nodeResponseBody(response);
    const answer = JSON.parse(nodeBody ? await streamText(nodeBody) : await response.text()) as Answer | null;
    if (typeof answer !== "object" || answer === null) throw new Error("the answer is not a JSON object");
    if (answer.error) throw new APIError(undefined, answer.error, undefined, response.headers);
    return answer;
  } catch (error) {
    throw toUpstreamError(error, providerName);
  }
}

/**
 * A non-streamed answer as the one chunk the worker relays: the message as a delta (each tool call
 * given its position as `index`, as in a streamed delta; the ingress merges tool calls by index).
 * An answer without a finish reason (no choices) ends the request with the same error as a stream
 * that ended without one.
 */
function answerChunk(answer: Answer): UpstreamChunk {
  const choice = answer.choices?.[0];
  const message = choice?.message;
  const toolCalls = message?.tool_calls;
  const delta = Array.isArray(toolCalls)
    ? { ...message, tool_calls: toolCalls.map((call: object, index) => ({ index, ...call })) }
    : message;
  const out =
    upstreamChunk(
      {
        choices: choice ? [{ delta, finish_reason: choice.finish_reason ?? null }] : [],
        usage: answer.usage,
      },
      new StreamRepair(),
    ) ?? {};
  if (answer.model) out.model = answer.model;
  return out;
}

interface StreamedChunk {
  model?: string;
  choices?: Array<{ delta?: Record<string, unknown> | undefined; finish_reason?: string | null }>;
  usage?: unknown;
  error?: unknown;
}

/** What the worker relays of one upstream chunk, its tool calls repaired; undefined when nothing. */
function upstreamChunk(chunk: StreamedChunk, repair: StreamRepair): UpstreamChunk | undefined {
  const choice = chunk.choices?.[0];
  const out: UpstreamChunk = {};
  if (choice) {
    const delta = relayedDelta(choice.delta);
    if (delta?.tool_calls) delta.tool_calls = repair.toolCalls(delta.tool_calls);
    if (delta) out.delta = delta;
    // A string only: whatever else an upstream puts there is not a finish reason.
    if (typeof choice.finish_reason === "string" && choice.finish_reason !== "")
      out.finishReason = repair.finishReason(choice.finish_reason as FinishReason);
  }
  if (chunk.usage) out.usage = chunk.usage as Usage;
  return out.delta || out.finishReason || out.usage ? out : undefined;
}

/** Keep only the parts of a delta a client should see; undefined when nothing is left. */
function relayedDelta(delta: Record<string, unknown> | undefined): ChunkDelta | undefined {
  if (!delta) return undefined;
  let out: ChunkDelta | undefined;
  const { content, tool_calls, refusal, reasoning_content } = delta;
  if (typeof content === "string" && content !== "") (out ??= {}).content = content;
  if (Array.isArray(tool_calls) && tool_calls.length > 0)
    (out ??= {}).tool_calls = tool_calls as ChunkDelta["tool_calls"] & object;
  if (typeof refusal === "string" && refusal !== "") (out ??= {}).refusal = refusal;
  if (typeof reasoning_content === "string" && reasoning_content !== "")
    (out ??= {}).reasoning_content = reasoning_content;
  return out;
}
