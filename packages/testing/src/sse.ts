// The tests' one SSE reader, on eventsource-parser: a streamed response read event by event as it
// arrives, each event kept with its data, its JSON and when it was read (sseEvents, readSse); and
// the same parsing without the JSON for a hot loop (sseDataReader: the benchmark's load client,
// which shares the machine with what it measures, so it parses nothing it does not need).
import { createParser } from "eventsource-parser";

interface SseEvent {
  data: string;
  /** The parsed data; absent for `[DONE]`. */
  json?: Record<string, unknown>;
  /** performance.timeOrigin + performance.now() when the event was read (epoch ms). */
  at: number;
}

interface SseDataReader {
  /** Text as it arrives, in pieces of any size; each event it completes goes to onData. */
  feed(text: string): void;
}

/** Calls onData with the data of each complete event, unparsed; events without data (comments) are skipped. */
export function sseDataReader(onData: (data: string) => void): SseDataReader {
  const parser = createParser({
    onEvent: (event) => {
      if (event.data !== "") onData(event.data);
    },
  });
  return { feed: (text) => parser.feed(text) };
}

/** Each `data:` event of an SSE body as it arrives; blocks without data (comments) are skipped. */
export async function* sseEvents(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const completed: string[] = [];
  const reader = sseDataReader((data) => completed.push(data));
  for await (const bytes of body) {
    reader.feed(typeof bytes === "string" ? bytes : decoder.decode(bytes, { stream: true }));
    for (const data of completed.splice(0)) {
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
