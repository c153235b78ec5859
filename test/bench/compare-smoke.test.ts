// CI smoke check of `npm run bench:compare`: with this checkout on both sides and tiny numbers it
// runs end to end and writes well-formed results; without a base checkout it says how to give one.
// No timing is asserted (docs/performance.md holds the real runs).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";

const compareScript = fileURLToPath(new URL("./compare.ts", import.meta.url));
const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));

async function runCompare(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [compareScript], {
    env: { PATH: process.env.PATH ?? "", REDIS_URL: inject("redisUrl"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (text: Buffer) => (output += text.toString()));
  child.stderr.on("data", (text: Buffer) => (output += text.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
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
