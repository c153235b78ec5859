// Reads a Server-Sent Events body as a series of events, directly from the response's byte stream.
// The openai SDK's own stream runs every chunk through five layers of async generators; on the
// worker's per-token path that cost more CPU than the rest of the relay together (see
// docs/performance.md), so the provider reads the SDK's raw response with this one loop instead.
import type { Readable } from "node:stream";
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * Parses SSE text fed in arbitrary pieces; returns the events each piece completes. The core is
 * eventsource-parser (3.1.1: the version the AI SDK also uses, so npm hoists one copy to the root
 * node_modules, the only one the images copy), the WHATWG parsing rules: "\r\n", "\n" and a bare "\r" end a line (a "\r"
 * at the end of a piece waits for the next, which may start with "\n"), comments, `event:`,
 * multi-line `data:`. Measured against the hand-written line splitter it replaced, fixed for bare
 * "\r" (`node test/bench/sse-parser.ts`, CPU per 60-token streamed request, median of 9 rounds,
 * two runs): one event per read 14.3–15.0 → 4.6–4.7 µs, 1,000-character reads 12.9–13.7 →
 * 7.3–9.0 µs, CRLF 41.8–43.2 → 8.2–8.5 µs.
 */
export class SseParser {
  private events: EventSourceMessage[] = [];
  private readonly parser = createParser({ onEvent: (message) => this.events.push(message) });

  push(text: string): SseEvent[] {
    this.parser.feed(text);
    if (this.events.length === 0) return [];
    const events = this.events;
    this.events = [];
    return events as SseEvent[];
  }

  /** The stream ended: an event the server did not terminate with a blank line still counts. */
  end(): SseEvent[] {
    // The parser drops an unterminated event at reset; ending its line and the event keeps it.
    return this.push("\n\n");
  }
}

/** Yields the events of an SSE body, one batch per network read. */
export async function* readSseEvents(body: AsyncIterable<Uint8Array>): AsyncIterable<SseEvent[]> {
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for await (const bytes of body) {
    const events = parser.push(decoder.decode(bytes, { stream: true }));
    if (events.length > 0) yield events;
  }
  const last = parser.push(decoder.decode());
  last.push(...parser.end());
  if (last.length > 0) yield last;
}

/**
 * Yields the events of an SSE body read from a Node stream (`nodeResponseBody`), one batch per
 * read, without web streams or a TextDecoder per chunk. When the loop stops early the stream is
 * left paused, neither drained nor destroyed: the caller decides which. (Not Node's own
 * `stream.iterator({ destroyOnReturn: false })`: a stream it leaves behind still counts as read
 * with 'readable', so the caller's resume() after [DONE] does not drain it in time, and the next
 * call opens a second socket — openai-provider.test.ts catches it.)
 */
export async function* readNodeSseEvents(stream: Readable): AsyncIterable<SseEvent[]> {
  const parser = new SseParser();
  const texts: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const onData = (text: string) => {
    texts.push(text);
    if (texts.length >= 16) stream.pause(); // the consumer is behind: let TCP push back
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (error: unknown) => {
    failure ??= { error };
    notify();
  };
  const onClose = () => {
    if (!ended) failure ??= { error: stream.errored ?? new Error("the upstream's response closed before its end") };
    notify();
  };
  stream.setEncoding("utf8");
  stream.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  try {
    for (;;) {
      if (texts.length > 0) {
        const text = texts.length === 1 ? (texts[0] as string) : texts.join("");
        texts.length = 0;
        if (stream.isPaused()) stream.resume();
        const events = parser.push(text);
        if (events.length > 0) yield events;
        continue;
      }
      if (failure) throw failure.error;
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    if (!ended) stream.pause();
  }
  const last = parser.end();
  if (last.length > 0) yield last;
}
