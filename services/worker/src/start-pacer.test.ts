import { describe, expect, it } from "vitest";
import { StartPacer } from "./start-pacer.ts";

describe("StartPacer", () => {
  it("releases at most perTurn jobs per event-loop turn, in arrival order", async () => {
    const pacer = new StartPacer(3);
    const released: Array<{ job: number; turn: number }> = [];
    let turn = 0;
    // Counts event-loop turns: an immediate set from an immediate runs in the next turn.
    let counting = true;
    const tick = () => {
      turn++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    await Promise.all(Array.from({ length: 10 }, (_, job) => pacer.turn().then(() => released.push({ job, turn }))));
    counting = false;
    expect(released.map((entry) => entry.job)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const perTurn = new Map<number, number>();
    for (const entry of released) perTurn.set(entry.turn, (perTurn.get(entry.turn) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(3);
  });

  it("starts a lone job in the same turn's check phase", async () => {
    const pacer = new StartPacer(4);
    let immediateRan = false;
    setImmediate(() => (immediateRan = true));
    await pacer.turn();
    expect(immediateRan).toBe(true);
  });
});
