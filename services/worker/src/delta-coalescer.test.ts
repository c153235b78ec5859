// Content deltas of one event-loop turn travel as one event; anything else keeps its place.
import { describe, expect, it } from "vitest";
import { DeltaCoalescer } from "./delta-coalescer.ts";

describe("DeltaCoalescer", () => {
  it("joins the content deltas of one turn and keeps other deltas in order", async () => {
    const frames: string[] = [];
    const coalescer = new DeltaCoalescer((frame) => frames.push(frame));
    coalescer.add({ content: "Hel" });
    coalescer.add({ content: "lo" });
    coalescer.add({ tool_calls: [{ index: 0, function: { arguments: "{}" } }] });
    coalescer.add({ content: " there" });
    expect(frames).toEqual(['d{"content":"Hello"}', 'd{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}']);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(frames.at(-1)).toBe('d{"content":" there"}');
    coalescer.flush();
    expect(frames).toHaveLength(3);
  });
});
