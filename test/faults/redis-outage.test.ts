// Redis outage (behaviour; the figures come from `npm run faults`): with Redis gone,
// requests fail fast and explicitly, /ready turns false, and the stack recovers by itself.
import { describe, expect, it } from "vitest";
import { measureRedisOutage } from "./scenarios/redis-outage.ts";

describe("Redis outage", () => {
  it.each([
    ["answers 503 while Redis is down, ends every request explicitly, and recovers without restarts", "killed"],
    ["does the same when Redis hangs with its connections open", "hung"],
  ] as const)(
    "%s",
    async (_title, mode) => {
      const figures = await measureRedisOutage({ until503s: 20 }, 10, mode);
      expect(figures.unexplained).toBe(0);
      expect(figures.outcomes["http-error:redis_unavailable"]).toBeGreaterThan(0);
      expect(figures.readyFalseAfter).toBeGreaterThan(0);
      expect(figures.recoveredAfter).toBeGreaterThan(0);
      expect(figures.processesRestarted).toBe(0);
    },
    60_000,
  );
});
