// Turns one validated chat request into its response bytes: the streamed
// chunk sequence or the single completion, with the injected failures. Chunk
// JSON is assembled from pre-built strings to keep per-token work minimal.

import type { ServerResponse } from "node:http";
import { errorJson, errorTypeFor, sendJson } from "./http-responses.ts";
import type { MockBehaviour, MockToolCall } from "./options.ts";
import { clock, type RequestState } from "./stats.ts";

/** Flush a batch of due SSE events once it reaches this many characters. */
const batchLimit = 64 * 1024;

export interface PlannedToolCall extends MockToolCall {
  id: string;
}

/** Everything needed to answer one chat request. */
export interface ChatPlan {
  behaviour: MockBehaviour;
  model: string;
  textTokens: string[];
  toolCalls: PlannedToolCall[];
  promptTokens: number;
  includeUsage: boolean;
}

/** Marks a response as ended by the mock (see stats.ts). */
export type Settle = (state: RequestState) => void;

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
function argumentFragments(args: string): string[] {
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

/** Writes the chat completion as an OpenAI server-sent event stream. */
export function streamChat(res: ServerResponse, state: RequestState, plan: ChatPlan, settle: Settle): void {
  const { behaviour, model, textTokens, toolCalls, promptTokens, includeUsage } = plan;
  const record = state.record;
  const fail = behaviour.fail;
  const head = `{"id":"chatcmpl-mock-${record.seq}","object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":${JSON.stringify(model)}`;
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
  const total = textCount + toolFragments.length;
  const finishReason = behaviour.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop");

  function event(step: number): string {
    let delta: string;
    if (step < textCount) {
      const content = JSON.stringify(textTokens[step]);
      delta = step === 0 ? `{"role":"assistant","content":${content}}` : `{"content":${content}}`;
    } else {
      const fragment = toolFragments[step - textCount] as string;
      delta =
        step === 0 ? `{"role":"assistant","content":null,"tool_calls":[${fragment}]}` : `{"tool_calls":[${fragment}]}`;
    }
    return chunkPrefix + delta + chunkSuffix;
  }

  const sendsHeadersNow = fail === undefined || (fail.kind !== "http" && fail.kind !== "never-respond");
  if (sendsHeadersNow) {
    record.status = 200;
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    res.flushHeaders();
  }
  if (fail?.kind === "never-respond") return;

  const start = performance.now() + behaviour.firstTokenDelayMs;
  const interval = behaviour.tokenDelayMs;
  // An HTTP error status can only precede the stream, so it ignores afterTokens.
  const failAt = fail === undefined ? -1 : fail.kind === "http" ? 0 : Math.min(fail.afterTokens, total);
  let sent = 0;

  // Every token due now goes out in one write (still one SSE event per token):
  // far cheaper than one res.write per token when tokenDelayMs is 0.
  const pump = (): void => {
    state.timer = undefined;
    if (state.settled) return;
    let ending: "finish" | "fail" | "drain" | undefined;
    let batch = "";
    for (;;) {
      const failing = sent === failAt;
      const finishing = !failing && sent >= total;
      const due = start + interval * (finishing ? Math.max(total - 1, 0) : sent);
      const wait = due - performance.now();
      if (wait > 0.5) {
        state.timer = setTimeout(pump, Math.ceil(wait));
        break;
      }
      if (failing) {
        ending = "fail";
        break;
      }
      if (finishing) {
        ending = "finish";
        break;
      }
      if (sent === 0) record.firstByteAt = clock();
      batch += event(sent);
      sent++;
      if (batch.length >= batchLimit) {
        record.tokensSent = sent;
        const flowing = res.write(batch);
        batch = "";
        if (!flowing) {
          ending = "drain";
          break;
        }
      }
    }
    record.tokensSent = sent;
    if (ending === "finish") finish(batch);
    else if (ending === "fail") failNow(batch);
    else {
      if (batch !== "") res.write(batch);
      if (ending === "drain") res.once("drain", pump);
    }
  };

  function finish(batch: string): void {
    let tail = batch;
    if (sent === 0) {
      // No tokens at all: still announce the assistant role once.
      record.firstByteAt = clock();
      tail += `${chunkPrefix}{"role":"assistant","content":""}${chunkSuffix}`;
    }
    tail += `${chunkPrefix}{},"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]${usageTail}`;
    if (includeUsage) {
      tail += `data: ${head},"choices":[],"usage":{"prompt_tokens":${promptTokens},"completion_tokens":${sent},"total_tokens":${promptTokens + sent}}}\n\n`;
    }
    tail += "data: [DONE]\n\n";
    res.end(tail);
    settle(state);
  }

  function failNow(batch: string): void {
    if (fail === undefined) return;
    if (fail.kind === "in-stream-error") {
      if (sent === 0) record.firstByteAt = clock();
      res.end(`${batch}data: ${errorJson(fail.message, "server_error", null, "mock_failure")}\n\n`);
      settle(state);
      return;
    }
    if (batch !== "") res.write(batch);
    switch (fail.kind) {
      case "http":
        record.status = fail.status;
        record.firstByteAt = clock();
        sendJson(
          res,
          fail.status,
          errorJson(fail.message, errorTypeFor(fail.status), null, "mock_failure"),
          fail.retryAfterSeconds,
        );
        settle(state);
        return;
      case "reset":
        settle(state);
        // Let already written tokens reach the client, then drop the connection
        // without ending the chunked body.
        res.socket?.destroySoon();
        return;
      case "stall":
      case "never-respond":
        // Send nothing more; the close listener records the client leaving.
        return;
    }
  }

  pump();
}

/** Answers with one `chat.completion` JSON body once the whole answer is "generated". */
export function completeChat(res: ServerResponse, state: RequestState, plan: ChatPlan, settle: Settle): void {
  const { behaviour, model, textTokens, toolCalls, promptTokens } = plan;
  const record = state.record;
  const fail = behaviour.fail;
  const argumentPieces = toolCalls.reduce((count, call) => count + argumentFragments(call.arguments).length + 1, 0);
  const total = textTokens.length + argumentPieces;
  let delayMs = behaviour.firstTokenDelayMs + total * behaviour.tokenDelayMs;
  if (fail !== undefined) {
    if (fail.kind === "stall" || fail.kind === "never-respond") return;
    delayMs =
      behaviour.firstTokenDelayMs +
      (fail.kind === "http" ? 0 : Math.min(fail.afterTokens, total) * behaviour.tokenDelayMs);
  }

  const respond = (): void => {
    state.timer = undefined;
    if (state.settled) return;
    if (fail !== undefined) {
      if (fail.kind === "reset") {
        settle(state);
        res.socket?.destroy();
        return;
      }
      const status = fail.kind === "http" ? fail.status : 500;
      record.status = status;
      record.firstByteAt = clock();
      const type = fail.kind === "http" ? errorTypeFor(status) : "server_error";
      sendJson(
        res,
        status,
        errorJson(fail.message, type, null, "mock_failure"),
        fail.kind === "http" ? fail.retryAfterSeconds : undefined,
      );
      settle(state);
      return;
    }
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
    const completion = {
      id: `chatcmpl-mock-${record.seq}`,
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
    };
    record.status = 200;
    record.firstByteAt = clock();
    record.tokensSent = total;
    sendJson(res, 200, JSON.stringify(completion));
    settle(state);
  };

  if (delayMs > 0) state.timer = setTimeout(respond, delayMs);
  else respond();
}
