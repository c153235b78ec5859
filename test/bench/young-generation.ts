// What capping the ingress's young generation (`--max-semi-space-size`, docs/architecture.md,
// "Hostile input") costs on normal traffic, side by side in one run: two ingresses, one with the
// flags the ingress ships with and one with Node's defaults, on one private Redis, one worker and one
// mock upstream process. Rounds alternate which ingress goes first; each round sends, to each
// ingress, streams one at a time, 50 streams at once, and a non-streamed closed-loop burst.
//   npm run bench:young-generation               (flock /tmp/switchboard-cpu.lock … on a shared machine)
//   YG_ROUNDS=8 YG_FLAGS=--max-semi-space-size=4 node test/bench/young-generation.ts
import { loadavg } from "node:os";
import { nodeFlags, startService, type ServiceProcess } from "../support/service-process.ts";
import { startRedis, writeMockRoutes } from "./bench-stack.ts";
import { agent, closedLoop, streamOnce, type StreamTiming } from "./load-client.ts";
import { cpuTimeMs, rssBytes } from "./process-stats.ts";
import { summarize } from "./summary.ts";

const rounds = Number(process.env.YG_ROUNDS ?? "8");
const flags = process.env.YG_FLAGS ? process.env.YG_FLAGS.split(" ") : [...nodeFlags.ingress];
const sequentialStreams = 40;
const burstStreams = 50;
const burstSeconds = 2;
const burstClients = 64;

interface Side {
  label: string;
  ingress: ServiceProcess;
  url: string;
  ttftSingle: number[];
  ttftBurst: number[];
  gaps: number[];
  requests: number;
  seconds: number;
  errors: number;
  cpuMs: number;
  answered: number;
}

const streamed = JSON.stringify({ model: "streamed", stream: true, messages: [{ role: "user", content: "Hello" }] });
const collected = JSON.stringify({ model: "immediate", messages: [{ role: "user", content: "Hello" }] });

const redis = await startRedis();
const services: ServiceProcess[] = [];
const sides: Side[] = [];
async function start(...args: Parameters<typeof startService>): Promise<ServiceProcess> {
  const service = await startService(...args);
  services.push(service);
  return service;
}

function record(side: Side, timings: StreamTiming[], into: number[]): void {
  for (const timing of timings) {
    into.push(timing.firstTokenMs);
    side.gaps.push(...timing.gapsMs);
  }
}

async function round(side: Side, measured: boolean): Promise<void> {
  const pid = side.ingress.child.pid!;
  const cpuBefore = cpuTimeMs(pid);
  const single: StreamTiming[] = [];
  for (let index = 0; index < sequentialStreams; index++) single.push(await streamOnce(side.url, streamed));
  const burst = await Promise.all(Array.from({ length: burstStreams }, () => streamOnce(side.url, streamed)));
  const throughput = await closedLoop([side.url], collected, burstClients, burstSeconds);
  if (!measured) return;
  side.cpuMs += cpuTimeMs(pid) - cpuBefore;
  side.answered += single.length + burst.length + throughput.requests;
  record(side, single, side.ttftSingle);
  record(side, burst, side.ttftBurst);
  side.requests += throughput.requests;
  side.seconds += throughput.seconds;
  side.errors += throughput.errors;
}

try {
  // 20 tokens 5 ms apart for streams; an immediate answer for the throughput burst.
  const slowMock = await start("mock-upstream", { MOCK_PORT: "0", MOCK_TOKENS: "20", MOCK_TOKEN_DELAY_MS: "5" });
  const fastMock = await start("mock-upstream", { MOCK_PORT: "0", MOCK_TOKENS: "20", MOCK_TOKEN_DELAY_MS: "0" });
  const routesFile = writeMockRoutes({
    streamed: String(slowMock.readyLine.url),
    immediate: String(fastMock.readyLine.url),
  });
  const env = {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `sbyg-${process.pid}`,
    ROUTES_FILE: routesFile,
    MOCK_API_KEY: "unused",
    LOG_LEVEL: "info",
  };
  await start("worker", { ...env, WORKER_CONCURRENCY: "1000" });
  for (const [label, sideFlags] of [
    ["default", []],
    [flags.join(" "), flags],
  ] as const) {
    const ingress = await start("ingress", { ...env, PORT: "0", HOST: "127.0.0.1" }, 15_000, sideFlags);
    sides.push({
      label,
      ingress,
      url: String(ingress.readyLine.url),
      ttftSingle: [],
      ttftBurst: [],
      gaps: [],
      requests: 0,
      seconds: 0,
      errors: 0,
      cpuMs: 0,
      answered: 0,
    });
  }
  const startLoad = loadavg()[0]!;
  // One unmeasured round each: JIT, connection pools, heaps sized for the traffic.
  for (const side of sides) await round(side, false);
  for (let index = 0; index < rounds; index++) {
    const order = index % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) await round(side, true);
  }
  const fixed = (value: number) => Number(value.toFixed(2));
  const rows = sides.map((side) => {
    const single = summarize(side.ttftSingle);
    const burst = summarize(side.ttftBurst);
    const gaps = summarize(side.gaps);
    return {
      ingress: side.label,
      "TTFT 1 p50": fixed(single.p50),
      "TTFT 1 p99": fixed(single.p99),
      "TTFT 50 p50": fixed(burst.p50),
      "TTFT 50 p99": fixed(burst.p99),
      "gap p99": fixed(gaps.p99),
      "req/s": fixed(side.requests / side.seconds),
      errors: side.errors,
      "CPU ms/req": fixed(side.cpuMs / side.answered),
      "RSS MB": fixed(rssBytes(side.ingress.child.pid!) / 2 ** 20),
    };
  });
  console.log(
    `young generation: ${rounds} rounds, load average ${startLoad.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`,
  );
  console.table(rows);
  const [base, capped] = rows as [(typeof rows)[number], (typeof rows)[number]];
  const ratio = (key: "TTFT 1 p50" | "TTFT 1 p99" | "TTFT 50 p50" | "TTFT 50 p99" | "req/s" | "CPU ms/req") =>
    `${key} ${(capped[key] / base[key]).toFixed(2)}`;
  console.log(
    `capped / default: ${(["TTFT 1 p50", "TTFT 1 p99", "TTFT 50 p50", "TTFT 50 p99", "req/s", "CPU ms/req"] as const).map(ratio).join(", ")}`,
  );
} finally {
  agent.destroy();
  await Promise.all(services.map((service) => service.stop()));
  await redis.stop();
}
