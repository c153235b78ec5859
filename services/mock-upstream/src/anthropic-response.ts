// The Anthropic Messages wire format of one planned answer: the streamed events (message_start,
// ping, content_block_start/delta/stop, message_delta with stop_reason and usage, message_stop),
// the single message, and Anthropic's error shape, so the official @anthropic-ai/sdk can be tested
// against the mock. Timing and failures are wire-stream.ts's.
import { argumentFragments, type ChatPlan } from "./chat-response.ts";
import type { AnswerWire, HttpError, StreamWire } from "./wire-stream.ts";

/** Prompt-cache figures of one request (see server.ts: a prefix marked cache_control is written once, then read). */
export interface CacheUsage {
  writeTokens: number;
  readTokens: number;
}

/** Anthropic's error type for an HTTP status. */
function errorTypeFor(status: number): string {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

function anthropicErrorJson(type: string, message: string): string {
  return JSON.stringify({ type: "error", error: { type, message } });
}

export function anthropicError(status: number, message: string, retryAfterSeconds?: number): HttpError {
  return {
    status,
    body: anthropicErrorJson(errorTypeFor(status), message),
    ...(retryAfterSeconds === undefined ? {} : { headers: { "retry-after": String(retryAfterSeconds) } }),
  };
}

function sse(type: string, data: object): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function stopReasonOf(plan: ChatPlan): string {
  return plan.behaviour.finishReason ?? (plan.toolCalls.length > 0 ? "tool_use" : "end_turn");
}

function inputUsage(plan: ChatPlan, cache: CacheUsage) {
  return {
    input_tokens: plan.promptTokens,
    cache_creation_input_tokens: cache.writeTokens,
    cache_read_input_tokens: cache.readTokens,
  };
}

type ToolStep =
  | { kind: "start"; block: number; id: string; name: string }
  | { kind: "delta"; block: number; json: string };

export function anthropicStream(plan: ChatPlan, cache: CacheUsage): StreamWire {
  const { textTokens, toolCalls } = plan;
  const textCount = textTokens.length;
  const firstToolBlock = textCount > 0 ? 1 : 0;
  const toolSteps: ToolStep[] = [];
  toolCalls.forEach((call, index) => {
    const block = firstToolBlock + index;
    toolSteps.push({ kind: "start", block, id: call.id, name: call.name });
    for (const json of argumentFragments(call.arguments)) toolSteps.push({ kind: "delta", block, json });
  });
  const blocks = firstToolBlock + toolCalls.length;
  const messageStart =
    sse("message_start", {
      message: {
        id: `msg_mock_${plan.seq}`,
        type: "message",
        role: "assistant",
        model: plan.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...inputUsage(plan, cache), output_tokens: 1 },
      },
    }) + sse("ping", {});

  return {
    total: textCount + toolSteps.length,
    event(step) {
      let out = step === 0 ? messageStart : "";
      if (step < textCount) {
        if (step === 0) out += sse("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
        return out + sse("content_block_delta", { index: 0, delta: { type: "text_delta", text: textTokens[step] } });
      }
      const tool = toolSteps[step - textCount] as ToolStep;
      if (tool.kind === "delta")
        return (
          out +
          sse("content_block_delta", {
            index: tool.block,
            delta: { type: "input_json_delta", partial_json: tool.json },
          })
        );
      if (tool.block > 0) out += sse("content_block_stop", { index: tool.block - 1 });
      return (
        out +
        sse("content_block_start", {
          index: tool.block,
          content_block: { type: "tool_use", id: tool.id, name: tool.name, input: {} },
        })
      );
    },
    end(sent) {
      let tail = sent === 0 ? messageStart : "";
      if (sent > 0 && blocks > 0) tail += sse("content_block_stop", { index: blocks - 1 });
      tail += sse("message_delta", {
        delta: { stop_reason: stopReasonOf(plan), stop_sequence: null },
        usage: { output_tokens: sent },
      });
      return tail + sse("message_stop", {});
    },
    error: (sent, message) =>
      `${sent === 0 ? messageStart : ""}event: error\ndata: ${anthropicErrorJson("api_error", message)}\n\n`,
    httpError: anthropicError,
  };
}

export function anthropicAnswer(plan: ChatPlan, cache: CacheUsage): AnswerWire {
  const { textTokens, toolCalls } = plan;
  const total =
    textTokens.length + toolCalls.reduce((count, call) => count + argumentFragments(call.arguments).length + 1, 0);
  return {
    total,
    body() {
      const content: object[] = [];
      if (textTokens.length > 0) content.push({ type: "text", text: textTokens.join("") });
      for (const call of toolCalls)
        content.push({ type: "tool_use", id: call.id, name: call.name, input: parseArguments(call.arguments) });
      return JSON.stringify({
        id: `msg_mock_${plan.seq}`,
        type: "message",
        role: "assistant",
        model: plan.model,
        content,
        stop_reason: stopReasonOf(plan),
        stop_sequence: null,
        usage: { ...inputUsage(plan, cache), output_tokens: total },
      });
    },
    httpError: anthropicError,
    serverError: (message) => ({ status: 500, body: anthropicErrorJson("api_error", message) }),
  };
}

/** Tool input as an object; arguments that are not a JSON object become {} (a model's input always is one). */
export function parseArguments(args: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(args);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
