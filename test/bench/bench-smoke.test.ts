// CI smoke check of `npm run bench`: the benchmark still runs end to end with tiny numbers and
// writes well-formed results. No timing is asserted (performance claims come from real runs, see
// docs/performance.md); only that every phase produced its figures and nothing failed. The peer
// gateway (Portkey) is installed by the benchmark from npm; here npm is offline with an empty cache,
// as on a machine without network, and the benchmark must say so and measure everything else.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { offlinePortkey, runBenchScript } from "./smoke-run.ts";

const benchScript = fileURLToPath(new URL("./bench.ts", import.meta.url));

describe("npm run bench (smoke)", () => {
  it("measures every phase with tiny numbers and writes well-formed JSON", async () => {
    const directory = mkdtempSync(join(tmpdir(), "switchboard-bench-smoke-"));
    const out = join(directory, "bench.json");
    const { code, output } = await runBenchScript(benchScript, {
      // Without REDIS_URL the bench starts a private redis-server; the tests' Redis is given here
      // so the smoke check runs wherever the tests run.
      REDIS_URL: inject("redisUrl"),
      BENCH_CONCURRENCY: "1,5",
      BENCH_SAMPLES: "4",
      BENCH_MIN_ROUNDS: "1",
      BENCH_HELD: "3",
      BENCH_HELD_SECONDS: "0.3",
      BENCH_HELD_ROUNDS: "1",
      BENCH_LAYOUTS: "1x1,2x2",
      BENCH_SECONDS: "0.3",
      BENCH_CLIENTS: "4",
      BENCH_WARMUP_SECONDS: "0.2",
      BENCH_LAYOUT_STREAMS: "4",
      BENCH_SCALING_SLOTS: "2",
      BENCH_SCALING_SECONDS: "0.5",
      BENCH_CANCEL: "3",
      BENCH_OUT: out,
      // No network: npm answers only from its cache, which is empty.
      ...offlinePortkey(directory),
    });
    expect(code, output).toBe(0);
    expect(output).toContain("Targets");
    expect(output).toMatch(/Peer gateway: NOT MEASURED: npm install of @portkey-ai\/gateway failed: .*ENOTCACHED/);

    const result = JSON.parse(readFileSync(out, "utf8")) as BenchJson;
    expect(result.streaming.map((row) => `${row.load} ${row.concurrency}`)).toEqual(["burst 1", "burst 5", "held 3"]);
    for (const row of result.streaming) {
      for (const side of ["direct", "gateway", "nodeProxy"] as const) {
        const measured = row.sides[side];
        expect(measured?.errors).toBe(0);
        // A burst round is exactly `concurrency` streams; a held round as many as fit in its time.
        if (row.load === "burst") expect(measured?.firstTokenMs.count).toBe(row.concurrency * row.rounds);
        else expect(measured?.firstTokenMs.count).toBeGreaterThanOrEqual(row.concurrency * row.rounds);
        expect(measured?.firstTokenMs.p50).toBeGreaterThan(0);
        expect(measured?.lastTokenMs.p50).toBeGreaterThanOrEqual(measured?.firstTokenMs.p50 ?? Infinity);
        expect(measured?.gapMs.count).toBeGreaterThan(0);
      }
      expect(Number.isFinite(row.addedFirstTokenMs.p50)).toBe(true);
      expect(Object.keys(row.gatewayCpuMsPerRequest)).toEqual(expect.arrayContaining(["ingress1", "worker1"]));
    }
    expect(result.throughput.map((row) => row.label)).toEqual([
      "direct to mock",
      "in-process Node.js proxy",
      "switchboard 1 ingress x 1 worker",
      "switchboard 2 ingress x 2 worker",
    ]);
    for (const row of result.throughput) {
      expect(row.errors).toBe(0);
      expect(row.requests).toBeGreaterThan(0);
    }
    expect(result.throughput[3]?.queueWaitMs?.count).toBeGreaterThan(0);
    expect(
      result.workerScaling.map((row) => `${row.workers} x ${row.slotsPerWorker} slots, ${row.clients} clients`),
    ).toEqual(["1 x 2 slots, 4 clients", "2 x 2 slots, 4 clients"]);
    for (const row of result.workerScaling) {
      expect(row.errors).toBe(0);
      expect(row.queueWaitMs.count).toBeGreaterThan(0);
    }
    expect(result.portkey).toMatch(/^NOT MEASURED/);
    expect(result.cancel.map((row) => `${row.streams} ${row.target}`)).toEqual([
      "3 direct to mock",
      "3 Switchboard",
      "3 in-process Node.js proxy",
    ]);
    for (const row of result.cancel) {
      expect(row.errors).toBe(0);
      expect(row.upstreamCalls).toBe(3);
      // Every upstream call closed when its caller hung up, not at the end of its 4 s answer.
      expect(row.notCancelled).toBe(0);
      expect(row.lastHangUpToLastCloseMs).toBeLessThan(3000);
    }
    expect(new Set(result.peers.map((row) => row.target))).toEqual(
      new Set(["direct to mock", "Switchboard", "in-process Node.js proxy", "Switchboard (1 ingress x 1 worker)"]),
    );
    for (const row of result.peers) expect(row.shareOfDirect).toBeGreaterThan(0);
    expect(result.targets.length).toBeGreaterThanOrEqual(14);
  }, 180_000);
});

interface BenchJson {
  streaming: Array<{
    load: "burst" | "held";
    concurrency: number;
    rounds: number;
    sides: Partial<
      Record<
        "direct" | "gateway" | "nodeProxy",
        {
          errors: number;
          firstTokenMs: { count: number; p50: number };
          lastTokenMs: { p50: number };
          gapMs: { count: number };
        }
      >
    >;
    addedFirstTokenMs: { p50: number };
    gatewayCpuMsPerRequest: Record<string, number>;
  }>;
  throughput: Array<{ label: string; errors: number; requests: number; queueWaitMs?: { count: number } }>;
  workerScaling: Array<{
    workers: number;
    slotsPerWorker: number;
    clients: number;
    errors: number;
    queueWaitMs: { count: number };
  }>;
  targets: unknown[];
  portkey: string;
  cancel: Array<{
    streams: number;
    target: string;
    errors: number;
    upstreamCalls: number;
    notCancelled: number;
    lastHangUpToLastCloseMs: number;
  }>;
  peers: Array<{ target: string; shareOfDirect: number }>;
}
