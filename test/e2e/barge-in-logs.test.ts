// A client that hangs up (a voice user barging in) is logged once at info, by the process that knows
// what it cost: once a worker has started the request, the worker's `request cancelled` line (with
// the output so far) is the record and the ingress's `client went away` is debug; a request still
// queued, whose job the cancel may remove before any worker sees it, is logged by the ingress.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import type { ServiceProcess } from "../support/service-process.ts";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 200, tokenDelayMs: 20 });
  const { url } = await mock.listen(0);
  // One job slot, so a second request waits in the queue while the first streams.
  stack = await startStack("barge-in-logs", {
    routes: routesTo(url),
    ingressEnv: { LOG_LEVEL: "debug" },
    workerEnv: { WORKER_CONCURRENCY: "1" },
  });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

interface LogLine {
  level: string;
  msg: string;
  requestId?: string;
  reason?: string;
  started?: boolean;
}

/** The process's log lines about this request so far. */
function linesAbout(process: ServiceProcess, requestId: string): LogLine[] {
  return process.output
    .filter((entry) => entry.startsWith("{") && entry.includes(requestId))
    .map((entry) => JSON.parse(entry) as LogLine);
}

/** The process's line with this message about this request, once it is written. */
async function lineOf(process: ServiceProcess, msg: string, requestId: string): Promise<LogLine> {
  const find = () => linesAbout(process, requestId).find((line) => line.msg === msg);
  await vi.waitFor(() => expect(find(), `${msg} for ${requestId}`).toBeDefined(), { timeout: 5000, interval: 25 });
  return find() as LogLine;
}

/**
 * Open a stream and read it until its first token; the answer goes on streaming (its body is left
 * unread, not cancelled) until the signal hangs up. Resolves with the request's id.
 */
async function streamUntilFirstToken(signal: AbortSignal): Promise<string> {
  const response = await fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "Hi" }], stream: true }),
    signal,
  });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes('"content":"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the answer ended before its first token");
    text += value;
  }
  return response.headers.get("x-request-id") as string;
}

describe("a client that hangs up", () => {
  it("mid-answer: the worker logs the cancellation at info, the ingress only at debug", async () => {
    const abort = new AbortController();
    const requestId = await streamUntilFirstToken(abort.signal);
    abort.abort();

    const cancelled = await lineOf(stack.workers[0]!, "request cancelled", requestId);
    expect(cancelled).toMatchObject({ level: "info", reason: "client-gone", stage: "streaming" });
    const wentAway = await lineOf(stack.ingresses[0]!, "client went away", requestId);
    expect(wentAway).toMatchObject({ level: "debug", started: true });
    expect(linesAbout(stack.ingresses[0]!, requestId).filter((line) => line.level !== "debug")).toEqual([]);
  });

  it("while queued: the ingress logs it at info", async () => {
    // The first stream holds the worker's only slot; the second request waits behind it.
    const holder = new AbortController();
    await streamUntilFirstToken(holder.signal);
    // No header comes back before a worker starts it, so the request goes by the caller's own id;
    // a field the upstream is not sent makes the ingress log (at debug) just before it enqueues.
    const requestId = `queued-${randomBytes(6).toString("hex")}`;
    const queued = new AbortController();
    const answer = fetch(`${stack.urls[0]}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify({
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        some_future_parameter: 1,
      }),
      signal: queued.signal,
    }).catch((error: unknown) => error);
    await lineOf(stack.ingresses[0]!, "fields not passed upstream", requestId);
    queued.abort();
    // Aborted before any answer: a worker never started it.
    expect(await answer).toMatchObject({ name: "AbortError" });

    const wentAway = await lineOf(stack.ingresses[0]!, "client went away", requestId);
    expect(wentAway).toMatchObject({ level: "info", started: false });
    holder.abort();
  });
});
