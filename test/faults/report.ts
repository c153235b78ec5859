// `npm run faults`: runs every fault scenario at full size against real processes, a private
// redis-server and the mock upstream, and prints the figures against their targets.
// Tests (test/faults/*.test.ts) assert the behaviour at a smaller size; timing lives here.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { measureActiveCancellation, measureQueuedCancellation } from "./scenarios/cancellation.ts";
import { measureGracefulShutdown } from "./scenarios/graceful-shutdown.ts";
import { measureHostileInput } from "./scenarios/hostile-input.ts";
import { measureHostileUnderLoad } from "./scenarios/hostile-under-load.ts";
import { measureFairness, measureUpstreamLeaks, measureValuesFlood } from "./scenarios/hostile-world.ts";
import { measureIngressKill } from "./scenarios/ingress-kill.ts";
import { measureKeyLimits, measureOverload } from "./scenarios/overload.ts";
import { measureRedisOutage } from "./scenarios/redis-outage.ts";
import { measureRollingRestart } from "./scenarios/rolling-restart.ts";
import { failureTimeouts, measureUpstreamFailures } from "./scenarios/upstream-failures.ts";
import { measureWorkerKill } from "./scenarios/worker-kill.ts";

interface Row {
  item: string;
  figure: string;
  measured: string;
  target: string;
  met: boolean | undefined;
}

const rows: Row[] = [];
const raw: Record<string, unknown> = {};
const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)} ms` : "n/a");
const row = (item: string, figure: string, measured: string, target = "", met: boolean | undefined = undefined) => {
  rows.push({ item, figure, measured, target, met });
  process.stderr.write(`  ${item} ${figure}: ${measured}${target ? ` (target ${target})` : ""}\n`);
};
const only = process.env.FAULTS_ONLY?.split(",");
const run = async (item: string, scenario: () => Promise<void>) => {
  if (only && !only.includes(item)) return;
  process.stderr.write(`scenario ${item}…\n`);
  try {
    await scenario();
  } catch (error) {
    row(item, "scenario failed", (error as Error).message.split("\n")[0] ?? "error", "", false);
  }
};

await run("1", async () => {
  // Two cancel points (docs/architecture.md, "Cancellation"): from each stream's own first token
  // (many cancels land in the start-up burst), and once all streams are streaming.
  for (const [streams, point] of [
    [200, "from-start"],
    [200, "all-streaming"],
    [50, "from-start"],
  ] as const) {
    const figures = await measureActiveCancellation(streams, point);
    const label = `${streams}, ${point}`;
    raw[`cancellation-${streams}-${point}`] = figures;
    row(
      "1",
      `disconnect → upstream closed, ${streams} streams cancelled ${point === "from-start" ? "1–100 tokens into each" : "1–100 tokens after all are streaming"}, p50 / p99 / max`,
      `${ms(figures.closeLatency.p50)} / ${ms(figures.closeLatency.p99)} / ${ms(figures.closeLatency.max)}`,
      "p99 ≤ 50 ms",
      figures.closeLatency.p99 <= 50,
    );
    row(
      "1",
      `  cancelled streams whose upstream call stayed open (${label})`,
      String(figures.notClosed + figures.upstreamLeftOpen),
      "0",
      figures.notClosed + figures.upstreamLeftOpen === 0,
    );
    row(
      "1",
      `  cancelled streams whose upstream answer had ended before the cancel arrived (${label})`,
      String(figures.finishedFirst),
    );
    row(
      "1",
      `  outcomes at the client; first request → every stream streaming (${label})`,
      `${JSON.stringify(figures.outcomes)}; ${ms(figures.allStreamingAfterMs)}`,
    );
    row("1", `  event-loop delay p99 of the measuring process (clients) (${label})`, ms(figures.harnessLoopDelayP99));
  }
  const queued = await measureQueuedCancellation(50);
  raw.queuedCancellation = queued;
  row(
    "1",
    "queued requests cancelled before start: upstream calls",
    `${queued.upstreamCalls} of ${queued.queued}`,
    "0",
    queued.upstreamCalls === 0,
  );
});

await run("2", async () => {
  const figures = await measureIngressKill(50);
  raw.ingressKill = figures;
  row(
    "2",
    "ingress SIGKILL, 50 streams: kill → every upstream call aborted (max)",
    ms(figures.abortLatency.max),
    "≤ 1000 ms",
    figures.abortLatency.max <= 1000 && figures.abortLatency.n === 50,
  );
  row(
    "2",
    "  streaming / waiting-for-first-token, p50",
    `${ms(figures.streamingAbortLatency.p50)} / ${ms(figures.waitingAbortLatency.p50)}`,
  );
  row("2", "  upstream calls still open after 5 s", String(figures.stillOpen), "0", figures.stillOpen === 0);
});

await run("3", async () => {
  const figures = await measureWorkerKill(50);
  raw.workerKill = figures;
  const completed = figures.beforeFirstToken.completed ?? 0;
  row(
    "3",
    "worker SIGKILL, 25 before first token: completed on another worker",
    `${completed} of 25 (${JSON.stringify(figures.beforeFirstToken)})`,
    "25",
    completed === 25,
  );
  row(
    "3",
    "  kill → upstream call restarted elsewhere, p50 / max",
    `${ms(figures.takeover.p50)} / ${ms(figures.takeover.max)}`,
    "≤ 2000 ms added",
    figures.takeover.max <= 2000,
  );
  row(
    "3",
    "  first call start → restarted call start (includes time before the kill)",
    `${ms(figures.addedDelay.p50)} / ${ms(figures.addedDelay.max)}`,
  );
  const errors = figures.afterFirstToken["stream-error:upstream_interrupted"] ?? 0;
  row(
    "3",
    "worker SIGKILL, 25 streaming: explicit error",
    `${errors} of 25 (${JSON.stringify(figures.afterFirstToken)})`,
    "25",
    errors === 25,
  );
  row(
    "3",
    "  kill → explicit error at the client, p50 / max",
    `${ms(figures.errorLatency.p50)} / ${ms(figures.errorLatency.max)}`,
    "≤ 2000 ms",
    figures.errorLatency.max <= 2000,
  );
  row("3", "  hung", String(figures.hung), "0", figures.hung === 0);
});

await run("4", async () => {
  for (const mode of ["killed", "hung"] as const) {
    const figures = await measureRedisOutage({ ms: 5000 }, 30, mode);
    raw[`redisOutage-${mode}`] = figures;
    row(
      "4",
      `Redis ${mode} (${mode === "killed" ? "SIGKILL, restarted empty" : "SIGSTOP, SIGCONT"}) ${ms(figures.outageMs)} under load (30 clients): requests / outcomes`,
      `${figures.requests}: ${JSON.stringify(figures.outcomes)}`,
    );
    row(
      "4",
      "  ended neither completed nor with an explicit error",
      String(figures.unexplained),
      "0",
      figures.unexplained === 0,
    );
    row(
      "4",
      "  outage start → first 503 (a new request sent right after)",
      ms(figures.firstRejection),
      "≤ 1000 ms",
      figures.firstRejection <= 1000,
    );
    row(
      "4",
      "  requests in flight at the outage start → their explicit end, p50 / max",
      `${ms(figures.inFlightEnded.p50)} / ${ms(figures.inFlightEnded.max)}`,
      "explicit, < deadline",
    );
    row(
      "4",
      "  503 answer time during the outage, p50 / p99",
      `${ms(figures.rejectionLatency.p50)} / ${ms(figures.rejectionLatency.p99)}`,
      "≤ 1000 ms",
      figures.rejectionLatency.p99 <= 1000,
    );
    row("4", "  outage start → /ready false", ms(figures.readyFalseAfter));
    row(
      "4",
      "  Redis back → first completed request",
      ms(figures.recoveredAfter),
      "recovers",
      Number.isFinite(figures.recoveredAfter),
    );
    row(
      "4",
      "  gateway processes restarted",
      String(figures.processesRestarted),
      "0",
      figures.processesRestarted === 0,
    );
  }
});

await run("5", async () => {
  const figures = await measureUpstreamFailures(5);
  raw.upstreamFailures = figures;
  for (const entry of figures) {
    row(
      "5",
      entry.name,
      `${JSON.stringify(entry.outcomes)}, ${entry.calls.join("/")} upstream calls, ${ms(entry.duration.p50)} p50`,
      entry.expected,
      entry.asExpected,
    );
  }
  row(
    "5",
    "  (settings)",
    Object.entries(failureTimeouts)
      .map(([key, value]) => `${key}=${value}`)
      .join(" "),
  );
});

await run("6", async () => {
  const figures = await measureOverload(5000);
  raw.overload = figures;
  row(
    "6",
    `offered ${figures.offeredPerSecond}/s against capacity ${figures.capacityPerSecond}/s: outcomes`,
    `${figures.requests}: ${JSON.stringify(figures.outcomes)}`,
  );
  row(
    "6",
    "  rejection answer time, p50 / p99",
    `${ms(figures.rejectionLatency.p50)} / ${ms(figures.rejectionLatency.p99)}`,
    "fast (p99 ≤ 100 ms)",
    figures.rejectionLatency.p99 <= 100,
  );
  row(
    "6",
    "  rejections without Retry-After",
    String(figures.rejectionsWithoutRetryAfter),
    "0",
    figures.rejectionsWithoutRetryAfter === 0,
  );
  row(
    "6",
    "  accepted: time to complete p50 / p99; late",
    `${ms(figures.acceptedDuration.p50)} / ${ms(figures.acceptedDuration.p99)}; ${figures.acceptedLate} late`,
    "0 late",
    figures.acceptedLate === 0,
  );
  row(
    "6",
    "  ingress RSS before / peak / after",
    `${figures.ingressMemoryMb.before.toFixed(0)} / ${figures.ingressMemoryMb.peak.toFixed(0)} / ${figures.ingressMemoryMb.after.toFixed(0)} MB`,
    "bounded",
  );
  row(
    "6",
    "  worker RSS before / peak / after",
    `${figures.workerMemoryMb.before.toFixed(0)} / ${figures.workerMemoryMb.peak.toFixed(0)} / ${figures.workerMemoryMb.after.toFixed(0)} MB`,
    "bounded",
  );
  const limits = await measureKeyLimits(5, 30, 60);
  raw.keyLimits = limits;
  row(
    "6",
    "per-key limit 5 streams, 15 at once over 2 ingresses: accepted / 429",
    `${limits.concurrentAccepted} / ${limits.concurrentRejected}`,
    "5 / 10",
    limits.concurrentAccepted === 5 && limits.concurrentRejected === 10,
  );
  row(
    "6",
    "per-key limit 30/min, 60 in a burst over 2 ingresses: accepted / 429",
    `${limits.burstAccepted} / ${limits.burstRejected}`,
    "30 / 30 (±1 refill)",
    Math.abs(limits.burstAccepted - 30) <= 1,
  );
});

await run("7", async () => {
  const figures = await measureRollingRestart(200);
  raw.rollingRestart = figures;
  row(
    "7",
    "rolling SIGTERM of 2 workers + 2 ingresses, 200 streams: requests / outcomes",
    `${figures.requests}: ${JSON.stringify(figures.outcomes)} in ${ms(figures.restartMs)}`,
  );
  row("7", "  lost or hung", String(figures.lostOrHung), "0", figures.lostOrHung === 0);
  row("7", "  refused by a stopping ingress before any answer, retried elsewhere", String(figures.retriedElsewhere));
  row(
    "7",
    "  time to first token p50 / p99 during the roll",
    `${ms(figures.timeToFirstToken.p50)} / ${ms(figures.timeToFirstToken.p99)}`,
  );
  const past = await measureGracefulShutdown(10);
  raw.gracefulShutdown = past;
  row(
    "7",
    "worker SIGTERM past its grace: 10 jobs with no token yet",
    JSON.stringify(past.workerHandedBack),
    "handed back, completed elsewhere",
    past.workerHandedBack["completed (3 tokens)"] === 10,
  );
  row(
    "7",
    "  10 jobs streaming",
    JSON.stringify(past.workerStreaming),
    "explicit error",
    past.workerStreaming["stream-error:shutting_down"] === 10,
  );
  row(
    "7",
    "ingress SIGTERM past its grace: 10 open streams",
    JSON.stringify(past.ingressStreaming),
    "explicit error",
    past.ingressStreaming["stream-error:shutting_down"] === 10,
  );
  row(
    "7",
    "  new request / GET /ready while stopping",
    `${past.ingressNewRequest} / ${past.ingressReadyStatus}`,
    "503 shutting_down / 503",
    past.ingressNewRequest === "http-error:shutting_down" && past.ingressReadyStatus === 503,
  );
});

await run("8", async () => {
  const figures = await measureHostileInput(10_000, 20);
  raw.hostileInput = figures;
  row(
    "8",
    "hostile bodies: answered 4xx",
    `${figures.bodies - figures.not4xx} of ${figures.bodies} (${JSON.stringify(figures.statuses)})`,
    "all",
    figures.not4xx === 0,
  );
  row("8", "  kinds", JSON.stringify(figures.byKind));
  row(
    "8",
    "  slow senders (1 byte / 200 ms)",
    JSON.stringify(figures.slowSenderStatuses),
    "4xx",
    Object.keys(figures.slowSenderStatuses).every((status) => status.startsWith("4")),
  );
  row("8", "  processes crashed", String(figures.crashes), "0", figures.crashes === 0);
  row(
    "8",
    "  ingress RSS after warm-up / half / all",
    `${figures.ingressMemoryMb.before.toFixed(0)} / ${figures.ingressMemoryMb.half.toFixed(0)} / ${figures.ingressMemoryMb.after.toFixed(0)} MB`,
    "≈ before",
  );
  row(
    "8",
    "  worker RSS after warm-up / half / all",
    `${figures.workerMemoryMb.before.toFixed(0)} / ${figures.workerMemoryMb.half.toFixed(0)} / ${figures.workerMemoryMb.after.toFixed(0)} MB`,
    "≈ before",
  );
});

await run("9", async () => {
  const flood = await measureValuesFlood(3, 4);
  raw.valuesFlood = flood;
  row(
    "9",
    `bodies of ${flood.bodyMb.toFixed(1)} MB holding 3.3 million empty objects, 4 at once: answers`,
    JSON.stringify(flood.statuses),
    "all 413",
    flood.statuses["413"] === flood.bodies,
  );
  row(
    "9",
    "  time to the 413, p50 / p99 / max",
    `${ms(flood.answerMs.p50)} / ${ms(flood.answerMs.p99)} / ${ms(flood.answerMs.max)}`,
  );
  row(
    "9",
    "  ingress peak RSS before / after",
    `${flood.ingressPeakMb.before.toFixed(0)} / ${flood.ingressPeakMb.after.toFixed(0)} MB`,
    "≪ 200 MB per body",
  );
  const leaks = await measureUpstreamLeaks(10);
  raw.upstreamLeaks = leaks;
  row(
    "9",
    "upstream errors quoting a key, an org id and a credentialed URL: answers holding any of it",
    `${leaks.leakedToClient} of ${leaks.failures}`,
    "0",
    leaks.leakedToClient === 0,
  );
  row(
    "9",
    "  largest Retry-After told (upstream: 100000 s)",
    `${leaks.maxRetryAfterSeconds} s`,
    "≤ 60 s",
    leaks.maxRetryAfterSeconds <= 60,
  );
  row(
    "9",
    "  worker log lines with the upstream's text / still holding a secret",
    `${leaks.loggedLines} / ${leaks.secretsInLog}`,
    "all failures / 0",
    leaks.loggedLines >= leaks.failures && leaks.secretsInLog === 0,
  );
  row(
    "9",
    "  finish_reason injecting events: [DONE] per stream, injected events",
    `${JSON.stringify([...new Set(leaks.doneCounts)])} / ${leaks.injectedEvents}`,
    "[1] / 0",
    leaks.doneCounts.every((count) => count === 1) && leaks.injectedEvents === 0,
  );
  const fair = await measureFairness(8, 40, 20);
  raw.fairness = fair;
  row(
    "9",
    `key A floods ${fair.slots} worker slots with ${fair.floodStreams} streams of 3 s: accepted / 429`,
    `${fair.floodAccepted} / ${fair.floodRefused}`,
    `${fair.slots / 2} / rest`,
    fair.floodAccepted === fair.slots / 2,
  );
  row(
    "9",
    "  key B meanwhile: answers, first token p50 / p99 / max",
    `${JSON.stringify(fair.otherStatuses)}, ${ms(fair.otherFirstTokenMs.p50)} / ${ms(fair.otherFirstTokenMs.p99)} / ${ms(fair.otherFirstTokenMs.max)}`,
    "all 200, max < 1 s",
    fair.otherStatuses["200"] === fair.otherRequests && fair.otherFirstTokenMs.max < 1000,
  );
});

await run("10", async () => {
  const figures = await measureHostileUnderLoad(50, 3);
  raw.hostileUnderLoad = figures;
  const quietDone = figures.quiet.outcomes.done ?? 0;
  const attackedDone = figures.attacked.outcomes.done ?? 0;
  const total = figures.streams * 3;
  row(
    "10",
    `${figures.streams} normal streams (3 rounds) while every hostile kind is sent, each every 250 ms: completed, quiet / attacked`,
    `${quietDone} / ${attackedDone} of ${total} (${JSON.stringify(figures.attacked.outcomes)})`,
    "all",
    quietDone === total && attackedDone === total,
  );
  const quiet = figures.quiet.firstTokenMs;
  const attacked = figures.attacked.firstTokenMs;
  row(
    "10",
    "  normal first token p50 / p99, quiet → attacked (upstream's own first token: 200 ms)",
    `${ms(quiet.p50)} / ${ms(quiet.p99)} → ${ms(attacked.p50)} / ${ms(attacked.p99)}`,
    "attacked p99 ≤ 2 × quiet p99",
    attacked.p99 <= 2 * quiet.p99,
  );
  for (const [kind, answers] of Object.entries(figures.attack))
    row("10", `  hostile: ${kind}`, JSON.stringify(answers));
  row(
    "10",
    "  peak RSS ingress / worker",
    `${figures.peakRssMb.ingress.toFixed(0)} / ${figures.peakRssMb.worker.toFixed(0)} MB`,
    "< 300 MB each",
    figures.peakRssMb.ingress < 300 && figures.peakRssMb.worker < 300,
  );
  row("10", "  processes died", String(figures.crashes), "0", figures.crashes === 0);
  row(
    "10",
    "  keys left in Redis without an expiry (other than the queue's own)",
    figures.keysWithoutExpiry.length === 0 ? "0" : figures.keysWithoutExpiry.slice(0, 5).join(", "),
    "0",
    figures.keysWithoutExpiry.length === 0,
  );
});

const lines = [
  `Fault injection — ${new Date().toISOString()}, ${cpus().length} CPUs, Node ${process.version}`,
  "",
  "| # | figure | measured | target | met |",
  "|---|---|---|---|---|",
  ...rows.map(
    (entry) =>
      `| ${entry.item} | ${entry.figure} | ${entry.measured} | ${entry.target} | ${entry.met === undefined ? "" : entry.met ? "yes" : "**no**"} |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);
mkdirSync("bench-results", { recursive: true });
writeFileSync("bench-results/faults.json", JSON.stringify({ at: new Date().toISOString(), rows, raw }, null, 2));
process.exit(0);
