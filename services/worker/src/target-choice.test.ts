// The power of two choices on first-token estimates: which target a latency-picking route starts
// on, with the draws fixed.
import { describe, expect, it } from "vitest";
import { latencyFirst, type TargetStanding } from "./target-choice.ts";

const standings: Record<string, TargetStanding> = {
  a: { open: false, firstTokenMs: 300 },
  b: { open: false, firstTokenMs: 80 },
  c: { open: false, firstTokenMs: 150 },
  closedOut: { open: true, firstTokenMs: 10 },
  unmeasured: { open: false, firstTokenMs: undefined },
};
const standingOf = (target: string) => standings[target] as TargetStanding;
/** Draws in order: each call returns the next value. */
const draws =
  (...values: number[]) =>
  () =>
    values.shift() ?? 0;

describe("latencyFirst", () => {
  it("starts on the faster of the two targets drawn, the others following in the route's order", () => {
    // Draws a (index 0 of [a, b, c]), then c (index 1 of [b, c]).
    expect(latencyFirst(["a", "b", "c"], standingOf, draws(0, 0.9))).toEqual(["c", "a", "b"]);
    // Draws b, then a.
    expect(latencyFirst(["a", "b", "c"], standingOf, draws(0.5, 0))).toEqual(["b", "a", "c"]);
  });

  it("with two targets, always starts on the faster", () => {
    for (const random of [draws(0, 0), draws(0.9, 0.9), draws(0.5, 0.1)])
      expect(latencyFirst(["a", "b"], standingOf, random)).toEqual(["b", "a"]);
  });

  it("never draws a target whose breaker is open, however fast it was", () => {
    expect(latencyFirst(["closedOut", "a", "b"], standingOf, draws(0, 0))).toEqual(["b", "closedOut", "a"]);
  });

  it("keeps the route's order when fewer than two targets can be drawn", () => {
    expect(latencyFirst(["closedOut", "a"], standingOf, draws(0.9, 0.9))).toEqual(["closedOut", "a"]);
    expect(latencyFirst(["a"], standingOf, draws(0))).toEqual(["a"]);
  });

  it("tries a target never measured before a measured one", () => {
    expect(latencyFirst(["b", "unmeasured"], standingOf, draws(0, 0))).toEqual(["unmeasured", "b"]);
  });

  it("on equal estimates, keeps the one earlier in the route", () => {
    const even = (target: string) => ({ open: false, firstTokenMs: target === "x" || target === "y" ? 100 : 500 });
    expect(latencyFirst(["x", "y"], even, draws(0.9, 0))).toEqual(["x", "y"]);
  });
});
