// The SSE reader against the shapes real upstreams send: split anywhere, CRLF, comments, multi-line data.
import { describe, expect, it } from "vitest";
import { SseParser, readSseEvents } from "./sse-reader.ts";

async function* pieces(...texts: string[]): AsyncIterable<Uint8Array> {
  for (const text of texts) yield new TextEncoder().encode(text);
}

async function collect(body: AsyncIterable<Uint8Array>) {
  const all = [];
  for await (const events of readSseEvents(body)) all.push(...events);
  return all;
}

describe("readSseEvents", () => {
  it("reassembles events split across reads and multi-byte characters split across bytes", async () => {
    const bytes = new TextEncoder().encode('data: {"a":"é"}\n\ndata: [DONE]\n\n');
    const split = async function* () {
      for (let index = 0; index < bytes.length; index += 3) yield bytes.slice(index, index + 3);
    };
    expect(await collect(split())).toEqual([
      { event: undefined, data: '{"a":"é"}' },
      { event: undefined, data: "[DONE]" },
    ]);
  });

  it("handles CRLF, comments, event names, multi-line data and a missing final blank line", async () => {
    const events = await collect(
      pieces(': keep-alive\r\n\r\nevent: error\r\ndata: {"x":\r\ndata: 1}\r\n\r\n', "data:last"),
    );
    expect(events).toEqual([
      { event: "error", data: '{"x":\n1}' },
      { event: undefined, data: "last" },
    ]);
  });

  it('ends lines at "\\r\\n", "\\n" and a bare "\\r" alike, whatever reads split them', async () => {
    const expected = [
      { event: undefined, data: '{"n":1}' },
      { event: "note", data: "two\nlines" },
      { event: undefined, data: "[DONE]" },
    ];
    const body = (end: string) =>
      `data: {"n":1}${end}${end}: comment${end}event: note${end}data: two${end}data: lines${end}${end}data: [DONE]${end}${end}`;
    for (const end of ["\r\n", "\n", "\r"]) {
      const text = body(end);
      expect(await collect(pieces(text)), JSON.stringify(end)).toEqual(expected);
      // Every split point, including between the "\r" and the "\n" of a "\r\n".
      for (let cut = 1; cut < text.length; cut++)
        expect(
          await collect(pieces(text.slice(0, cut), text.slice(cut))),
          `${JSON.stringify(end)} cut at ${cut}`,
        ).toEqual(expected);
      // One character per read.
      expect(await collect(pieces(...text)), `${JSON.stringify(end)} one character per read`).toEqual(expected);
    }
  });

  it('reads mixed line ends in one body, and a bare "\\r" last in the body', async () => {
    expect(await collect(pieces("data: a\r\rdata: b\n\ndata: c\r\n\r\ndata: d\r"))).toEqual([
      { event: undefined, data: "a" },
      { event: undefined, data: "b" },
      { event: undefined, data: "c" },
      { event: undefined, data: "d" },
    ]);
  });

  it("yields nothing for a body without events", async () => {
    expect(new SseParser().end()).toEqual([]);
    expect(await collect(pieces(": only a comment\n\n"))).toEqual([]);
  });
});
