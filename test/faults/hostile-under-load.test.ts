// Hostile bodies while normal streams run (behaviour; the timing figures come from
// `npm run faults`, item 10): every normal stream completes, every hostile request is refused with
// its 4xx, no process dies or passes 300 MB, and nothing is left in Redis without an expiry.
import { describe, expect, it } from "vitest";
import { measureHostileUnderLoad } from "./scenarios/hostile-under-load.ts";

describe("hostile input under load", () => {
  it("refuses every hostile request while 20 normal streams all complete", async () => {
    const figures = await measureHostileUnderLoad(20, 1);
    expect(figures.heldStatuses).toEqual({ "held until the end": 60 });
    expect(figures.quiet.outcomes).toEqual({ done: 20 });
    expect(figures.attacked.outcomes).toEqual({ done: 20 });
    const expected: Record<string, string> = {
      "9.9 MB of empty objects": "413 request_too_large",
      "model constructor": "404 model_not_found",
      "model __proto__": "404 model_not_found",
      "model toString": "404 model_not_found",
      "model hasOwnProperty": "404 model_not_found",
      "model valueOf": "404 model_not_found",
      "UTF-16 charset, deep nesting": "415 unsupported_media_type",
      "corrupt gzip": "400 invalid_request",
      "over its concurrency limit, 5 MB body": "429 rate_limited",
    };
    for (const [kind, status] of Object.entries(expected)) {
      expect(Object.keys(figures.attack[kind] ?? {}), kind).toEqual([status]);
    }
    expect(figures.crashes).toBe(0);
    expect(figures.peakRssMb.ingress).toBeLessThan(300);
    expect(figures.peakRssMb.worker).toBeLessThan(300);
    expect(figures.keysWithoutExpiry).toEqual([]);
  }, 120_000);
});
