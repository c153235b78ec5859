// The Responses stream rules on hand-written event sequences: a good stream passes, and each rule
// catches the mistake it names.
import { describe, expect, it } from "vitest";
import { responsesStreamRules } from "./responses-rules.ts";

const response = (status: string, output: unknown[] = [], usage: unknown = null) => ({
  id: "resp_1",
  object: "response",
  status,
  output,
  usage,
});
const message = { type: "message", id: "msg_1", role: "assistant", status: "in_progress", content: [] };
const call = {
  type: "function_call",
  id: "fc_1",
  call_id: "call_1",
  name: "weather",
  arguments: "",
  status: "in_progress",
};
const usage = { input_tokens: 1, output_tokens: 2, total_tokens: 3 };
const place = { item_id: "msg_1", output_index: 0, content_index: 0 };

function numbered(events: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return events.map((event, index) => ({ ...event, sequence_number: index }));
}

function good() {
  return numbered([
    { type: "response.created", response: response("in_progress") },
    { type: "response.in_progress", response: response("in_progress") },
    { type: "response.output_item.added", output_index: 0, item: message },
    { type: "response.content_part.added", ...place, part: { type: "output_text", text: "" } },
    { type: "response.output_text.delta", ...place, delta: "Hi " },
    { type: "response.output_text.delta", ...place, delta: "there" },
    { type: "response.output_text.done", ...place, text: "Hi there" },
    { type: "response.content_part.done", ...place, part: { type: "output_text", text: "Hi there" } },
    { type: "response.output_item.done", output_index: 0, item: { ...message, status: "completed" } },
    { type: "response.output_item.added", output_index: 1, item: call },
    { type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 1, delta: '{"a":' },
    { type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 1, delta: "1}" },
    { type: "response.function_call_arguments.done", item_id: "fc_1", output_index: 1, arguments: '{"a":1}' },
    { type: "response.output_item.done", output_index: 1, item: { ...call, arguments: '{"a":1}' } },
    { type: "response.completed", response: response("completed", [{ id: "msg_1" }, { id: "fc_1" }], usage) },
  ]);
}

describe("responsesStreamRules", () => {
  it("passes a well-formed stream and gives its text and calls", () => {
    expect(responsesStreamRules(good())).toMatchObject({
      problems: [],
      text: "Hi there",
      calls: [{ callId: "call_1", name: "weather", arguments: '{"a":1}' }],
      final: { status: "completed" },
    });
  });

  it("catches a gap in the sequence numbers", () => {
    const events = good();
    events[5]!.sequence_number = 9;
    expect(responsesStreamRules(events).problems).toContain("sequence_number goes from 4 to 9");
  });

  it("catches events for an item that was never added, or under another id", () => {
    const events = good().filter((event) => !(event.type === "response.output_item.added" && event.output_index === 1));
    expect(responsesStreamRules(events).problems.join()).toMatch(/output_index 1, which was never added/);
    const renamed = good();
    renamed[4]!.item_id = "msg_other";
    expect(responsesStreamRules(renamed).problems.join()).toMatch(/names item msg_other/);
  });

  it("catches done values that are not their deltas joined", () => {
    const events = good();
    events[6]!.text = "Hello";
    events[13]!.item = { ...call, arguments: "{}" };
    const { problems } = responsesStreamRules(events);
    expect(problems).toContain("an output_text.done text is not its deltas joined");
    expect(problems.join()).toMatch(/argument deltas do not add up/);
  });

  it("catches a missing terminal event, an error event and a completed response without usage", () => {
    expect(responsesStreamRules(good().slice(0, -1)).problems.join()).toMatch(/no terminal event/);
    const failed = good();
    failed.splice(-1, 0, { type: "error", code: "upstream_interrupted", message: "cut", sequence_number: 14 });
    failed.at(-1)!.sequence_number = 15;
    expect(responsesStreamRules(failed).problems.join()).toMatch(/an error event/);
    const noUsage = good();
    noUsage.at(-1)!.response = response("completed", [{ id: "msg_1" }, { id: "fc_1" }]);
    expect(responsesStreamRules(noUsage).problems).toContain("response.completed has no usage.input_tokens");
  });

  it("catches a stream that does not start with response.created", () => {
    expect(responsesStreamRules(good().slice(1)).problems.join()).toMatch(/not response.created/);
  });
});
