// Environment parsing: defaults and errors that name the variable and value.

import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("has defaults", () => {
    expect(loadConfig({})).toEqual({
      host: "127.0.0.1",
      port: 4010,
      firstTokenDelayMs: 0,
      tokenDelayMs: 0,
      tokens: 20,
      recentLimit: 200,
    });
  });

  it("reads every variable", () => {
    expect(
      loadConfig({
        MOCK_HOST: "0.0.0.0",
        MOCK_PORT: "0",
        MOCK_FIRST_TOKEN_DELAY_MS: "250",
        MOCK_TOKEN_DELAY_MS: "12.5",
        MOCK_TOKENS: "64",
      }),
    ).toEqual({ host: "0.0.0.0", port: 0, firstTokenDelayMs: 250, tokenDelayMs: 12.5, tokens: 64, recentLimit: 200 });
  });

  it.each([
    ["MOCK_PORT", "abc"],
    ["MOCK_PORT", "70000"],
    ["MOCK_PORT", "-1"],
    ["MOCK_FIRST_TOKEN_DELAY_MS", "soon"],
    ["MOCK_TOKEN_DELAY_MS", "-3"],
    ["MOCK_TOKENS", "1.5"],
  ])("rejects %s=%s naming the variable, value and expectation", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`${name}: expected .*\\(got "${value.replace(".", "\\.")}"\\)`),
    );
  });
});
