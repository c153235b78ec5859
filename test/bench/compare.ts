// Two versions of Switchboard side by side in one run: this checkout ("head") and another one
// ("base", BENCH_COMPARE_BASE: a directory holding another checkout of this repository with its
// dependencies installed, e.g. `git worktree add ../base main && (cd ../base && npm ci)`). Each side
// is one ingress and one worker process, started from its own checkout, on one private Redis and
// the same mock upstreams. Rounds alternate which side goes first; in each round each side gets
// streams one at a time, a burst of 50 streams (CPU per streamed request measured across it), and
// a closed-loop non-streamed burst of 64 clients, then (COMPARE_HELD_STREAMS > 0) that many
// long streams held together, across which CPU per relayed token is measured, while the other side
// is idle. On a machine whose speed drifts by a quarter from one
// minute to the next (docs/performance.md, "The machine") only such interleaved rounds can show a
// change of a few per cent: the figures that count are the per-round ratios head / base.
//   BENCH_COMPARE_BASE=../base npm run bench:compare
//   COMPARE_ROUNDS=10 COMPARE_THROUGHPUT_SECONDS=2 BENCH_COMPARE_BASE=../base npm run bench:compare
//   COMPARE_HELD_STREAMS=200 BENCH_COMPARE_BASE=../base npm run bench:compare
// (also COMPARE_SEQUENTIAL_STREAMS, COMPARE_BURST_STREAMS, COMPARE_HELD_TOKENS; BENCH_OUT names the
// JSON file.)
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startRedis, writeMockRoutes } from "./bench-stack.ts";
import { agent, closedLoop, streamOnce } from "./load-client.ts";
import { cpuTimeMs } from "./process-stats.ts";
import { summarize } from "./summary.ts";

const baseRoot = process.env.BENCH_COMPARE_BASE;
if (
  !baseRoot ||
  !existsSync(join(baseRoot, "services", "worker", "src", "main.ts")) ||
  !existsSync(join(baseRoot, "node_modules"))
) {
  console.error(
    "Set BENCH_COMPARE_BASE to another checkout of this repository with its dependencies installed, e.g.\n  git worktree add ../base main && (cd ../base && npm ci) && BENCH_COMPARE_BASE=../base npm run bench:compare",
  );
  process.exit(2);
}
const rounds = Number(process.env.COMPARE_ROUNDS ?? "8");
const sequentialStreams = Number(process.env.COMPARE_SEQUENTIAL_STREAMS ?? "30");
const burstStreams = Number(process.env.COMPARE_BURST_STREAMS ?? "50");
const heldStreams = Number(process.env.COMPARE_HELD_STREAMS ?? "0");
const heldTokens = Number(process.env.COMPARE_HELD_TOKENS ?? "100");
const throughputClients = 64;
const throughputSeconds = Number(process.env.COMPARE_THROUGHPUT_SECONDS ?? "2");
const out = process.env.BENCH_OUT ?? `bench-results/compare-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;

const streamed = JSON.stringify({ model: "streamed", stream: true, messages: [{ role: "user", content: "Hello" }] });
// The mock reads its token count and pace from the request (unknown fields go upstream unchanged).
const held = JSON.stringify({
  model: "streamed",
  stream: true,
  messages: [{ role: "user", content: "Hello" }],
  mock: { tokens: heldTokens, tokenDelayMs: 20 },
});
const collected = JSON.stringify({ model: "immediate", messages: [{ role: "user", content: "Hello" }] });

/** One side's figures in one round. */
interface RoundFigures {
  ttftSingleP50: number;
  ttftBurstP50: number;
  ttftBurstP99: number;
  requestsPerSecond: number;
  errors: number;
  /** CPU ms per non-streamed request of the side's ingress, worker, and Redis, during its throughput burst. */
  cpuMsPerRequest: { ingress: number; worker: number; redis: number; total: number };
  /** CPU ms per streamed request (20 tokens) of the same processes, during its burst of streams. */
  cpuMsPerStream: { ingress: number; worker: number; redis: number; total: number };
  /** With held streams: CPU µs per relayed token of the same processes, and the gaps between tokens. */
  held?: {
    cpuUsPerToken: { ingress: number; worker: number; redis: number; total: number };
    gapP50: number;
    gapP99: number;
    refused: number;
  };
}

interface Side {
  label: "base" | "head";
  root: string | undefined;
  ingress: ServiceProcess;
  worker: ServiceProcess;
  url: string;
  rounds: RoundFigures[];
}

const redis = await startRedis();
const services: ServiceProcess[] = [];
async function start(...args: Parameters<typeof startService>): Promise<ServiceProcess> {
  const service = await startService(...args);
  services.push(service);
  return service;
}

async function round(side: Side): Promise<RoundFigures> {
  const single: number[] = [];
  for (let index = 0; index < sequentialStreams; index++)
    single.push((await streamOnce(side.url, streamed)).firstTokenMs);
  const pids = { ingress: side.ingress.child.pid!, worker: side.worker.child.pid!, redis: redis.pid };
  const cpuNow = () => ({
    ingress: cpuTimeMs(pids.ingress),
    worker: cpuTimeMs(pids.worker),
    redis: pids.redis ? cpuTimeMs(pids.redis) : 0,
  });
  const cpuPer = (from: ReturnType<typeof cpuNow>, requests: number) => {
    const now = cpuNow();
    const per = (process: keyof typeof now) => (now[process] - from[process]) / Math.max(1, requests);
    return { ingress: per("ingress"), worker: per("worker"), redis: per("redis") };
  };
  const beforeBurst = cpuNow();
  const burst = (await Promise.all(Array.from({ length: burstStreams }, () => streamOnce(side.url, streamed)))).map(
    (timing) => timing.firstTokenMs,
  );
  const streamCpu = cpuPer(beforeBurst, burstStreams);
  const before = cpuNow();
  const throughput = await closedLoop([side.url], collected, throughputClients, throughputSeconds);
  const cpu = cpuPer(before, throughput.requests);
  let heldFigures: RoundFigures["held"];
  if (heldStreams > 0) {
    const beforeHeld = cpuNow();
    // A stream refused under load (503) is counted, not fatal: the CPU is still divided by the tokens relayed.
    const settled = await Promise.allSettled(Array.from({ length: heldStreams }, () => streamOnce(side.url, held)));
    const timings = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    const perToken = cpuPer(
      beforeHeld,
      timings.reduce((sum, timing) => sum + timing.tokens, 0),
    );
    const gaps = summarize(timings.flatMap((timing) => timing.gapsMs));
    const cpuUsPerToken = {
      ingress: perToken.ingress * 1000,
      worker: perToken.worker * 1000,
      redis: perToken.redis * 1000,
      total: (perToken.ingress + perToken.worker + perToken.redis) * 1000,
    };
    heldFigures = { cpuUsPerToken, gapP50: gaps.p50, gapP99: gaps.p99, refused: heldStreams - timings.length };
  }
  const singleSummary = summarize(single);
  const burstSummary = summarize(burst);
  return {
    ttftSingleP50: singleSummary.p50,
    ttftBurstP50: burstSummary.p50,
    ttftBurstP99: burstSummary.p99,
    requestsPerSecond: throughput.requests / throughput.seconds,
    errors: throughput.errors,
    cpuMsPerRequest: { ...cpu, total: cpu.ingress + cpu.worker + cpu.redis },
    cpuMsPerStream: { ...streamCpu, total: streamCpu.ingress + streamCpu.worker + streamCpu.redis },
    ...(heldFigures ? { held: heldFigures } : {}),
  };
}

const median = (values: readonly number[]) => summarize(values).p50;
const fixed = (value: number, digits = 3) => Number(value.toFixed(digits));

try {
  // 20 tokens 10 ms apart for streams, as in `npm run bench`; an immediate answer for throughput.
  const slowMock = await start("mock-upstream", { MOCK_PORT: "0", MOCK_TOKENS: "20", MOCK_TOKEN_DELAY_MS: "10" });
  const fastMock = await start("mock-upstream", { MOCK_PORT: "0", MOCK_TOKENS: "20", MOCK_TOKEN_DELAY_MS: "0" });
  const routesFile = writeMockRoutes({
    streamed: String(slowMock.readyLine.url),
    immediate: String(fastMock.readyLine.url),
  });
  const sides: Side[] = [];
  for (const [label, root] of [
    ["base", resolve(baseRoot)],
    ["head", undefined],
  ] as const) {
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `sbcompare-${process.pid}-${label}`,
      ROUTES_FILE: routesFile,
      MOCK_API_KEY: "unused",
      LOG_LEVEL: "info",
    };
    const worker = await start("worker", { ...env, WORKER_CONCURRENCY: "1000" }, 15_000, undefined, root);
    const ingress = await start("ingress", { ...env, PORT: "0", HOST: "127.0.0.1" }, 15_000, undefined, root);
    sides.push({ label, root, ingress, worker, url: String(ingress.readyLine.url), rounds: [] });
  }
  const startLoad = loadavg()[0]!;
  // One unmeasured round each: JIT, connection pools, heaps sized for the traffic.
  for (const side of sides) await round(side);
  for (let index = 0; index < rounds; index++) {
    const order = index % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) side.rounds.push(await round(side));
    process.stderr.write(`[compare] round ${index + 1}/${rounds}\n`);
  }
  const [base, head] = sides as [Side, Side];
  const figures = (side: Side) => ({
    side: side.label,
    "TTFT 1 p50": fixed(median(side.rounds.map((r) => r.ttftSingleP50)), 2),
    [`TTFT ${burstStreams} p50`]: fixed(median(side.rounds.map((r) => r.ttftBurstP50)), 2),
    [`TTFT ${burstStreams} p99`]: fixed(median(side.rounds.map((r) => r.ttftBurstP99)), 2),
    "req/s": fixed(median(side.rounds.map((r) => r.requestsPerSecond)), 0),
    errors: side.rounds.reduce((sum, r) => sum + r.errors, 0),
    "CPU ms/req ingress": fixed(median(side.rounds.map((r) => r.cpuMsPerRequest.ingress))),
    "CPU ms/req worker": fixed(median(side.rounds.map((r) => r.cpuMsPerRequest.worker))),
    "CPU ms/req redis": fixed(median(side.rounds.map((r) => r.cpuMsPerRequest.redis))),
    "CPU ms/req total": fixed(median(side.rounds.map((r) => r.cpuMsPerRequest.total))),
    "CPU ms/stream ingress": fixed(median(side.rounds.map((r) => r.cpuMsPerStream.ingress))),
    "CPU ms/stream worker": fixed(median(side.rounds.map((r) => r.cpuMsPerStream.worker))),
    "CPU ms/stream redis": fixed(median(side.rounds.map((r) => r.cpuMsPerStream.redis))),
    "CPU ms/stream total": fixed(median(side.rounds.map((r) => r.cpuMsPerStream.total))),
    ...(heldStreams > 0
      ? {
          "held µs/token ingress": fixed(median(side.rounds.map((r) => r.held?.cpuUsPerToken.ingress ?? 0)), 1),
          "held µs/token worker": fixed(median(side.rounds.map((r) => r.held?.cpuUsPerToken.worker ?? 0)), 1),
          "held µs/token redis": fixed(median(side.rounds.map((r) => r.held?.cpuUsPerToken.redis ?? 0)), 1),
          "held µs/token total": fixed(median(side.rounds.map((r) => r.held?.cpuUsPerToken.total ?? 0)), 1),
          "held gap p50": fixed(median(side.rounds.map((r) => r.held?.gapP50 ?? 0)), 2),
          "held gap p99": fixed(median(side.rounds.map((r) => r.held?.gapP99 ?? 0)), 2),
        }
      : {}),
  });
  const table = [figures(base), figures(head)];
  // Per round: head / base, with how many rounds came out in head's favour.
  const ratios = (pick: (r: RoundFigures) => number, lowerIsBetter: boolean) => {
    const perRound = head.rounds.map((r, index) => pick(r) / pick(base.rounds[index]!));
    return {
      median: fixed(median(perRound)),
      perRound: perRound.map((value) => fixed(value)),
      headBetterIn: perRound.filter((value) => (lowerIsBetter ? value < 1 : value > 1)).length,
    };
  };
  const comparison = {
    "TTFT 1 p50": ratios((r) => r.ttftSingleP50, true),
    [`TTFT ${burstStreams} p50`]: ratios((r) => r.ttftBurstP50, true),
    "req/s": ratios((r) => r.requestsPerSecond, false),
    "CPU ms/req total": ratios((r) => r.cpuMsPerRequest.total, true),
    "CPU ms/req worker": ratios((r) => r.cpuMsPerRequest.worker, true),
    "CPU ms/req ingress": ratios((r) => r.cpuMsPerRequest.ingress, true),
    "CPU ms/req redis": ratios((r) => r.cpuMsPerRequest.redis, true),
    "CPU ms/stream total": ratios((r) => r.cpuMsPerStream.total, true),
    "CPU ms/stream worker": ratios((r) => r.cpuMsPerStream.worker, true),
    "CPU ms/stream ingress": ratios((r) => r.cpuMsPerStream.ingress, true),
    "CPU ms/stream redis": ratios((r) => r.cpuMsPerStream.redis, true),
    ...(heldStreams > 0
      ? {
          "held µs/token total": ratios((r) => r.held?.cpuUsPerToken.total ?? 0, true),
          "held µs/token worker": ratios((r) => r.held?.cpuUsPerToken.worker ?? 0, true),
          "held µs/token ingress": ratios((r) => r.held?.cpuUsPerToken.ingress ?? 0, true),
          "held µs/token redis": ratios((r) => r.held?.cpuUsPerToken.redis ?? 0, true),
          "held gap p99": ratios((r) => r.held?.gapP99 ?? 0, true),
        }
      : {}),
  };
  console.log(
    `compare: base ${base.root}, head ${process.cwd()}; ${rounds} rounds, load average ${startLoad.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log("Medians over rounds (ms unless stated)");
  console.table(table);
  console.log(`Head / base, per round (median; rounds in head's favour of ${rounds})`);
  console.table(
    Object.entries(comparison).map(([figure, ratio]) => ({
      figure,
      median: ratio.median,
      "head better in": ratio.headBetterIn,
      "per round": ratio.perRound.join(" "),
    })),
  );
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        base: base.root,
        rounds,
        loadAverage: [startLoad, loadavg()[0]],
        table,
        comparison,
        perRound: { base: base.rounds, head: head.rounds },
      },
      null,
      2,
    ),
  );
  console.log(`Results: ${out}`);
} finally {
  agent.destroy();
  await Promise.all(services.map((service) => service.stop()));
  await redis.stop();
}
