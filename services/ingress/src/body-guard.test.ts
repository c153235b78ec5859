// The body guards on their own: what they refuse, and that legitimate bodies pass.
import { describe, expect, it } from "vitest";
import { bodyDefect, bodyVerifier, invalidUtf8Type, tooDeepType } from "./body-guard.ts";

const verify = bodyVerifier(8);
const typeOf = (body: Buffer): string | undefined => {
  try {
    verify(undefined, undefined, body);
    return undefined;
  } catch (error) {
    return (error as { type?: string }).type;
  }
};

describe("bodyVerifier", () => {
  it("passes UTF-8 JSON, brackets inside strings not counted", () => {
    expect(
      typeOf(
        Buffer.from(
          JSON.stringify({ model: "m", messages: [{ role: "user", content: '[[[[[[[[[[[[ {{{{{{{{{{ " ]]]' }] }),
        ),
      ),
    ).toBeUndefined();
  });
  it("refuses invalid UTF-8", () => {
    expect(typeOf(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]))).toBe(invalidUtf8Type);
  });
  it("refuses nesting deeper than the limit before parsing", () => {
    expect(typeOf(Buffer.from("[".repeat(9) + "]".repeat(9)))).toBe(tooDeepType);
    expect(typeOf(Buffer.from("[".repeat(8) + "]".repeat(8)))).toBeUndefined();
  });
});

describe("bodyDefect", () => {
  it("finds __proto__ keys at any depth", () => {
    expect(bodyDefect(JSON.parse('{"messages":[{"__proto__":{"x":1}}]}'), 64)).toMatch(/__proto__/);
    expect(
      bodyDefect({ tools: [{ function: { parameters: { properties: { constructor: { type: "string" } } } } }] }, 64),
    ).toBeUndefined();
  });
  it("finds nesting deeper than the limit", () => {
    expect(bodyDefect({ a: { b: { c: {} } } }, 2)).toMatch(/deeper than 2/);
    expect(bodyDefect({ a: { b: 1 } }, 2)).toBeUndefined();
  });
});
