// Sends one planned answer in any wire format the mock speaks (OpenAI, Anthropic, Gemini), with the
// injected failures. Timing, batching and the failure kinds are shared; a format supplies only its
// bytes: the SSE text of each step, the closing events, an in-stream error and an HTTP error.
import type { ServerResponse } from "node:http";
import type { MockBehaviour } from "./options.ts";
import { clock, type RequestState } from "./stats.ts";

/** Flush a batch of due SSE events once it reaches this many characters. */
const batchLimit = 64 * 1024;

/** Marks a response as ended by the mock (see stats.ts). */
export type Settle = (state: RequestState) => void;

/** An HTTP error response in a format's own error shape. */
export interface HttpError {
  status: number;
  body: string;
  /** Extra headers, e.g. Retry-After. */
  headers?: Record<string, string>;
}

/** How a format writes a streamed answer: one step per token or tool call fragment. */
export interface StreamWire {
  total: number;
  /** The SSE text of step `step` (it may carry opening events too, e.g. on step 0). */
  event(step: number): string;
  /** The closing events once `sent` steps went out (0: an empty answer, still well formed). */
  end(sent: number): string;
  /** The in-stream error event (after `sent` steps); the response ends after it. */
  error(sent: number, message: string): string;
  httpError(status: number, message: string, retryAfterSeconds?: number): HttpError;
}

/** How a format writes a non-streamed answer. */
export interface AnswerWire {
  /** Steps the answer counts for timing and stats. */
  total: number;
  body(): string;
  httpError(status: number, message: string, retryAfterSeconds?: number): HttpError;
  /** What an in-stream error becomes without a stream (a 500 in the format's shape). */
  serverError(message: string): HttpError;
}

/** Writes a JSON response (an answer or an error) with its headers. */
export function writeJson(res: ServerResponse, error: HttpError): void {
  res.writeHead(error.status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(error.body),
    ...error.headers,
  });
  res.end(error.body);
}

/** Streams the answer as server-sent events, failing as `behaviour.fail` says. */
export function streamWire(
  res: ServerResponse,
  state: RequestState,
  behaviour: MockBehaviour,
  wire: StreamWire,
  settle: Settle,
): void {
  const record = state.record;
  const fail = behaviour.fail;
  const total = wire.total;
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
      batch += wire.event(sent);
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
    if (ending === "finish") {
      if (sent === 0) record.firstByteAt = clock();
      res.end(batch + wire.end(sent));
      settle(state);
    } else if (ending === "fail") failNow(batch);
    else {
      if (batch !== "") res.write(batch);
      if (ending === "drain") res.once("drain", pump);
    }
  };

  function failNow(batch: string): void {
    if (fail === undefined) return;
    if (fail.kind === "in-stream-error") {
      if (sent === 0) record.firstByteAt = clock();
      res.end(batch + wire.error(sent, fail.message));
      settle(state);
      return;
    }
    if (batch !== "") res.write(batch);
    switch (fail.kind) {
      case "http":
        record.status = fail.status;
        record.firstByteAt = clock();
        writeJson(res, wire.httpError(fail.status, fail.message, fail.retryAfterSeconds));
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

/** Answers with one JSON body once the whole answer is "generated", failing as `behaviour.fail` says. */
export function answerWire(
  res: ServerResponse,
  state: RequestState,
  behaviour: MockBehaviour,
  wire: AnswerWire,
  settle: Settle,
): void {
  const record = state.record;
  const fail = behaviour.fail;
  const total = wire.total;
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
      const error =
        fail.kind === "http"
          ? wire.httpError(fail.status, fail.message, fail.retryAfterSeconds)
          : wire.serverError(fail.message);
      record.status = error.status;
      record.firstByteAt = clock();
      writeJson(res, error);
      settle(state);
      return;
    }
    const body = wire.body();
    record.status = 200;
    record.firstByteAt = clock();
    record.tokensSent = total;
    writeJson(res, { status: 200, body });
    settle(state);
  };

  if (delayMs > 0) state.timer = setTimeout(respond, delayMs);
  else respond();
}
