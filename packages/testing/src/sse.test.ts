import { describe, expect, it } from "vitest";
import { readSse, sseDataReader, sseEvents } from "./sse.ts";

async function* pieces(...texts: string[]): AsyncGenerator<Uint8Array> {
  for (const text of texts) yield new TextEncoder().encode(text);
}

describe("the tests' SSE reader", () => {
  it("yields each data event once it is complete, however the bytes are split", async () => {
    const events = [];
    for await (const event of sseEvents(pieces('data: {"a"', ":1}\n", '\ndata: {"b":2}\n\ndata: [DO', "NE]\n\n")))
      events.push(event);
    expect(events.map((event) => event.data)).toEqual(['{"a":1}', '{"b":2}', "[DONE]"]);
    expect(events.map((event) => event.json)).toEqual([{ a: 1 }, { b: 2 }, undefined]);
    expect(events.every((event) => event.at > 0)).toBe(true);
  });

  it("skips comments and joins a multi-line data field", async () => {
    const response = new Response(': keep-alive\n\ndata: {"x":\ndata: 1}\n\ndata: [DONE]\n\n');
    const events = await readSse(response);
    expect(events.map((event) => event.data)).toEqual(['{"x":\n1}', "[DONE]"]);
    expect(events[0]?.json).toEqual({ x: 1 });
  });

  it("gives a hot loop each event's data unparsed, as soon as a piece completes it", () => {
    const completed: string[][] = [];
    const received: string[] = [];
    const reader = sseDataReader((data) => received.push(data));
    for (const piece of ['data: {"a"', ':1}\r\n\r\n: ping\n\ndata: {"b"', ":2}\n\ndata: [DONE]\n\n"]) {
      reader.feed(piece);
      completed.push(received.splice(0));
    }
    expect(completed).toEqual([[], ['{"a":1}'], ['{"b":2}', "[DONE]"]]);
  });
});
