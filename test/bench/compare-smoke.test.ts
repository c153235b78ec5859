// CI smoke check of `npm run bench:compare`: with this checkout on both sides and tiny numbers it
// runs end to end and writes well-formed results; without a base checkout it says how to give one.
// No timing is asserted (docs/performance.md holds the real runs).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { runBenchScript } from "./smoke-run.ts";

const compareScript = fileURLToPath(new URL("./compare.ts", import.meta.url));
const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));

function runCompare(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return runBenchScript(compareScript, { REDIS_URL: inject("redisUrl"), ...env });
}

describe("npm run bench:compare (smoke)", () => {
  it("measures both sides in alternating rounds and writes per-round ratios", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "switchboard-compare-smoke-")), "compare.json");
    const { code, output } = await runCompare({
      BENCH_COMPARE_BASE: repositoryRoot,
      COMPARE_ROUNDS: "2",
      COMPARE_SEQUENTIAL_STREAMS: "2",
      COMPARE_BURST_STREAMS: "3",
      COMPARE_THROUGHPUT_SECONDS: "0.3",
      BENCH_OUT: out,
    });
    expect(code, output).toBe(0);
    expect(output).toContain("Head / base, per round");
    const result = JSON.parse(readFileSync(out, "utf8")) as CompareJson;
    expect(result.table.map((row) => row.side)).toEqual(["base", "head"]);
    for (const side of ["base", "head"] as const) {
      expect(result.perRound[side]).toHaveLength(2);
      for (const round of result.perRound[side]) {
        expect(round.errors).toBe(0);
        expect(round.requestsPerSecond).toBeGreaterThan(0);
        expect(round.ttftSingleP50).toBeGreaterThan(0);
        expect(round.cpuMsPerRequest.worker).toBeGreaterThan(0);
      }
    }
    expect(result.comparison["req/s"]?.perRound).toHaveLength(2);
  }, 120_000);

  it("refuses to run without a base checkout, saying how to make one", async () => {
    const { code, output } = await runCompare({ BENCH_COMPARE_BASE: join(tmpdir(), "no-such-checkout") });
    expect(code).toBe(2);
    expect(output).toContain("git worktree add");
  });
});

interface CompareJson {
  table: Array<{ side: string }>;
  comparison: Record<string, { perRound: number[] }>;
  perRound: Record<
    "base" | "head",
    Array<{ errors: number; requestsPerSecond: number; ttftSingleP50: number; cpuMsPerRequest: { worker: number } }>
  >;
}
