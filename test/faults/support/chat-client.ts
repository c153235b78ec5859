// A strict streaming client for fault scenarios: fetch + the tests' incremental SSE reader, classifying
// how every request ended. "truncated" (the body ended with neither [DONE] nor an error event) and
// "hung" (nothing ended it) are the outcomes the gateway must never produce.
import { sseEvents } from "@switchboard/testing";
import { clock } from "./figures.ts";

type Outcome =
  | "completed" // [DONE] after a finish_reason
  | "stream-error" // an explicit in-stream error event
  | "http-error" // an HTTP error status with an OpenAI error body
  | "truncated" // the stream ended without [DONE] or an error
  | "connection-error" // the connection failed (refused, reset) before an answer
  | "aborted" // the client cancelled it
  | "hung"; // nothing ended it within the client's own patience

export interface ChatResult {
  outcome: Outcome;
  status?: number;
  code?: string | undefined;
  retryAfter?: string | null;
  tokens: number;
  startedAt: number;
  headersAt?: number;
  firstTokenAt?: number;
  endedAt: number;
}

export interface ChatCallOptions {
  signal?: AbortSignal;
  /** Give up (outcome "hung") after this long. */
  patienceMs?: number;
  onToken?: (count: number) => void;
}

export async function streamChat(baseUrl: string, body: unknown, options: ChatCallOptions = {}): Promise<ChatResult> {
  const startedAt = clock();
  const patience = new AbortController();
  const timer = setTimeout(() => patience.abort(), options.patienceMs ?? 30_000);
  const signals = options.signal ? AbortSignal.any([options.signal, patience.signal]) : patience.signal;
  const result: ChatResult = { outcome: "hung", tokens: 0, startedAt, endedAt: 0 };
  try {
    const response = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: signals,
    });
    result.status = response.status;
    result.headersAt = clock();
    result.retryAfter = response.headers.get("retry-after");
    if (!response.ok) {
      const text = await response.text();
      try {
        result.code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      } catch {
        // not JSON (e.g. a 408 from Node itself)
      }
      result.outcome = "http-error";
      return result;
    }
    let finished = false;
    for await (const event of sseEvents(response.body!)) {
      if (event.data === "[DONE]") {
        result.outcome = finished ? "completed" : "truncated";
        return result;
      }
      const json = event.json as {
        error?: { code?: string };
        choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }>;
      };
      if (json.error) {
        result.outcome = "stream-error";
        result.code = json.error.code;
        return result;
      }
      const choice = json.choices?.[0];
      if (choice?.delta?.content) {
        result.tokens++;
        result.firstTokenAt ??= clock();
        options.onToken?.(result.tokens);
      }
      if (choice?.finish_reason) finished = true;
    }
    result.outcome = "truncated";
    return result;
  } catch (error) {
    if (patience.signal.aborted) result.outcome = "hung";
    else if (options.signal?.aborted) result.outcome = "aborted";
    else result.outcome = result.status === undefined ? "connection-error" : "truncated";
    void error;
    return result;
  } finally {
    clearTimeout(timer);
    result.endedAt = clock();
  }
}
