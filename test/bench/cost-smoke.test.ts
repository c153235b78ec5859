// CI smoke check of `npm run bench:cost`: with tiny numbers it runs end to end on a private
// redis-server, says that the peer gateway was not measured when npm cannot install it (offline,
// empty cache), and writes a line per process through well-formed figures; where `perf` can count
// system calls, well-formed counts too, and where it cannot, why not. No timing is asserted
// (docs/performance.md holds the real runs).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { offlinePortkey, runBenchScript } from "./smoke-run.ts";

const costScript = fileURLToPath(new URL("./cost-model.ts", import.meta.url));

interface SyscallCounts {
  all: number;
  read: number;
  write: number;
  wait: number;
  futex: number;
}

interface CostJson {
  settings: { tokenCounts: number[]; rounds: number };
  /** true, or why system calls were not counted. */
  syscallsCounted: true | string;
  errors: number;
  portkeyError?: string;
  rows: Array<{
    target: string;
    process: string;
    perAnswerMs: Record<string, number>;
    perRequestMs: number;
    perTokenUs: number;
    syscalls?: { perAnswer: Record<string, SyscallCounts>; perRequest: number; perToken: number };
  }>;
}

describe("npm run bench:cost (smoke)", () => {
  it("measures each process at each answer length and fits a line through them", async () => {
    const directory = mkdtempSync(join(tmpdir(), "switchboard-cost-smoke-"));
    const out = join(directory, "cost.json");
    const { code, output } = await runBenchScript(costScript, {
      COST_TOKENS: "2,5",
      COST_STREAMS: "3",
      COST_SECONDS: "0.3",
      COST_ROUNDS: "1",
      BENCH_OUT: out,
      // No network: npm answers only from its cache, which is empty.
      ...offlinePortkey(directory),
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/Peer gateway: NOT MEASURED: npm install of @portkey-ai\/gateway failed/);
    expect(output).toContain("| target | process |");

    const result = JSON.parse(readFileSync(out, "utf8")) as CostJson;
    expect(result.errors).toBe(0);
    expect(result.portkeyError).toBeDefined();
    expect(result.settings).toMatchObject({ tokenCounts: [2, 5], rounds: 1 });
    expect(result.rows.map((row) => `${row.target} ${row.process}`)).toEqual([
      "Switchboard ingress",
      "Switchboard worker",
      "Switchboard redis",
      "Switchboard all",
    ]);
    for (const row of result.rows) {
      expect(Object.keys(row.perAnswerMs)).toEqual(["2", "5"]);
      for (const value of Object.values(row.perAnswerMs)) expect(value).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(row.perRequestMs)).toBe(true);
      expect(Number.isFinite(row.perTokenUs)).toBe(true);
    }

    if (result.syscallsCounted === true) {
      expect(output).toContain("system calls per answer");
      for (const row of result.rows) {
        const syscalls = row.syscalls;
        expect(syscalls, `${row.target} ${row.process}`).toBeDefined();
        expect(Object.keys(syscalls?.perAnswer ?? {})).toEqual(["2", "5"]);
        for (const counts of Object.values(syscalls?.perAnswer ?? {})) {
          // Every answer takes reads and writes in each process. (The kinds are not checked against
          // the total: perf switches its counters on one after another, so at the edges of the
          // round one may count a call the other missed.)
          expect(counts.all).toBeGreaterThan(0);
          expect(counts.read).toBeGreaterThan(0);
          expect(counts.write).toBeGreaterThan(0);
        }
        expect(Number.isFinite(syscalls?.perRequest)).toBe(true);
        expect(Number.isFinite(syscalls?.perToken)).toBe(true);
      }
    } else {
      expect(output).toContain(`system calls: not counted (${result.syscallsCounted})`);
      for (const row of result.rows) expect(row.syscalls).toBeUndefined();
    }
  }, 120_000);
});
