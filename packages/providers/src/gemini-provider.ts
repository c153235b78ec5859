// A Gemini upstream through the official @google/genai SDK (generateContentStream, or
// generateContent for one answer). The chat body is translated by gemini-request.ts; the streamed
// GenerateContentResponses become the same chunks the openai provider yields. Gemini sends each
// function call whole, so each becomes one tool-call delta with its own index and a generated id
// (which carries the call's thought signature, gemini-tool-ids.ts). Errors become the same
// GatewayErrors as the openai provider's (through toUpstreamError). The SDK's retries and automatic
// continuation are off, and the timeout bounds only the wait for the response headers, as the
// other providers' do: the worker decides about retries. The SDK is loaded when a routing table
// declares such a provider (it is not small), while the worker starts.
import type { GenerateContentResponse, GoogleGenAI } from "@google/genai";
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { ChunkDelta, FinishReason, Usage } from "@switchboard/protocol";
import { passedFields } from "./chat-body.ts";
import { geminiRequest } from "./gemini-request.ts";
import { geminiToolCallId } from "./gemini-tool-ids.ts";
import type { Provider, UpstreamChunk, UpstreamRequest } from "./provider.ts";
import { toUpstreamError } from "./upstream-error.ts";

export interface GeminiProviderOptions {
  name: string;
  apiKey: string;
  /** The API's origin (the SDK adds /v1beta/models/...); default generativelanguage.googleapis.com. */
  baseUrl?: string;
  /** Bounds the wait for the response headers, in ms. */
  timeoutMs: number;
}

type Sdk = typeof import("@google/genai");

export function createGeminiProvider(options: GeminiProviderOptions): Provider {
  const loading = import("@google/genai").then((sdk) => ({
    sdk,
    client: new sdk.GoogleGenAI({
      apiKey: options.apiKey,
      ...(options.baseUrl === undefined ? {} : { httpOptions: { baseUrl: options.baseUrl } }),
    }),
  }));
  // Failing to load is reported by the first call, not as an unhandled rejection.
  loading.catch(() => {});
  return {
    name: options.name,
    async *stream(request: UpstreamRequest): AsyncIterable<UpstreamChunk> {
      let sdk: Sdk | undefined;
      let client: GoogleGenAI;
      try {
        ({ sdk, client } = await loading);
      } catch (error) {
        throw toUpstreamError(error, options.name);
      }
      const { contents, config } = geminiRequest(request.body);
      const extraBody = passedFields(request.body);
      const params = {
        model: request.model,
        contents,
        config: {
          ...config,
          abortSignal: request.signal,
          automaticFunctionCalling: { disable: true },
          automaticContinuation: false,
          httpOptions: {
            fetch: headerTimedFetch(request.timeoutMs ?? options.timeoutMs, request.signal),
            ...(Object.keys(extraBody).length > 0 ? { extraBody } : {}),
          },
        },
      };
      const state = new StreamState();
      try {
        if (!request.stream) {
          const answer = await client.models.generateContent(params);
          const chunk = state.chunk(answer) ?? {};
          yield { ...chunk, ...state.end() };
          return;
        }
        for await (const response of await client.models.generateContentStream(params)) {
          const chunk = state.chunk(response);
          if (chunk) yield chunk;
        }
      } catch (error) {
        throw toUpstreamError(fromGeminiError(sdk, error, request.signal), options.name);
      }
      const end = state.end();
      if (end.finishReason) yield end;
    },
  };
}

/** Turns the GenerateContentResponses of one answer into chunks; the finish comes after the last. */
class StreamState {
  private modelReported = false;
  private toolCalls = 0;
  private finishReason: string | undefined;
  private usage: GenerateContentResponse["usageMetadata"];

  chunk(response: GenerateContentResponse): UpstreamChunk | undefined {
    if (response.usageMetadata) this.usage = response.usageMetadata;
    const candidate = response.candidates?.[0];
    if (candidate?.finishReason) this.finishReason = candidate.finishReason;
    else if (!candidate && response.promptFeedback?.blockReason) this.finishReason = "SAFETY";
    let delta: ChunkDelta | undefined;
    for (const part of candidate?.content?.parts ?? []) {
      if (part.functionCall?.name) {
        (delta ??= {}).tool_calls ??= [];
        delta.tool_calls.push({
          index: this.toolCalls++,
          id: geminiToolCallId(part.thoughtSignature),
          type: "function",
          function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
        });
      } else if (typeof part.text === "string" && part.text !== "") {
        delta ??= {};
        if (part.thought) delta.reasoning_content = (delta.reasoning_content ?? "") + part.text;
        else delta.content = (delta.content ?? "") + part.text;
      }
    }
    if (!delta) return undefined;
    const out: UpstreamChunk = { delta };
    if (!this.modelReported && response.modelVersion) {
      out.model = response.modelVersion;
      this.modelReported = true;
    }
    return out;
  }

  /** The finish reason and usage, once the answer has ended (no finish reason: the stream was cut). */
  end(): UpstreamChunk {
    if (!this.finishReason) return {};
    return { finishReason: finishReasonOf(this.finishReason, this.toolCalls > 0), usage: usageOf(this.usage) };
  }
}

/** Gemini's finishReason as an OpenAI finish_reason (Gemini ends a turn of function calls with STOP). */
function finishReasonOf(reason: string, calledTools: boolean): FinishReason {
  switch (reason) {
    case "MAX_TOKENS":
      return "length";
    case "SAFETY":
    case "RECITATION":
    case "BLOCKLIST":
    case "PROHIBITED_CONTENT":
    case "SPII":
    case "IMAGE_SAFETY":
      return "content_filter";
    default:
      return calledTools ? "tool_calls" : "stop";
  }
}

/** OpenAI usage from usageMetadata: thinking tokens count as completion (reasoning) tokens. */
function usageOf(metadata: GenerateContentResponse["usageMetadata"]): Usage {
  const prompt = metadata?.promptTokenCount ?? 0;
  const thoughts = metadata?.thoughtsTokenCount ?? 0;
  const completion = (metadata?.candidatesTokenCount ?? 0) + thoughts;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: metadata?.totalTokenCount ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: metadata?.cachedContentTokenCount ?? 0 },
    completion_tokens_details: { reasoning_tokens: thoughts },
  };
}

/**
 * The fetch the SDK sends with: the timeout bounds the wait for the headers only (the SDK's own
 * would bound the whole stream), and an HTTP error is thrown here as the openai SDK's APIError with
 * Google's error body and the headers, which the SDK's own error would lose. Google sends the
 * delay of a 429 as a RetryInfo detail, not a header: it becomes Retry-After.
 */
function headerTimedFetch(timeoutMs: number, signal: AbortSignal): typeof fetch {
  return async (input, init) => {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), Math.max(1, Math.ceil(timeoutMs)));
    let response: Response;
    try {
      const signals = [timeout.signal, ...(init?.signal ? [init.signal] : [])];
      response = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    } catch (error) {
      if (signal.aborted) throw new APIUserAbortError();
      if (timeout.signal.aborted) throw new APIConnectionTimeoutError();
      throw new APIConnectionError({ message: "fetch failed", cause: error as Error });
    } finally {
      clearTimeout(timer);
    }
    if (response.ok) return response;
    const text = await response.text();
    let body: { error?: { details?: unknown } } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = { error: { message: text } } as typeof body;
    }
    const headers = new Headers(response.headers);
    const delay = retryDelayOf(body?.error?.details);
    if (delay !== undefined && !headers.has("retry-after")) headers.set("retry-after", String(delay));
    throw APIError.generate(response.status, body, undefined, headers);
  };
}

/** Seconds of a google.rpc.RetryInfo detail ("7s", "0.5s"), if there is one. */
function retryDelayOf(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details as Array<{ "@type"?: unknown; retryDelay?: unknown } | null>) {
    const match =
      typeof detail?.retryDelay === "string" && String(detail["@type"]).endsWith("google.rpc.RetryInfo")
        ? /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay)
        : null;
    if (match) return Math.ceil(Number(match[1]));
  }
  return undefined;
}

/**
 * What the SDK threw, as the openai SDK's error toUpstreamError expects. Errors of the fetch above
 * are already those. An error event in the stream arrives as the SDK's ApiError, whose message
 * holds Google's error body after a prefix; a cut stream as a plain Error.
 */
function fromGeminiError(sdk: Sdk, error: unknown, signal: AbortSignal): unknown {
  if (error instanceof APIError) return error;
  if (signal.aborted) return new APIUserAbortError();
  if (error instanceof sdk.ApiError) {
    const json = error.message.indexOf("{");
    let body: { error?: object } | undefined;
    try {
      body = json === -1 ? undefined : (JSON.parse(error.message.slice(json)) as typeof body);
    } catch {
      body = undefined;
    }
    // No status: the HTTP answer was a 200; like an error event of an OpenAI stream.
    return new APIError(undefined, body?.error ?? { message: error.message }, undefined, undefined);
  }
  return error;
}
