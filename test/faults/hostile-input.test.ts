// Hostile input (behaviour; the figures come from `npm run faults`): hostile bodies all get
// a 4xx, no process crashes, and slow senders are cut off with 408.
import { describe, expect, it } from "vitest";
import { measureHostileInput } from "./scenarios/hostile-input.ts";

describe("hostile input", () => {
  it("answers every hostile body with a 4xx OpenAI error and keeps every process up", async () => {
    const figures = await measureHostileInput(1500, 2);
    expect(figures.bodies).toBe(1500);
    expect(figures.not4xx).toBe(0);
    expect(figures.crashes).toBe(0);
    expect(figures.slowSenderStatuses).toEqual({ "408": 2 });
    // Only Node's own 413 for a body over the limit may lack the OpenAI shape — and it does not.
    expect(figures.notOpenAIShaped).toBe(0);
  }, 90_000);
});
