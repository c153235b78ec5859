// `npm run bench`: Switchboard side by side with the mock upstream it fronts, with a real peer
// gateway (Portkey, test/bench/portkey.ts; installed by the benchmark, left out with a message when
// it cannot be) and with an in-process Node.js proxy as reference points, on one machine, in one run.
//  1. Streaming, at each concurrency: time to first token, to last token, and the gaps between
//     tokens, p50/p90/p99, direct vs through each target; rounds interleave the targets so machine
//     noise hits them alike. The difference is the time a target adds. Two load shapes: "burst"
//     (all streams of a round start at once) and "held" (that many streams kept open for a while,
//     each client starting its next stream when its last one ends). CPU per request of each
//     target's own processes (Switchboard: ingress, worker, Redis).
//  2. Redis round trips per request and per token (MONITOR on the benchmark's private Redis).
//  3. Non-streaming requests/s at 64 clients, for each process layout (ingress x worker processes),
//     with CPU per request of every process and the BullMQ queue wait.
//  4. Cancel under load: N callers hang up at once mid-stream; from the last hang-up to the last
//     upstream connection closed, per target (test/bench/cancel-under-load.ts).
// Prints tables and writes everything to bench-results/ (BENCH_OUT names the file). Tune with the
// BENCH_* variables documented in docs/performance.md ("Running the benchmarks").
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";
import { measureCancel, type CancelRow } from "./cancel-under-load.ts";
import {
  startMock,
  startNodeProxy,
  startRedis,
  startSwitchboard,
  type BenchProcess,
  type SwitchboardStack,
} from "./bench-stack.ts";
import {
  agent,
  closedLoop,
  completeOnce,
  heldStreams,
  streamOnce,
  type StreamTiming,
  type Target,
} from "./load-client.ts";
import { portkeyVersion, startPortkey, type PortkeyGateway } from "./portkey.ts";
import { runHedgingPhase } from "./hedging.ts";
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
  /** Measure the Portkey gateway too (installed by the benchmark; `0` leaves it out). */
  portkey: process.env.BENCH_PORTKEY !== "0",
  /** Callers hanging up at once, per cancel-under-load row (empty: none). */
  cancel: list(process.env.BENCH_CANCEL ?? "50,200").map(Number),
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

type Side = "direct" | "gateway" | "nodeProxy" | "portkey";
const allSides: Side[] = ["direct", "gateway", "nodeProxy", "portkey"];
const sideNames: Record<Side, string> = {
  direct: "direct to mock",
  gateway: "Switchboard",
  nodeProxy: "in-process Node.js proxy",
  portkey: `Portkey ${portkeyVersion}`,
};
const emptyBySide = <Value>(make: () => Value): Record<Side, Value> =>
  Object.fromEntries(allSides.map((side) => [side, make()])) as Record<Side, Value>;

interface SideResult {
  firstTokenMs: Summary;
  lastTokenMs: Summary;
  gapMs: Summary;
  errors: number;
  /** Share of tokens that arrived in the same read as the one before (0 = one by one). */
  mergedTokenShare: number;
  /** The first failed stream's error, if any stream failed. */
  firstError?: string;
  /** Streams completed per second of this side's rounds (wall time). */
  streamsPerSecond: number;
  /** CPU ms per streamed request of each of this side's processes (direct: the mock). */
  cpuMsPerRequest: Record<string, number>;
  /** This side minus direct. */
  addedFirstTokenMs: ReturnType<typeof added>;
  addedLastTokenMs: ReturnType<typeof added>;
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
// Portkey drops the `mock` options from a request body, so the load shapes that use them get mocks of
// their own, whose defaults are those options: immediate answers (non-streamed throughput) and long
// answers (cancel under load). Every target of a phase uses the same mock.
const immediateMock = await startMock(settings.tokens, 0, "mock-immediate");
const cancelMock =
  settings.cancel.length > 0
    ? await startMock(200, 20, "mock-cancel", { MOCK_RECENT_LIMIT: String(Math.max(1000, ...settings.cancel)) })
    : undefined;
let portkey: PortkeyGateway | undefined;
let portkeyStatus = "left out (BENCH_PORTKEY=0)";
if (settings.portkey) {
  progress(`installing (once) and starting the Portkey gateway ${portkeyVersion}`);
  try {
    portkey = await startPortkey();
    portkeyStatus = `Portkey ${portkeyVersion} on ${portkey.url}`;
  } catch (error) {
    portkeyStatus = `NOT MEASURED: ${(error as Error).message.split("\n").slice(0, 6).join(" | ")}`;
  }
}
console.log(`Peer gateway: ${portkeyStatus}`);
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
  portkey: portkeyStatus,
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
  const targets: Record<Side, Target[]> = {
    direct: [mockUrl],
    gateway: main.urls,
    nodeProxy: nodeProxy?.url ? [nodeProxy.url] : [],
    portkey: portkey ? [{ url: portkey.url as string, headers: portkey.headersFor(mockUrl) }] : [],
  };
  const sides = allSides.filter((side) => targets[side].length > 0);
  // Warm: 50 streams held for a while on each side (the JIT optimises the per-token path of every
  // process), then sequential ones; what follows measures the steady state, not the warm-up.
  if (settings.warmupSeconds > 0)
    for (const side of sides) await heldStreams(targets[side], streamBody, 50, settings.warmupSeconds, 200);
  for (let index = 0; index < 30; index++)
    await Promise.all(sides.map((side) => streamOnce(targets[side][0] as Target, streamBody)));

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
  if (portkey) {
    const target = { url: portkey.url as string, headers: portkey.headersFor(immediateMock.url as string) };
    await warmUp([target]);
    throughput.push(await measureThroughput(sideNames.portkey, [target], [portkey, immediateMock]));
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
  // 5. Cancel under load, on a Switchboard and a proxy of their own in front of the long-answer mock.
  if (cancelMock && settings.cancel.length > 0) {
    progress(`cancel under load: ${settings.cancel.join(", ")} callers hanging up at once`);
    result.cancel = await measureCancelRows(cancelMock.url as string);
    printCancel(result.cancel as CancelRow[]);
    for (const row of result.cancel as CancelRow[])
      if (row.firstError) console.log(`  cancel ${row.streams} ${row.target}: first error: ${row.firstError}`);
  }
  result.hedging = await runHedgingPhase(redis.url);
  result.peers = peerSummary(result);
  printPeers(result.peers as PeerRow[]);
  result.targets = evaluateTargets(result);
  printTargets(result.targets as TargetRow[]);
} finally {
  result.loadAverageAtEnd = loadavg();
  mkdirSync(dirname(settings.out), { recursive: true });
  writeFileSync(settings.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nResults: ${settings.out}`);
  agent.destroy();
  await Promise.all([
    main?.stop(),
    nodeProxy?.stop(),
    portkey?.stop(),
    mock.stop(),
    immediateMock.stop(),
    cancelMock?.stop(),
  ]);
  await redis.stop();
}

/** Each side's own processes, whose CPU is charged to it (direct: the mock it measures). */
function processesOf(side: Side, stack: SwitchboardStack): Array<{ label: string; pid: number }> {
  if (side === "gateway")
    return [...stack.ingresses, ...stack.workers, ...(redis.pid ? [{ label: "redis", pid: redis.pid }] : [])];
  if (side === "nodeProxy") return nodeProxy ? [nodeProxy] : [];
  if (side === "portkey") return portkey ? [portkey] : [];
  return [mock];
}

interface SideMeter {
  cpuMs: Record<Side, Record<string, number>>;
  wallMs: Record<Side, number>;
  measure<Value>(side: Side, run: () => Promise<Value>): Promise<Value>;
}

/** CPU and wall time each side spends in its rounds, summed over the rounds. */
function sideMeter(stack: SwitchboardStack): SideMeter {
  const meter: SideMeter = {
    cpuMs: emptyBySide<Record<string, number>>(() => ({})),
    wallMs: emptyBySide(() => 0),
    async measure(side, run) {
      const processes = processesOf(side, stack);
      const before = processes.map((process) => cpuTimeMs(process.pid));
      const started = performance.now();
      const value = await run();
      meter.wallMs[side] += performance.now() - started;
      const cpu = meter.cpuMs[side];
      processes.forEach((process, index) => {
        cpu[process.label] = (cpu[process.label] ?? 0) + cpuTimeMs(process.pid) - (before[index] as number);
      });
      return value;
    },
  };
  return meter;
}

async function streamingRow(
  concurrency: number,
  sides: Side[],
  targets: Record<Side, Target[]>,
  stack: SwitchboardStack,
): Promise<StreamingRow> {
  const rounds = Math.max(settings.minRounds, Math.ceil(settings.samples / concurrency));
  const timings = emptyBySide<StreamTiming[]>(() => []);
  const errors = emptyBySide(() => 0);
  const firstErrors: Partial<Record<Side, string>> = {};
  const gatewayProcesses = processesOf("gateway", stack);
  const meter = sideMeter(stack);
  let rssPerStream: Record<string, number> | undefined;
  for (let round = 0; round < rounds; round++) {
    // Rotate the order every round, so no side always runs first (on a warmer or quieter machine).
    const order = sides.map((_, index) => sides[(index + round) % sides.length] as Side);
    for (const side of order) {
      const urls = targets[side];
      const rssBefore = gatewayProcesses.map((process) => rssBytes(process.pid));
      const sampler =
        side === "gateway" && rssPerStream === undefined
          ? sampleRss(
              gatewayProcesses.map((process) => process.pid),
              20,
            )
          : undefined;
      const outcomes = await meter.measure(side, () =>
        Promise.allSettled(
          Array.from({ length: concurrency }, (_, index) =>
            streamOnce(urls[index % urls.length] as Target, streamBody),
          ),
        ),
      );
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") timings[side].push(outcome.value);
        else {
          errors[side]++;
          firstErrors[side] ??= (outcome.reason as Error).message;
        }
      }
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
  return finishRow("burst", concurrency, rounds, sides, timings, errors, firstErrors, meter, rssPerStream);
}

/** Rounds of `concurrency` streams held open for settings.heldSeconds, per side, interleaved. */
async function heldRow(
  concurrency: number,
  sides: Side[],
  targets: Record<Side, Target[]>,
  stack: SwitchboardStack,
): Promise<StreamingRow> {
  const timings = emptyBySide<StreamTiming[]>(() => []);
  const errors = emptyBySide(() => 0);
  const firstErrors: Partial<Record<Side, string>> = {};
  const meter = sideMeter(stack);
  // One stream lasts about tokens x delay; spreading the first starts over that keeps `concurrency` in flight.
  const rampMs = settings.tokens * settings.tokenDelayMs;
  for (let round = 0; round < settings.heldRounds; round++) {
    const order = sides.map((_, index) => sides[(index + round) % sides.length] as Side);
    for (const side of order) {
      const held = await meter.measure(side, () =>
        heldStreams(targets[side], streamBody, concurrency, settings.heldSeconds, rampMs),
      );
      timings[side].push(...held.timings);
      errors[side] += held.errors;
      if (held.firstError !== undefined) firstErrors[side] ??= held.firstError;
    }
  }
  return finishRow("held", concurrency, settings.heldRounds, sides, timings, errors, firstErrors, meter, undefined);
}

function finishRow(
  load: Load,
  concurrency: number,
  rounds: number,
  sides: Side[],
  timings: Record<Side, StreamTiming[]>,
  errors: Record<Side, number>,
  firstErrors: Partial<Record<Side, string>>,
  meter: SideMeter,
  rssPerStream: Record<string, number> | undefined,
): StreamingRow {
  const results: Partial<Record<Side, SideResult>> = {};
  const direct = {
    firstTokenMs: summarize(timings.direct.map((timing) => timing.firstTokenMs)),
    lastTokenMs: summarize(timings.direct.map((timing) => timing.lastTokenMs)),
  };
  for (const side of sides) {
    const all = timings[side];
    const tokens = all.reduce((sum, timing) => sum + timing.tokens, 0);
    const firstTokenMs = summarize(all.map((timing) => timing.firstTokenMs));
    const lastTokenMs = summarize(all.map((timing) => timing.lastTokenMs));
    const requests = Math.max(1, all.length + errors[side]);
    results[side] = {
      firstTokenMs,
      lastTokenMs,
      gapMs: summarize(all.flatMap((timing) => timing.gapsMs)),
      errors: errors[side],
      ...(firstErrors[side] === undefined ? {} : { firstError: firstErrors[side] }),
      mergedTokenShare: tokens === 0 ? 0 : all.reduce((sum, timing) => sum + timing.mergedTokens, 0) / tokens,
      streamsPerSecond: all.length / (meter.wallMs[side] / 1000),
      cpuMsPerRequest: Object.fromEntries(
        Object.entries(meter.cpuMs[side]).map(([label, ms]) => [label, ms / requests]),
      ),
      addedFirstTokenMs: added(firstTokenMs, direct.firstTokenMs),
      addedLastTokenMs: added(lastTokenMs, direct.lastTokenMs),
    };
  }
  const gateway = results.gateway as SideResult;
  return {
    load,
    concurrency,
    rounds,
    sides: results,
    addedFirstTokenMs: gateway.addedFirstTokenMs,
    addedLastTokenMs: gateway.addedLastTokenMs,
    addedGapMs: added(gateway.gapMs, (results.direct as SideResult).gapMs),
    gatewayCpuMsPerRequest: gateway.cpuMsPerRequest,
    ...(rssPerStream ? { rssBytesPerStream: rssPerStream } : {}),
  };
}

/**
 * The same unmeasured warm-up before every throughput run: a layout's processes are new, and code
 * not yet optimised by the JIT would be charged to them, while the proxy and the mock have run
 * since the start.
 */
async function warmUp(urls: Target[]): Promise<void> {
  if (settings.warmupSeconds > 0)
    await closedLoop(urls, completeBody, settings.throughputClients, settings.warmupSeconds);
}

async function measureThroughput(
  label: string,
  urls: Target[],
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

/** Cancel under load for every target, each on its own processes in front of the long-answer mock. */
async function measureCancelRows(cancelMockUrl: string): Promise<CancelRow[]> {
  const stack = await startSwitchboard({
    redisUrl: redis.url,
    upstreamUrl: cancelMockUrl,
    ingresses: 1,
    workers: 1,
    workerConcurrency: settings.workerConcurrency,
  });
  const proxy = settings.baseline ? await startNodeProxy(cancelMockUrl) : undefined;
  try {
    const targets: Array<[string, Target]> = [
      [sideNames.direct, cancelMockUrl],
      [sideNames.gateway, stack.urls[0] as string],
      ...(proxy ? [[sideNames.nodeProxy, proxy.url as string] as [string, Target]] : []),
      ...(portkey
        ? [
            [sideNames.portkey, { url: portkey.url as string, headers: portkey.headersFor(cancelMockUrl) }] as [
              string,
              Target,
            ],
          ]
        : []),
    ];
    const options = {
      mockUrl: cancelMockUrl,
      body: streamBody,
      tokensBeforeHangUp: 5,
      timeoutMs: 10_000,
    };
    // Unmeasured: the new processes' first streams and cancels.
    for (const [label, target] of targets) await measureCancel(label, target, 10, options);
    const rows: CancelRow[] = [];
    for (const streams of settings.cancel)
      for (const [label, target] of targets) rows.push(await measureCancel(label, target, streams, options));
    return rows;
  } finally {
    await Promise.all([stack.stop(), proxy?.stop()]);
  }
}

interface PeerRow {
  load: string;
  target: string;
  addedFirstTokenMs?: { p50: number; p99: number };
  addedLastTokenMs?: { p50: number; p99: number };
  /** Streams or requests per second as a share of direct to the mock. */
  shareOfDirect: number;
  /** CPU ms per request summed over the target's own processes (direct: the mock). */
  cpuMsPerRequest: number;
  errors: number;
}

/** One row per target and load: what each gateway adds, and what it costs, side by side. */
function peerSummary(all: Record<string, unknown>): PeerRow[] {
  const rows: PeerRow[] = [];
  const sum = (record: Record<string, number>) => Object.values(record).reduce((total, value) => total + value, 0);
  for (const row of (all.streaming as StreamingRow[] | undefined) ?? []) {
    const direct = row.sides.direct;
    for (const side of allSides) {
      const measured = row.sides[side];
      if (!measured || !direct) continue;
      rows.push({
        load: `${row.load} ${row.concurrency} streams`,
        target: sideNames[side],
        addedFirstTokenMs: { p50: measured.addedFirstTokenMs.p50, p99: measured.addedFirstTokenMs.p99 },
        addedLastTokenMs: { p50: measured.addedLastTokenMs.p50, p99: measured.addedLastTokenMs.p99 },
        shareOfDirect: measured.streamsPerSecond / direct.streamsPerSecond,
        cpuMsPerRequest: sum(measured.cpuMsPerRequest),
        errors: measured.errors,
      });
    }
  }
  const throughputRows = (all.throughput as Array<Record<string, unknown>> | undefined) ?? [];
  const directRate = throughputRows.find((row) => row.label === "direct to mock")?.requestsPerSecond as number;
  for (const row of throughputRows) {
    const label = String(row.label);
    if (label.startsWith("switchboard") && label !== "switchboard 1 ingress x 1 worker") continue;
    const cpu = row.cpuMsPerRequest as Record<string, number>;
    // A gateway's CPU is its own processes'; the mock behind it is the upstream's.
    const own =
      label === "direct to mock"
        ? cpu
        : Object.fromEntries(Object.entries(cpu).filter(([name]) => !name.startsWith("mock")));
    rows.push({
      load: `non-streamed, ${settings.throughputClients} clients`,
      target: label === "switchboard 1 ingress x 1 worker" ? `${sideNames.gateway} (1 ingress x 1 worker)` : label,
      shareOfDirect: (row.requestsPerSecond as number) / directRate,
      cpuMsPerRequest: sum(own),
      errors: row.errors as number,
    });
  }
  return rows;
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
    `Streaming (ms; ${settings.tokens} tokens ${settings.tokenDelayMs} ms apart; direct = mock, gateway = Switchboard 1 ingress x 1 worker, nodeProxy = in-process Node.js proxy, portkey = Portkey gateway)`,
    header,
    lines,
  );
  for (const row of rows) {
    const cpu = Object.entries(row.sides)
      .map(
        ([side, result]) =>
          `${side}: ${Object.entries(result.cpuMsPerRequest)
            .map(([label, value]) => `${label} ${value.toFixed(2)}`)
            .join(" ")}`,
      )
      .join("; ");
    const rss = row.rssBytesPerStream
      ? Object.entries(row.rssBytesPerStream)
          .map(([label, value]) => `${label} ${(value / 1024).toFixed(1)} KiB`)
          .join(", ")
      : "";
    console.log(
      `  ${row.load} @${row.concurrency}: CPU ms per streamed request: ${cpu}${rss ? `; gateway RSS per open stream: ${rss}` : ""}`,
    );
    for (const [side, result] of Object.entries(row.sides))
      if (result.firstError)
        console.log(`  ${row.load} @${row.concurrency} ${side}: first error: ${result.firstError}`);
  }
}

function printPeers(rows: PeerRow[]): void {
  printTable(
    `Peer gateways, side by side (added = target minus direct, ms; share = streams or requests per second as a share of direct; CPU = ms per request over the target's own processes; ${portkeyStatus})`,
    ["load", "target", "err", "added TTFT p50", "p99", "added TTLT p50", "p99", "share of direct", "CPU ms/req"],
    rows.map((row) => [
      row.load,
      row.target,
      String(row.errors),
      ms(row.addedFirstTokenMs?.p50),
      ms(row.addedFirstTokenMs?.p99),
      ms(row.addedLastTokenMs?.p50),
      ms(row.addedLastTokenMs?.p99),
      `${(row.shareOfDirect * 100).toFixed(0)}%`,
      row.cpuMsPerRequest.toFixed(3),
    ]),
  );
}

function printCancel(rows: CancelRow[]): void {
  printTable(
    "Cancel under load (callers hang up at once after 5 tokens of a 200-token answer, 20 ms apart; ms from the last hang-up to the last / median upstream connection closed)",
    [
      "streams",
      "target",
      "err",
      "upstream calls",
      "ended before hang-up",
      "not cancelled",
      "to last close",
      "to median close",
    ],
    rows.map((row) => [
      String(row.streams),
      row.target,
      String(row.errors),
      String(row.upstreamCalls),
      String(row.endedBeforeHangUp),
      String(row.notCancelled),
      ms(row.lastHangUpToLastCloseMs),
      ms(row.lastHangUpToMedianCloseMs),
    ]),
  );
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
