// The tests' one SSE reader: a streamed response read event by event as it arrives, the way a
// strict client reads it, each event kept with its data, its JSON and when it was read.
interface SseEvent {
  data: string;
  /** The parsed data; absent for `[DONE]`. */
  json?: Record<string, unknown>;
  /** performance.timeOrigin + performance.now() when the event was read (epoch ms). */
  at: number;
}

/** Each `data:` event of an SSE body as it arrives; blocks without data (comments) are skipped. */
export async function* sseEvents(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of body) {
    buffer += typeof bytes === "string" ? bytes : decoder.decode(bytes, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("\n");
      if (data === "") continue;
      const at = performance.timeOrigin + performance.now();
      yield data === "[DONE]" ? { data, at } : { data, json: JSON.parse(data) as Record<string, unknown>, at };
    }
  }
}

/** Every event of a streamed response, once it has ended. */
export async function readSse(response: Response): Promise<SseEvent[]> {
  if (!response.body) return [];
  const events: SseEvent[] = [];
  for await (const event of sseEvents(response.body)) events.push(event);
  return events;
}
