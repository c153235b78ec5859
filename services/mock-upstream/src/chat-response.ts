// The OpenAI chat-completions wire format of one planned answer: the streamed chunk sequence or
// the single completion, and OpenAI's error shape. Chunk JSON is assembled from pre-built strings
// to keep per-token work minimal; timing and failures are wire-stream.ts's.
import { errorJson, errorTypeFor } from "./http-responses.ts";
import type { MockBehaviour, MockToolCall } from "./options.ts";
import type { AnswerWire, HttpError, StreamWire } from "./wire-stream.ts";

export interface PlannedToolCall extends MockToolCall {
  id: string;
}

/** Everything needed to answer one request, in any wire format. */
export interface ChatPlan {
  behaviour: MockBehaviour;
  model: string;
  /** Unique for the server's lifetime: response ids are made from it. */
  seq: number;
  textTokens: string[];
  toolCalls: PlannedToolCall[];
  promptTokens: number;
  includeUsage: boolean;
}

/** Deterministic prompt token estimate: characters of text contents / 4, rounded up. */
export function promptTokensOf(messages: unknown[]): number {
  let characters = 0;
  for (const message of messages) {
    if (typeof message !== "object" || message === null) continue;
    const content = (message as { content?: unknown }).content;
    if (typeof content === "string") {
      characters += content.length;
    } else if (Array.isArray(content)) {
      for (const part of content) {
        const text = typeof part === "object" && part !== null ? (part as { text?: unknown }).text : undefined;
        if (typeof text === "string") characters += text.length;
      }
    }
  }
  return Math.ceil(characters / 4);
}

/** Splits tool call arguments into about three fragments, never inside a surrogate pair. */
export function argumentFragments(args: string): string[] {
  if (args === "") return [];
  const size = Math.ceil(args.length / 3);
  const fragments: string[] = [];
  let start = 0;
  while (start < args.length) {
    let end = Math.min(start + size, args.length);
    const code = args.charCodeAt(end - 1);
    if (end < args.length && code >= 0xd800 && code <= 0xdbff) end++;
    fragments.push(args.slice(start, end));
    start = end;
  }
  return fragments;
}

function openAIError(status: number, message: string, retryAfterSeconds?: number): HttpError {
  return {
    status,
    body: errorJson(message, errorTypeFor(status), null, "mock_failure"),
    ...(retryAfterSeconds === undefined ? {} : { headers: { "Retry-After": String(retryAfterSeconds) } }),
  };
}

/** The answer as OpenAI chat.completion.chunk events. */
export function chatStream(plan: ChatPlan): StreamWire {
  const { behaviour, model, textTokens, toolCalls, promptTokens, includeUsage } = plan;
  const head = `{"id":"chatcmpl-mock-${plan.seq}","object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":${JSON.stringify(model)}`;
  const chunkPrefix = `data: ${head},"choices":[{"index":0,"delta":`;
  const usageTail = includeUsage ? ',"usage":null}\n\n' : "}\n\n";
  const chunkSuffix = `,"logprobs":null,"finish_reason":null}]${usageTail}`;

  // Tool call deltas: per call a head fragment, then the arguments in pieces.
  const toolFragments: string[] = [];
  toolCalls.forEach((call, index) => {
    toolFragments.push(
      `{"index":${index},"id":"${call.id}","type":"function","function":{"name":${JSON.stringify(call.name)},"arguments":""}}`,
    );
    for (const piece of argumentFragments(call.arguments)) {
      toolFragments.push(`{"index":${index},"function":{"arguments":${JSON.stringify(piece)}}}`);
    }
  });
  const textCount = textTokens.length;
  const finishReason = behaviour.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop");

  return {
    total: textCount + toolFragments.length,
    event(step) {
      let delta: string;
      if (step < textCount) {
        const content = JSON.stringify(textTokens[step]);
        delta = step === 0 ? `{"role":"assistant","content":${content}}` : `{"content":${content}}`;
      } else {
        const fragment = toolFragments[step - textCount] as string;
        delta =
          step === 0
            ? `{"role":"assistant","content":null,"tool_calls":[${fragment}]}`
            : `{"tool_calls":[${fragment}]}`;
      }
      return chunkPrefix + delta + chunkSuffix;
    },
    end(sent) {
      // No tokens at all: still announce the assistant role once.
      let tail = sent === 0 ? `${chunkPrefix}{"role":"assistant","content":""}${chunkSuffix}` : "";
      tail += `${chunkPrefix}{},"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]${usageTail}`;
      if (includeUsage) {
        tail += `data: ${head},"choices":[],"usage":{"prompt_tokens":${promptTokens},"completion_tokens":${sent},"total_tokens":${promptTokens + sent}}}\n\n`;
      }
      return `${tail}data: [DONE]\n\n`;
    },
    error: (_sent, message) => `data: ${errorJson(message, "server_error", null, "mock_failure")}\n\n`,
    httpError: openAIError,
  };
}

/** The answer as one OpenAI chat.completion. */
export function chatAnswer(plan: ChatPlan): AnswerWire {
  const { behaviour, model, textTokens, toolCalls, promptTokens } = plan;
  const argumentPieces = toolCalls.reduce((count, call) => count + argumentFragments(call.arguments).length + 1, 0);
  const total = textTokens.length + argumentPieces;
  return {
    total,
    body() {
      const message: Record<string, unknown> = {
        role: "assistant",
        content: textTokens.length === 0 && toolCalls.length > 0 ? null : textTokens.join(""),
        refusal: null,
      };
      if (toolCalls.length > 0) {
        message["tool_calls"] = toolCalls.map((call) => ({
          id: call.id,
          type: "function",
          function: { name: call.name, arguments: call.arguments },
        }));
      }
      return JSON.stringify({
        id: `chatcmpl-mock-${plan.seq}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message,
            logprobs: null,
            finish_reason: behaviour.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop"),
          },
        ],
        usage: { prompt_tokens: promptTokens, completion_tokens: total, total_tokens: promptTokens + total },
      });
    },
    httpError: openAIError,
    serverError: (message) => ({ status: 500, body: errorJson(message, "server_error", null, "mock_failure") }),
  };
}
