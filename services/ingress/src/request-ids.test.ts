import { describe, expect, it } from "vitest";
import { isRequestId } from "@switchboard/protocol";
import { newRequestId } from "./request-ids.ts";

describe("newRequestId", () => {
  it("gives valid, distinct ids across many blocks of random bytes", () => {
    const ids = Array.from({ length: 10_000 }, () => newRequestId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toHaveLength(16);
      expect(isRequestId(id)).toBe(true);
    }
  });
});
