// The stream rules on hand-written chunk sequences: each rule catches the mistake it names.
import { describe, expect, it } from "vitest";
import {
  finishReasonProblems,
  roleProblems,
  stableIdProblems,
  toolCallProblems,
  usageProblems,
} from "./stream-rules.ts";

function chunk(
  delta: Record<string, unknown>,
  finish: string | null = null,
  id = "chatcmpl-1",
): Record<string, unknown> {
  return {
    id,
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}
const usage = {
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "m",
  choices: [],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
};

describe("stream rules", () => {
  const good = [chunk({ role: "assistant", content: "Hi" }), chunk({ content: " there" }), chunk({}, "stop")];

  it("accept a correct stream", () => {
    expect([...stableIdProblems(good), ...roleProblems(good), ...finishReasonProblems(good, "stop")]).toEqual([]);
    expect(usageProblems([...good, usage])).toEqual([]);
  });

  it("catch a new id per chunk, a repeated role, an early or missing finish_reason", () => {
    expect(stableIdProblems([chunk({ role: "assistant" }, null, "a"), chunk({}, "stop", "b")])).toEqual([
      '2 different ids in one stream ("a", "b", …)',
    ]);
    expect(roleProblems([chunk({ content: "x" }), chunk({ role: "assistant" }, "stop")])).toEqual([
      'the first chunk\'s delta has no role "assistant"',
      "1 later chunk(s) repeat delta.role",
    ]);
    expect(finishReasonProblems([chunk({ role: "assistant" }, "stop"), chunk({})])).toEqual([
      "1 chunk(s) before the last carry a finish_reason",
      "the last chunk has no finish_reason",
    ]);
    expect(finishReasonProblems(good, "tool_calls")).toEqual([
      'the last finish_reason is "stop", expected "tool_calls"',
    ]);
  });

  it("catch a missing or misplaced usage chunk", () => {
    expect(usageProblems(good)).toEqual(["0 chunks with choices: [] (expected exactly one, with usage)"]);
    expect(usageProblems([usage, ...good])).toEqual(["the usage chunk is not the last chunk before [DONE]"]);
  });

  it("assemble tool calls and catch fragments strict clients reject", () => {
    const calls = [
      chunk({
        role: "assistant",
        tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "a", arguments: "" } }],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 1, id: "call_2", type: "function", function: { name: "b", arguments: "{}" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
      chunk({}, "tool_calls"),
    ];
    expect(toolCallProblems(calls)).toEqual({
      problems: [],
      calls: [
        { id: "call_1", name: "a", arguments: '{"x":1}' },
        { id: "call_2", name: "b", arguments: "{}" },
      ],
    });
    const broken = [
      chunk({ role: "assistant", tool_calls: [{ index: 0, function: { name: "a", arguments: "{" } }] }),
      chunk({ tool_calls: [{ index: 0 }] }),
      chunk({}, "tool_calls"),
    ];
    expect(toolCallProblems(broken).problems).toEqual([
      "tool call 0: the first fragment has no id",
      'tool call 0: the first fragment has no type "function"',
      "tool call 0: a fragment has no function object",
      'tool call 0: the arguments do not assemble into JSON: "{"',
    ]);
    expect(toolCallProblems(good).problems).toEqual(["no tool call was streamed although tool_choice forced one"]);
  });
});
