import { describe, expect, it } from "vitest";
import {
  decodeRelayEvent,
  decodeReplyMessage,
  encodeDelta,
  encodeRelayEvent,
  encodeReplyRecord,
  joinReplyRecords,
  replyRecordSeparator,
  logEntryId,
  parseLogEntryId,
  type RelayEvent,
} from "./relay-event.ts";

describe("relay events", () => {
  it("round-trip every kind", () => {
    const events: RelayEvent[] = [
      { kind: "started", worker: "w-1" },
      { kind: "delta", deltaJson: '{"content":"Hi\\n\\t there"}' },
      {
        kind: "finish",
        finishReason: "tool_calls",
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      },
      { kind: "error", code: "upstream_rate_limited", message: "slow down", retryAfterSeconds: 3 },
      { kind: "error", code: "internal_error", message: "oops" },
    ];
    for (const event of events) expect(decodeRelayEvent(encodeRelayEvent(event))).toEqual(event);
  });

  it("keep a delta's JSON as the OpenAI delta object", () => {
    expect(encodeDelta({ content: "a\tb" })).toBe('d{"content":"a\\tb"}');
  });

  it("carry request id, attempt and sequence through reply messages with tabs in the payload", () => {
    const message = encodeReplyRecord("abc_-1", { attempt: 2, seq: 17 }, [encodeDelta({ content: "x\ty" })]);
    expect(decodeReplyMessage(message)).toEqual([
      { requestId: "abc_-1", attempt: 2, seq: 17, frames: ['d{"content":"x\\ty"}'] },
    ]);
    expect(parseLogEntryId(logEntryId({ attempt: 3, seq: 41 }))).toEqual({ attempt: 3, seq: 41 });
  });

  it("carry several events in one reply message, newlines inside their text included", () => {
    const frames = [
      encodeDelta({ content: "line one\nline two" }),
      encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null }),
    ];
    const [decoded] = decodeReplyMessage(encodeReplyRecord("r1", { attempt: 1, seq: 5 }, frames));
    expect(decoded).toEqual({ requestId: "r1", attempt: 1, seq: 5, frames });
    expect(decodeRelayEvent(decoded?.frames[0] as string)).toEqual({
      kind: "delta",
      deltaJson: '{"content":"line one\\nline two"}',
    });
  });

  it("carry the records of several requests in one reply message, control characters in their text included", () => {
    const records = [
      { requestId: "r1", attempt: 1, seq: 3, frames: [encodeDelta({ content: "a\u001eb" })] },
      { requestId: "r2", attempt: 2, seq: 1, frames: ['s{"worker":"w"}', encodeDelta({ content: "\n" })] },
      {
        requestId: "r3",
        attempt: 1,
        seq: 9,
        frames: [encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null })],
      },
    ];
    const message = joinReplyRecords(
      records.map((record) => encodeReplyRecord(record.requestId, record, record.frames)),
    );
    expect(message.split(replyRecordSeparator)).toHaveLength(3);
    expect(decodeReplyMessage(message)).toEqual(records);
  });
});
