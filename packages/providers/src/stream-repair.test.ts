import { describe, expect, it } from "vitest";
import { StreamRepair } from "./stream-repair.ts";

describe("StreamRepair", () => {
  it("leaves a well-formed OpenAI stream as it is", () => {
    const repair = new StreamRepair();
    const first = { index: 0, id: "call_1", type: "function", function: { name: "a", arguments: "" } };
    expect(repair.toolCalls([first])).toEqual([first]);
    expect(repair.toolCalls([{ index: 0, function: { arguments: "{}" } }])).toEqual([
      { index: 0, function: { arguments: "{}" } },
    ]);
    expect(repair.finishReason("tool_calls")).toBe("tool_calls");
  });

  it("gives fragments without index the index of their call: a new id starts the next one", () => {
    const repair = new StreamRepair();
    const indexes = [
      { id: "call_a", function: { name: "a" } },
      { function: { arguments: "{" } },
      { id: "call_a", function: { arguments: "}" } },
      { id: "call_b", function: { name: "b", arguments: "{}" } },
    ].map((fragment) => repair.toolCalls([fragment])[0]!.index);
    expect(indexes).toEqual([0, 0, 0, 1]);
  });

  it("names a call that came without id or type, once, and keeps that id", () => {
    const repair = new StreamRepair();
    const [first] = repair.toolCalls([{ index: 0, function: { name: "end_call" } }]);
    expect(first).toMatchObject({ index: 0, type: "function", id: expect.stringMatching(/^call_[\w-]{16}$/) });
    expect(repair.toolCalls([{ index: 0, id: "late_id", function: { arguments: "{}" } }])).toEqual([
      { index: 0, function: { arguments: "{}" } },
    ]);
  });

  it("gives a fragment without its function object an empty one", () => {
    expect(new StreamRepair().toolCalls([{ index: 0, id: "call_1", type: "function" }])).toEqual([
      { index: 0, id: "call_1", type: "function", function: {} },
    ]);
  });

  it("makes stop tool_calls after a tool call, and only then", () => {
    const repair = new StreamRepair();
    expect(repair.finishReason("stop")).toBe("stop");
    repair.toolCalls([{ index: 0, id: "call_1", type: "function", function: { name: "a" } }]);
    expect(repair.finishReason("stop")).toBe("tool_calls");
    expect(repair.finishReason("length")).toBe("length");
  });
});
