// The per-request `mock` parser: defaults, overrides and 400-worthy input.

import { describe, expect, it } from "vitest";
import { resolveBehaviour, type MockDefaults } from "./options.ts";

const defaults: MockDefaults = { tokens: 20, firstTokenDelayMs: 5, tokenDelayMs: 1 };

describe("resolveBehaviour", () => {
  it("uses the defaults without a mock field", () => {
    expect(resolveBehaviour(defaults, undefined)).toEqual({
      ok: true,
      behaviour: { tokens: 20, firstTokenDelayMs: 5, tokenDelayMs: 1, toolCalls: [], textBeforeToolCalls: false },
    });
  });

  it("applies every override", () => {
    const result = resolveBehaviour(defaults, {
      tokens: 3,
      firstTokenDelayMs: 0,
      tokenDelayMs: 2.5,
      text: "hi there",
      toolCalls: [{ name: "f", arguments: "{}" }, { name: "g" }],
      textBeforeToolCalls: true,
      finishReason: 'stop"}]}\n\ndata: [DONE]',
      fail: { kind: "http", status: 429, retryAfterSeconds: 3 },
      tag: "t",
    });
    expect(result).toEqual({
      ok: true,
      behaviour: {
        tokens: 3,
        firstTokenDelayMs: 0,
        tokenDelayMs: 2.5,
        text: "hi there",
        toolCalls: [
          { name: "f", arguments: "{}" },
          { name: "g", arguments: "" },
        ],
        textBeforeToolCalls: true,
        finishReason: 'stop"}]}\n\ndata: [DONE]',
        fail: { kind: "http", status: 429, message: "Mock upstream failure", afterTokens: 0, retryAfterSeconds: 3 },
        tag: "t",
      },
    });
  });

  it.each([
    [[1], "mock"],
    [{ tokens: -1 }, "mock.tokens"],
    [{ tokens: 2.5 }, "mock.tokens"],
    [{ tokens: "3" }, "mock.tokens"],
    [{ tokenDelayMs: Number.NaN }, "mock.tokenDelayMs"],
    [{ firstTokenDelayMs: -5 }, "mock.firstTokenDelayMs"],
    [{ text: 4 }, "mock.text"],
    [{ toolCalls: {} }, "mock.toolCalls"],
    [{ toolCalls: [{ name: "" }] }, "mock.toolCalls[0].name"],
    [{ toolCalls: [{ name: "f", arguments: {} }] }, "mock.toolCalls[0].arguments"],
    [{ textBeforeToolCalls: "yes" }, "mock.textBeforeToolCalls"],
    [{ fail: "http" }, "mock.fail"],
    [{ fail: { kind: "explode" } }, "mock.fail.kind"],
    [{ fail: { kind: "http", status: 200 } }, "mock.fail.status"],
    [{ fail: { kind: "http", retryAfterSeconds: -1 } }, "mock.fail.retryAfterSeconds"],
    [{ fail: { kind: "stall", afterTokens: 1.5 } }, "mock.fail.afterTokens"],
    [{ fail: { kind: "stall", after: 1 } }, "mock.fail.after"],
    [{ tag: 1 }, "mock.tag"],
    [{ tokenz: 1 }, "mock.tokenz"],
  ])("rejects %j at %s", (mock, param) => {
    const result = resolveBehaviour(defaults, mock);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.param).toBe(param);
      expect(result.message).toContain(param);
    }
  });
});
