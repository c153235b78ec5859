// Reads a Server-Sent Events body as a series of events, directly from the response's byte stream.
// The openai SDK's own stream runs every chunk through five layers of async generators; on the
// worker's per-token path that cost more CPU than the rest of the relay together (see
// docs/performance.md), so the provider reads the SDK's raw response with this one loop instead.
import type { Readable } from "node:stream";

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Parses SSE text fed in arbitrary pieces; returns the events each piece completes. */
export class SseParser {
  private partialLine = "";
  private event: string | undefined;
  private data: string[] = [];

  push(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    const lines = (this.partialLine + text).split("\n");
    this.partialLine = lines.pop() ?? "";
    for (const rawLine of lines) this.line(rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine, events);
    return events;
  }

  /** The stream ended: an event the server did not terminate with a blank line still counts. */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.partialLine !== "")
      this.line(this.partialLine.endsWith("\r") ? this.partialLine.slice(0, -1) : this.partialLine, events);
    this.partialLine = "";
    this.line("", events);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0) events.push({ event: this.event, data: this.data.join("\n") });
      this.event = undefined;
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
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
