// Which conversation a request is a turn of: the sources in their documented precedence, and ids of
// another shape skipped (they become Redis keys and span attributes).
import { describe, expect, it } from "vitest";
import type { ChatRequest } from "@switchboard/protocol";
import { conversationOf } from "./conversation-id.ts";

const messages = [{ role: "user" as const, content: "Hi" }];

function body(fields: Partial<ChatRequest>): ChatRequest {
  return { model: "m", messages, ...fields };
}

describe("conversationOf", () => {
  it("prefers the header, then elevenlabs_extra_body.conversation_id, then user", () => {
    const all = body({ elevenlabs_extra_body: { conversation_id: "conv_extra" }, user: "user-1" });
    expect(conversationOf({ "x-conversation-id": "conv_header" }, all, "x-conversation-id")).toEqual({
      id: "conv_header",
      source: "header",
    });
    expect(conversationOf({}, all, "x-conversation-id")).toEqual({ id: "conv_extra", source: "elevenlabs_extra_body" });
    expect(conversationOf({}, body({ user: "user-1" }), "x-conversation-id")).toEqual({ id: "user-1", source: "user" });
    expect(conversationOf({}, body({}), "x-conversation-id")).toBeUndefined();
  });

  it("reads the configured header, whatever its case", () => {
    expect(conversationOf({ "x-call": "c1" }, body({}), "X-Call")).toEqual({ id: "c1", source: "header" });
  });

  it("skips a value that is not a plain id of 1–128 characters", () => {
    const extra = body({ elevenlabs_extra_body: { conversation_id: "conv_ok" } });
    for (const bad of ["", "has space", "a\nb", "x".repeat(129), "{braces}"])
      expect(conversationOf({ "x-conversation-id": bad }, extra, "x-conversation-id")?.source).toBe(
        "elevenlabs_extra_body",
      );
    expect(conversationOf({}, body({ elevenlabs_extra_body: { conversation_id: 42 }, user: "u" }), "x")).toEqual({
      id: "u",
      source: "user",
    });
  });
});
