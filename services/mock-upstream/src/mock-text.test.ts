// Pins the deterministic text contract tests elsewhere rely on.

import { describe, expect, it } from "vitest";
import { mockText, mockTokens, splitWords } from "./mock-text.ts";

describe("mockTokens", () => {
  it("returns count word tokens, each ending with a space", () => {
    const tokens = mockTokens(50);
    expect(tokens).toHaveLength(50);
    for (const token of tokens) expect(token).toMatch(/^\S+ $/);
    expect(tokens.slice(0, 3)).toEqual(["Switchboard ", "relays ", "every "]);
  });

  it("is deterministic, cycles, and seeds only shift the start", () => {
    expect(mockTokens(100)).toEqual(mockTokens(100));
    expect(mockTokens(10, "call-1")).toEqual(mockTokens(10, "call-1"));
    const long = mockTokens(200);
    const seeded = mockTokens(5, "another seed");
    const offset = long.findIndex((_, index) => long.slice(index, index + 5).join("") === seeded.join(""));
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(mockTokens(0)).toEqual([]);
  });

  it("rejects invalid counts", () => {
    expect(() => mockTokens(-1)).toThrow(RangeError);
    expect(() => mockTokens(1.5)).toThrow(RangeError);
  });
});

describe("mockText", () => {
  it("joins the tokens", () => {
    expect(mockText(3)).toBe("Switchboard relays every ");
    expect(mockText(7, "x")).toBe(mockTokens(7, "x").join(""));
  });
});

describe("splitWords", () => {
  it("splits into word tokens that join back to the input", () => {
    for (const text of ["Hello world", "  lead and trail  ", "one", "", "   ", "a\nb\tc", "emoji 👋 ok"]) {
      expect(splitWords(text).join("")).toBe(text);
    }
    expect(splitWords("Hello big world")).toEqual(["Hello ", "big ", "world"]);
  });
});
