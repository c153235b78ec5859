// The README's error table is the documentation of error-codes.ts: this keeps them in step.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { errorCodes, isRetryable, type ErrorCode } from "./error-codes.ts";

describe("error codes", () => {
  it("are exactly the rows of the README's error table, with the same status, type and meaning", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const table = readme.split("<!-- error-table")[1]?.split("<!-- /error-table -->")[0] ?? "";
    const rows = table
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => line.split("|").map((cell) => cell.trim()));
    const documented = Object.fromEntries(
      rows.map(([, code, status, type, meaning]) => [
        code!.replaceAll("`", ""),
        { status: Number(status), type, message: meaning },
      ]),
    );
    expect(documented).toEqual(errorCodes);
  });

  it("decide retryability for every code", () => {
    for (const code of Object.keys(errorCodes) as ErrorCode[]) expect(typeof isRetryable(code)).toBe("boolean");
    expect(isRetryable("upstream_unavailable")).toBe(true);
    expect(isRetryable("upstream_interrupted")).toBe(false);
  });
});
