// `npm run bench`: Switchboard side by side with the mock upstream it fronts (and with an in-process
// Node.js proxy as a reference point), on one machine, in one run.
//  1. Streaming, at each concurrency: time to first token, to last token, and the gaps between
//     tokens, p50/p90/p99, direct vs through Switchboard; rounds interleave the targets so machine
//     noise hits them alike. The difference is the time Switchboard adds. Two load shapes: "burst"
//     (all streams of a round start at once) and "held" (that many streams kept open for a while,
//     each client starting its next stream when its last one ends).
//  2. Redis round trips per request and per token (MONITOR on the benchmark's private Redis).
//  3. Non-streaming requests/s at 64 clients, for each process layout (ingress x worker processes),
//     with CPU per request of every process and the BullMQ queue wait.
// Prints tables and writes everything to bench-results/ (BENCH_OUT names the file). Tune with the
// BENCH_* variables documented in README.md ("Measure it").
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";
import {
  startMock,
  startNodeProxy,
  startRedis,
  startSwitchboard,
  type BenchProcess,
  type SwitchboardStack,
} from "./bench-stack.ts";
import { agent, closedLoop, completeOnce, heldStreams, streamOnce, type StreamTiming } from "./load-client.ts";
import { cpuTimeMs, rssBytes, sampleRss } from "./process-stats.ts";
import { readQueueWaits } from "./queue-wait.ts";
import { countRoundTrips, type RoundTripCounts } from "./redis-round-trips.ts";
import { added, summarize, type Summary } from "./summary.ts";
import { measureWorkerScaling, type ScalingRow } from "./worker-scaling.ts";

const list = (value: string) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
const settings = {
  concurrencies: list(process.env.BENCH_CONCURRENCY ?? "1,50,200,1000").map(Number),
  /** Samples per side and concurrency; rounds = max(BENCH_MIN_ROUNDS, samples / concurrency). */
  samples: Number(process.env.BENCH_SAMPLES ?? "150"),
  minRounds: Number(process.env.BENCH_MIN_ROUNDS ?? "4"),
  held: list(process.env.BENCH_HELD ?? "50,200").map(Number),
  heldSeconds: Number(process.env.BENCH_HELD_SECONDS ?? "1.5"),
  heldRounds: Number(process.env.BENCH_HELD_ROUNDS ?? "3"),
  layouts: list(process.env.BENCH_LAYOUTS ?? "1x1,1x2,1x4,2x1,2x2,2x4"),
  throughputClients: Number(process.env.BENCH_CLIENTS ?? "64"),
  throughputSeconds: Number(process.env.BENCH_SECONDS ?? "5"),
  /** Unmeasured seconds of load on each target before it is measured: everything is measured warm. */
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? "2"),
  layoutStreams: Number(process.env.BENCH_LAYOUT_STREAMS ?? "200"),
  scalingSlots: Number(process.env.BENCH_SCALING_SLOTS ?? "16"),
  scalingSeconds: Number(process.env.BENCH_SCALING_SECONDS ?? "3"),
  roundTripRequests: Number(process.env.BENCH_ROUND_TRIP_REQUESTS ?? "20"),
  workerConcurrency: Number(process.env.BENCH_WORKER_CONCURRENCY ?? "1000"),
  baseline: process.env.BENCH_BASELINE !== "0",
  cpuProfileDir: process.env.BENCH_CPU_PROF_DIR,
  out: process.env.BENCH_OUT ?? `bench-results/bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
  tokens: 20,
  tokenDelayMs: 10,
};

const streamBody = JSON.stringify({
  model: "mock-model",
  stream: true,
  messages: [{ role: "user", content: "Hello" }],
});
// Non-streaming requests ask the mock for an immediate answer, so requests/s measures the gateway.
const completeBody = JSON.stringify({
  model: "mock-model",
  messages: [{ role: "user", content: "Hello" }],
  mock: { tokenDelayMs: 0 },
});

type Side = "direct" | "gateway" | "nodeProxy";

interface SideResult {
  firstTokenMs: Summary;
  lastTokenMs: Summary;
  gapMs: Summary;
  errors: number;
  /** Share of tokens that arrived in the same read as the one before (0 = one by one). */
  mergedTokenShare: number;
}

type Load = "burst" | "held";

interface StreamingRow {
  load: Load;
  concurrency: number;
  rounds: number;
  sides: Partial<Record<Side, SideResult>>;
  addedFirstTokenMs: ReturnType<typeof added>;
  addedLastTokenMs: ReturnType<typeof added>;
  addedGapMs: ReturnType<typeof added>;
  /** CPU ms per streamed request of each gateway process during the gateway's rounds. */
  gatewayCpuMsPerRequest: Record<string, number>;
  /** Resident memory added per open stream (bytes), per gateway process, at this concurrency. */
  rssBytesPerStream?: Record<string, number>;
}

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const startedAt = new Date();
progress("starting redis, mock upstream and the in-process proxy");
const redis = await startRedis();
const mock = await startMock(settings.tokens, settings.tokenDelayMs);
const mockUrl = mock.url as string;
const nodeProxy = settings.baseline ? await startNodeProxy(mockUrl) : undefined;
const result: Record<string, unknown> = {
  date: startedAt.toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverageAtStart: loadavg(),
  },
  redis: redis.pid ? "private redis-server" : "REDIS_URL",
  settings: { ...settings, out: undefined },
};

let main: SwitchboardStack | undefined;
try {
  // 1. Streaming latency, 1 ingress and 1 worker.
  progress("starting Switchboard (1 ingress, 1 worker) and warming up");
  main = await startSwitchboard({
    redisUrl: redis.url,
    upstreamUrl: mockUrl,
    ingresses: 1,
    workers: 1,
    workerConcurrency: settings.workerConcurrency,
    ...(settings.cpuProfileDir ? { nodeOptions: `--cpu-prof --cpu-prof-dir=${settings.cpuProfileDir}` } : {}),
  });
  const targets: Record<Side, string[]> = {
    direct: [mockUrl],
    gateway: main.urls,
    nodeProxy: nodeProxy?.url ? [nodeProxy.url] : [],
  };
  const sides = (Object.keys(targets) as Side[]).filter((side) => targets[side].length > 0);
  // Warm: 50 streams held for a while on each side (the JIT optimises the per-token path of every
  // process), then sequential ones; what follows measures the steady state, not the warm-up.
  if (settings.warmupSeconds > 0)
    for (const side of sides) await heldStreams(targets[side], streamBody, 50, settings.warmupSeconds, 200);
  for (let index = 0; index < 30; index++)
    await Promise.all(sides.map((side) => streamOnce(targets[side][0] as string, streamBody)));

  const streaming: StreamingRow[] = [];
  for (const concurrency of settings.concurrencies) {
    progress(`streaming at ${concurrency} concurrent streams`);
    streaming.push(await streamingRow(concurrency, sides, targets, main));
    printStreaming(streaming.slice(-1));
  }
  for (const concurrency of settings.held) {
    progress(`streaming with ${concurrency} streams held open`);
    streaming.push(await heldRow(concurrency, sides, targets, main));
    printStreaming(streaming.slice(-1));
  }
  result.streaming = streaming;

  // 2. Redis round trips (only on a private Redis: MONITOR on a shared one sees everybody).
  if (redis.pid && settings.roundTripRequests > 0) {
    progress("counting Redis round trips");
    const requests = settings.roundTripRequests;
    const url = main.urls[0] as string;
    const streamed = await countRoundTrips(redis.url, async () => {
      for (let index = 0; index < requests; index++) await streamOnce(url, streamBody);
    });
    const collected = await countRoundTrips(redis.url, async () => {
      for (let index = 0; index < requests; index++) await completeOnce(url, completeBody);
    });
    result.redisRoundTrips = {
      requests,
      tokensPerRequest: settings.tokens,
      streaming: perRequest(streamed, requests),
      nonStreaming: perRequest(collected, requests),
    };
    printRoundTrips(result.redisRoundTrips as RoundTripReport);
  }
  await main.stop();
  main = undefined;

  // 3. Throughput and queue wait per process layout.
  const throughput: Array<Record<string, unknown>> = [];
  await warmUp([mockUrl]);
  throughput.push(await measureThroughput("direct to mock", [mockUrl], [mock]));
  if (nodeProxy?.url) {
    await warmUp([nodeProxy.url]);
    throughput.push(await measureThroughput("in-process Node.js proxy", [nodeProxy.url], [nodeProxy, mock]));
  }
  for (const layout of settings.layouts) {
    const [ingresses, workers] = layout.split("x").map(Number) as [number, number];
    progress(`throughput with ${ingresses} ingress x ${workers} worker processes`);
    const profile = settings.cpuProfileDir
      ? { nodeOptions: `--cpu-prof --cpu-prof-dir=${settings.cpuProfileDir}/throughput-${layout}` }
      : {};
    const stack = await startSwitchboard({
      redisUrl: redis.url,
      upstreamUrl: mockUrl,
      ingresses,
      workers,
      workerConcurrency: settings.workerConcurrency,
      ...profile,
    });
    try {
      await warmUp(stack.urls);
      const since = await redisTimeMs();
      const row = await measureThroughput(`switchboard ${ingresses} ingress x ${workers} worker`, stack.urls, [
        ...stack.ingresses,
        ...stack.workers,
        mock,
      ]);
      row.queueWaitMs = summarize(await readQueueWaits(redis.url, stack.prefix, since));
      if (settings.layoutStreams > 0) {
        const timings = await Promise.allSettled(
          Array.from({ length: settings.layoutStreams }, (_, index) =>
            streamOnce(stack.urls[index % stack.urls.length] as string, streamBody),
          ),
        );
        const ok = timings.flatMap((timing) => (timing.status === "fulfilled" ? [timing.value] : []));
        row.streams = {
          concurrency: settings.layoutStreams,
          errors: timings.length - ok.length,
          firstTokenMs: summarize(ok.map((timing) => timing.firstTokenMs)),
        };
      }
      throughput.push(row);
    } finally {
      await stack.stop();
    }
  }
  result.throughput = throughput;
  printThroughput(throughput);

  // 4. Queue wait with one worker process saturated (job slots), then with two.
  if (settings.scalingSlots > 0) {
    progress(`queue wait with one worker process saturated (${settings.scalingSlots} slots), then two`);
    const scaling = await measureWorkerScaling({
      redisUrl: redis.url,
      mockUrl,
      slotsPerWorker: settings.scalingSlots,
      seconds: settings.scalingSeconds,
      redisTimeMs,
    });
    result.workerScaling = scaling;
    printScaling(scaling);
  }
  result.targets = evaluateTargets(result);
  printTargets(result.targets as TargetRow[]);
} finally {
  result.loadAverageAtEnd = loadavg();
  mkdirSync(dirname(settings.out), { recursive: true });
  writeFileSync(settings.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nResults: ${settings.out}`);
  agent.destroy();
  await Promise.all([main?.stop(), nodeProxy?.stop(), mock.stop()]);
  await redis.stop();
}

async function streamingRow(
  concurrency: number,
  sides: Side[],
  targets: Record<Side, string[]>,
  stack: SwitchboardStack,
): Promise<StreamingRow> {
  const rounds = Math.max(settings.minRounds, Math.ceil(settings.samples / concurrency));
  const timings: Record<Side, StreamTiming[]> = { direct: [], gateway: [], nodeProxy: [] };
  const errors: Record<Side, number> = { direct: 0, gateway: 0, nodeProxy: 0 };
  const gatewayProcesses = [
    ...stack.ingresses,
    ...stack.workers,
    ...(redis.pid ? [{ label: "redis", pid: redis.pid }] : []),
  ];
  const cpuMs: Record<string, number> = {};
  let rssPerStream: Record<string, number> | undefined;
  for (let round = 0; round < rounds; round++) {
    // Rotate the order every round, so no side always runs first (on a warmer or quieter machine).
    const order = sides.map((_, index) => sides[(index + round) % sides.length] as Side);
    for (const side of order) {
      const urls = targets[side];
      const before = gatewayProcesses.map((process) => cpuTimeMs(process.pid));
      const rssBefore = gatewayProcesses.map((process) => rssBytes(process.pid));
      const sampler =
        side === "gateway" && rssPerStream === undefined
          ? sampleRss(
              gatewayProcesses.map((process) => process.pid),
              20,
            )
          : undefined;
      const outcomes = await Promise.allSettled(
        Array.from({ length: concurrency }, (_, index) => streamOnce(urls[index % urls.length] as string, streamBody)),
      );
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") timings[side].push(outcome.value);
        else errors[side]++;
      }
      if (side !== "gateway") continue;
      gatewayProcesses.forEach((process, index) => {
        cpuMs[process.label] = (cpuMs[process.label] ?? 0) + cpuTimeMs(process.pid) - (before[index] as number);
      });
      if (sampler) {
        const peaks = sampler.stop();
        rssPerStream = Object.fromEntries(
          gatewayProcesses.map((process, index) => [
            process.label,
            Math.max(0, ((peaks[index] as number) - (rssBefore[index] as number)) / concurrency),
          ]),
        );
      }
    }
  }
  return finishRow("burst", concurrency, rounds, sides, timings, errors, cpuMs, rssPerStream);
}

/** Rounds of `concurrency` streams held open for settings.heldSeconds, per side, interleaved. */
async function heldRow(
  concurrency: number,
  sides: Side[],
  targets: Record<Side, string[]>,
  stack: SwitchboardStack,
): Promise<StreamingRow> {
  const timings: Record<Side, StreamTiming[]> = { direct: [], gateway: [], nodeProxy: [] };
  const errors: Record<Side, number> = { direct: 0, gateway: 0, nodeProxy: 0 };
  const gatewayProcesses = [
    ...stack.ingresses,
    ...stack.workers,
    ...(redis.pid ? [{ label: "redis", pid: redis.pid }] : []),
  ];
  const cpuMs: Record<string, number> = {};
  // One stream lasts about tokens x delay; spreading the first starts over that keeps `concurrency` in flight.
  const rampMs = settings.tokens * settings.tokenDelayMs;
  for (let round = 0; round < settings.heldRounds; round++) {
    const order = sides.map((_, index) => sides[(index + round) % sides.length] as Side);
    for (const side of order) {
      const before = gatewayProcesses.map((process) => cpuTimeMs(process.pid));
      const held = await heldStreams(targets[side], streamBody, concurrency, settings.heldSeconds, rampMs);
      timings[side].push(...held.timings);
      errors[side] += held.errors;
      if (side === "gateway")
        gatewayProcesses.forEach((process, index) => {
          cpuMs[process.label] = (cpuMs[process.label] ?? 0) + cpuTimeMs(process.pid) - (before[index] as number);
        });
    }
  }
  return finishRow("held", concurrency, settings.heldRounds, sides, timings, errors, cpuMs, undefined);
}

function finishRow(
  load: Load,
  concurrency: number,
  rounds: number,
  sides: Side[],
  timings: Record<Side, StreamTiming[]>,
  errors: Record<Side, number>,
  cpuMs: Record<string, number>,
  rssPerStream: Record<string, number> | undefined,
): StreamingRow {
  const results: Partial<Record<Side, SideResult>> = {};
  for (const side of sides) {
    const all = timings[side];
    const tokens = all.reduce((sum, timing) => sum + timing.tokens, 0);
    results[side] = {
      firstTokenMs: summarize(all.map((timing) => timing.firstTokenMs)),
      lastTokenMs: summarize(all.map((timing) => timing.lastTokenMs)),
      gapMs: summarize(all.flatMap((timing) => timing.gapsMs)),
      errors: errors[side],
      mergedTokenShare: tokens === 0 ? 0 : all.reduce((sum, timing) => sum + timing.mergedTokens, 0) / tokens,
    };
  }
  const gateway = results.gateway as SideResult;
  const direct = results.direct as SideResult;
  const requests = gateway.firstTokenMs.count + gateway.errors;
  return {
    load,
    concurrency,
    rounds,
    sides: results,
    addedFirstTokenMs: added(gateway.firstTokenMs, direct.firstTokenMs),
    addedLastTokenMs: added(gateway.lastTokenMs, direct.lastTokenMs),
    addedGapMs: added(gateway.gapMs, direct.gapMs),
    gatewayCpuMsPerRequest: Object.fromEntries(
      Object.entries(cpuMs).map(([label, ms]) => [label, ms / Math.max(1, requests)]),
    ),
    ...(rssPerStream ? { rssBytesPerStream: rssPerStream } : {}),
  };
}

/**
 * The same unmeasured warm-up before every throughput run: a layout's processes are new, and code
 * not yet optimised by the JIT would be charged to them, while the proxy and the mock have run
 * since the start.
 */
async function warmUp(urls: string[]): Promise<void> {
  if (settings.warmupSeconds > 0)
    await closedLoop(urls, completeBody, settings.throughputClients, settings.warmupSeconds);
}

async function measureThroughput(
  label: string,
  urls: string[],
  processes: BenchProcess[],
): Promise<Record<string, unknown>> {
  const all = [
    ...processes,
    ...(redis.pid && label.startsWith("switchboard") ? [{ label: "redis", pid: redis.pid }] : []),
  ];
  const before = all.map((process) => cpuTimeMs(process.pid));
  const run = await closedLoop(urls, completeBody, settings.throughputClients, settings.throughputSeconds);
  const cpuMsPerRequest = Object.fromEntries(
    all.map((process, index) => [
      process.label,
      (cpuTimeMs(process.pid) - (before[index] as number)) / Math.max(1, run.requests),
    ]),
  );
  return {
    label,
    clients: settings.throughputClients,
    requests: run.requests,
    errors: run.errors,
    seconds: run.seconds,
    requestsPerSecond: run.requestsPerSecond,
    latencyMs: summarize(run.latencyMs),
    cpuMsPerRequest,
  };
}

async function redisTimeMs(): Promise<number> {
  const { Redis } = await import("ioredis");
  const client = new Redis(redis.url);
  const [seconds, micros] = (await client.time()) as unknown as [string, string];
  client.disconnect();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

interface RoundTripReport {
  requests: number;
  tokensPerRequest: number;
  streaming: Record<string, unknown>;
  nonStreaming: Record<string, unknown>;
}

function perRequest(counts: RoundTripCounts, requests: number): Record<string, unknown> {
  const per = (record: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(record)
        .sort((a, b) => b[1] - a[1])
        .map(([key, count]) => [key, Math.round((count / requests) * 100) / 100]),
    );
  return {
    sentPerRequest: Math.round((counts.totalSent / requests) * 100) / 100,
    byConnection: per(counts.sent),
    inScriptsPerRequest: per(counts.inScripts),
  };
}

// ---- output -------------------------------------------------------------------------------------

function ms(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "-" : value.toFixed(2);
}

function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((cell, index) => Math.max(cell.length, ...rows.map((row) => (row[index] ?? "").length)));
  console.log(`\n${title}`);
  for (const row of [header, ...rows])
    console.log(row.map((cell, index) => cell.padStart(widths[index] as number)).join("  "));
}

function printStreaming(rows: StreamingRow[]): void {
  const header = [
    "load",
    "streams",
    "side",
    "n",
    "err",
    "TTFT p50",
    "p90",
    "p99",
    "TTLT p50",
    "p90",
    "p99",
    "gap p50",
    "p90",
    "p99",
    "merged",
  ];
  const lines: string[][] = [];
  for (const row of rows) {
    for (const [side, result] of Object.entries(row.sides)) {
      lines.push([
        row.load,
        String(row.concurrency),
        side,
        String(result.firstTokenMs.count),
        String(result.errors),
        ms(result.firstTokenMs.p50),
        ms(result.firstTokenMs.p90),
        ms(result.firstTokenMs.p99),
        ms(result.lastTokenMs.p50),
        ms(result.lastTokenMs.p90),
        ms(result.lastTokenMs.p99),
        ms(result.gapMs.p50),
        ms(result.gapMs.p90),
        ms(result.gapMs.p99),
        `${(result.mergedTokenShare * 100).toFixed(1)}%`,
      ]);
    }
    lines.push([
      row.load,
      String(row.concurrency),
      "ADDED",
      "",
      "",
      ms(row.addedFirstTokenMs.p50),
      ms(row.addedFirstTokenMs.p90),
      ms(row.addedFirstTokenMs.p99),
      ms(row.addedLastTokenMs.p50),
      ms(row.addedLastTokenMs.p90),
      ms(row.addedLastTokenMs.p99),
      ms(row.addedGapMs.p50),
      ms(row.addedGapMs.p90),
      ms(row.addedGapMs.p99),
      "",
    ]);
  }
  printTable(
    `Streaming (ms; ${settings.tokens} tokens ${settings.tokenDelayMs} ms apart; direct = mock, gateway = Switchboard 1 ingress x 1 worker, nodeProxy = in-process Node.js proxy)`,
    header,
    lines,
  );
  for (const row of rows) {
    const cpu = Object.entries(row.gatewayCpuMsPerRequest)
      .map(([label, value]) => `${label} ${value.toFixed(2)}`)
      .join(", ");
    const rss = row.rssBytesPerStream
      ? Object.entries(row.rssBytesPerStream)
          .map(([label, value]) => `${label} ${(value / 1024).toFixed(1)} KiB`)
          .join(", ")
      : "";
    console.log(
      `  ${row.load} @${row.concurrency}: gateway CPU ms per streamed request: ${cpu}${rss ? `; RSS per open stream: ${rss}` : ""}`,
    );
  }
}

function printRoundTrips(report: RoundTripReport): void {
  for (const kind of ["streaming", "nonStreaming"] as const) {
    const data = report[kind] as {
      sentPerRequest: number;
      byConnection: Record<string, number>;
      inScriptsPerRequest: Record<string, number>;
    };
    printTable(
      `Redis commands per ${kind === "streaming" ? "streamed" : "non-streamed"} request (${report.tokensPerRequest} tokens; ${data.sentPerRequest} round trips sent per request)`,
      ["connection", "command", "per request"],
      Object.entries(data.byConnection).map(([key, count]) => [...key.split("\t"), String(count)]),
    );
  }
}

function printThroughput(rows: Array<Record<string, unknown>>): void {
  printTable(
    `Non-streaming throughput, ${settings.throughputClients} clients, ${settings.throughputSeconds} s each`,
    [
      "target",
      "req/s",
      "err",
      "lat p50",
      "p99",
      "queue wait p50",
      "p99",
      `streams@${settings.layoutStreams} TTFT p50`,
      "p99",
      "CPU ms/request",
    ],
    rows.map((row) => {
      const latency = row.latencyMs as Summary;
      const wait = row.queueWaitMs as Summary | undefined;
      const streams = row.streams as { firstTokenMs: Summary; errors: number } | undefined;
      const cpu = Object.entries(row.cpuMsPerRequest as Record<string, number>)
        .map(([label, value]) => `${label} ${value.toFixed(3)}`)
        .join(", ");
      return [
        String(row.label),
        (row.requestsPerSecond as number).toFixed(0),
        String(row.errors),
        ms(latency.p50),
        ms(latency.p99),
        ms(wait?.p50),
        ms(wait?.p99),
        ms(streams?.firstTokenMs.p50),
        ms(streams?.firstTokenMs.p99),
        cpu,
      ];
    }),
  );
}

interface TargetRow {
  target: string;
  limit: number;
  measured: number | undefined;
  met: boolean | undefined;
}

function evaluateTargets(all: Record<string, unknown>): TargetRow[] {
  const rows = (all.streaming as StreamingRow[] | undefined) ?? [];
  const at = (concurrency: number, load: Load = "burst") =>
    rows.find((row) => row.concurrency === concurrency && row.load === load);
  const throughputRows = (all.throughput as Array<Record<string, unknown>> | undefined) ?? [];
  const best = Math.max(
    ...throughputRows
      .filter((row) => String(row.label).startsWith("switchboard"))
      .map((row) => row.requestsPerSecond as number),
  );
  const proxy = throughputRows.find((row) => row.label === "in-process Node.js proxy")?.requestsPerSecond as
    | number
    | undefined;
  const check = (target: string, limit: number, measured: number | undefined, atMost = true): TargetRow => ({
    target,
    limit,
    measured,
    met: measured === undefined || Number.isNaN(measured) ? undefined : atMost ? measured <= limit : measured >= limit,
  });
  return [
    check("added TTFT p50 @1 (ms)", 1.5, at(1)?.addedFirstTokenMs.p50),
    check("added TTFT p99 @1 (ms)", 5, at(1)?.addedFirstTokenMs.p99),
    check("burst: added TTFT p50 @50 (ms)", 3, at(50)?.addedFirstTokenMs.p50),
    check("burst: added TTFT p99 @50 (ms)", 10, at(50)?.addedFirstTokenMs.p99),
    check("burst: added TTFT p50 @200 (ms)", 10, at(200)?.addedFirstTokenMs.p50),
    check("burst: added TTLT p50 @50 (ms)", 2, at(50)?.addedLastTokenMs.p50),
    check("held: added TTFT p50 @50 (ms)", 3, at(50, "held")?.addedFirstTokenMs.p50),
    check("held: added TTFT p99 @50 (ms)", 10, at(50, "held")?.addedFirstTokenMs.p99),
    check("held: added TTFT p50 @200 (ms)", 10, at(200, "held")?.addedFirstTokenMs.p50),
    check("held: added TTLT p50 @50 (ms)", 2, at(50, "held")?.addedLastTokenMs.p50),
    check("errors @1000 streams", 0, at(1000)?.sides.gateway?.errors),
    check(
      "non-streaming req/s (best layout) >= in-process proxy",
      proxy ?? 1500,
      Number.isFinite(best) ? best : undefined,
      false,
    ),
    check("non-streaming req/s (best layout), aim", 2000, Number.isFinite(best) ? best : undefined, false),
    queueWaitFalls((all.workerScaling as ScalingRow[] | undefined) ?? []),
  ];
}

/** Queue wait p99 with one worker process saturated (the limit) against two (the measure): it must fall. */
function queueWaitFalls(rows: ScalingRow[]): TargetRow {
  const one = rows.find((row) => row.workers === 1)?.queueWaitMs.p99;
  const two = rows.find((row) => row.workers === 2)?.queueWaitMs.p99;
  const target = "queue wait p99, one worker saturated -> two (ms)";
  if (one === undefined || two === undefined || Number.isNaN(one) || Number.isNaN(two))
    return { target, limit: Number.NaN, measured: undefined, met: undefined };
  return { target, limit: one, measured: two, met: two < one };
}

function printScaling(rows: ScalingRow[]): void {
  printTable(
    "Queue wait with one worker process saturated, then two (1 ingress; WORKER_CONCURRENCY job slots per process; twice as many closed-loop clients; non-streamed answers of 20 tokens 10 ms apart)",
    ["workers", "slots each", "clients", "req/s", "err", "queue wait p50", "p90", "p99", "latency p50", "p99"],
    rows.map((row) => [
      String(row.workers),
      String(row.slotsPerWorker),
      String(row.clients),
      row.requestsPerSecond.toFixed(0),
      String(row.errors),
      ms(row.queueWaitMs.p50),
      ms(row.queueWaitMs.p90),
      ms(row.queueWaitMs.p99),
      ms(row.latencyMs.p50),
      ms(row.latencyMs.p99),
    ]),
  );
}

function printTargets(rows: TargetRow[]): void {
  printTable(
    "Targets",
    ["target", "limit", "measured", "met"],
    rows.map((row) => [
      row.target,
      Number.isNaN(row.limit) ? "-" : row.limit.toFixed(1),
      ms(row.measured),
      row.met === undefined ? "n/a" : row.met ? "yes" : "NO",
    ]),
  );
}
