// The body guards on their own: what they refuse, and that legitimate bodies pass.
import { describe, expect, it } from "vitest";
import {
  bodyDefect,
  bodyVerifier,
  invalidUtf8Type,
  structureExceeds,
  tooDeepType,
  tooManyValuesType,
} from "./body-guard.ts";

const verify = bodyVerifier({ maxDepth: 8, maxValues: 1000 });
const typeOf = (body: Buffer): string | undefined => {
  try {
    verify({}, undefined, body);
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

describe("counting values before parsing", () => {
  /** The exact count: the smallest maxValues the body passes. */
  const countOf = (json: string): number => {
    const body = Buffer.from(json);
    let maxValues = 0;
    while (structureExceeds(body, { maxDepth: 64, maxValues }) === "values") maxValues++;
    return maxValues;
  };
  /** What a parsed value tree holds: every object, array and scalar (keys not counted). */
  const parsedCount = (value: unknown): number => {
    if (Array.isArray(value)) return 1 + value.reduce((sum: number, child) => sum + parsedCount(child), 0);
    if (typeof value === "object" && value !== null)
      return 1 + Object.values(value).reduce((sum: number, child) => sum + parsedCount(child), 0);
    return 1;
  };

  it.each([
    "{}",
    "[]",
    '"just a string"',
    "-12.5e+3",
    '[true, false, null, 1, -2.5, "x"]',
    '{"a": {"b": [1, {"c": "d"}]}, "e": [], "f": {}}',
    '{ "model" : "m" , "messages" : [ { "role" : "user", "content" : "a \\"quoted\\" : colon, [brackets] {braces}" } ] }',
  ])("counts %s exactly as JSON.parse builds it", (json) => {
    expect(countOf(json)).toBe(parsedCount(JSON.parse(json)));
  });

  it("refuses a body of many small objects, however few its bytes", () => {
    const objects = `{"model":"m","messages":[{"role":"user","content":"Hi"}],"x":[${"{},".repeat(5000)}{}]}`;
    expect(typeOf(Buffer.from(objects))).toBe(tooManyValuesType);
    const numbers = `[${"1,".repeat(2000)}1]`;
    expect(typeOf(Buffer.from(numbers))).toBe(tooManyValuesType);
  });

  it("passes a chat request with long content and tools", () => {
    const body = {
      model: "m",
      messages: Array.from({ length: 100 }, (_, index) => ({ role: "user", content: "word ".repeat(index * 10) })),
      tools: [{ type: "function", function: { name: "end_call", parameters: { type: "object", properties: {} } } }],
    };
    expect(typeOf(Buffer.from(JSON.stringify(body)))).toBeUndefined();
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
