// `npm run bench:capacity` (node test/bench/worker-capacity.ts): how many concurrent streams one
// ingress, one worker and one Redis carry, from their CPU per streamed answer. One ingress and one
// worker process on a private redis-server, in front of a mock that answers as a voice agent's model
// does: 60 tokens 20 ms apart (50 tokens/s, 1.2 s per answer). At each level, that many streams are
// held open for CAPACITY_SECONDS (each client starts its next stream when its last one ends) and the
// CPU each process used is divided by the answers completed and by the seconds. From that:
// - streams per core: how many such streams, always open, one core of that process carries at 100 %;
// - conversations per core: voice conversations (one 60-token answer every 8 s) per core at 100 %.
// WORKER_CONCURRENCY's default is derived from the worker's figure (README, configuration).
//   CAPACITY_LEVELS=100,300,1000 CAPACITY_SECONDS=5 npm run bench:capacity
import { loadavg } from "node:os";
import { startMock, startRedis, startSwitchboard } from "./bench-stack.ts";
import { agent, heldStreams } from "./load-client.ts";
import { cpuTimeMs } from "./process-stats.ts";
import { summarize } from "./summary.ts";

const levels = (process.env.CAPACITY_LEVELS ?? "100,300,1000").split(",").map(Number);
const seconds = Number(process.env.CAPACITY_SECONDS ?? "5");
const tokens = Number(process.env.CAPACITY_TOKENS ?? "60");
const tokenDelayMs = Number(process.env.CAPACITY_TOKEN_DELAY_MS ?? "20");
/** A folder: the ingress and the worker write V8 CPU profiles there (--cpu-prof), for the whole run. */
const cpuProfileDir = process.env.CAPACITY_CPU_PROF_DIR;
const conversationAnswerEverySeconds = 8;
const body = JSON.stringify({ model: "mock-model", stream: true, messages: [{ role: "user", content: "Hello" }] });

// The private Redis is the point (its CPU is measured): REDIS_URL is not used here.
delete process.env.REDIS_URL;
const redis = await startRedis();
const mock = await startMock(tokens, tokenDelayMs);
const stack = await startSwitchboard({
  redisUrl: redis.url,
  upstreamUrl: mock.url as string,
  ingresses: 1,
  workers: 1,
  workerConcurrency: 10_000,
  ...(cpuProfileDir ? { nodeOptions: `--cpu-prof --cpu-prof-dir=${cpuProfileDir}` } : {}),
});
const processes = [...stack.ingresses, ...stack.workers, { label: "redis", pid: redis.pid as number }];
const rows: Array<Record<string, string | number>> = [];
try {
  // Warm-up: the JIT, the pools, the heaps.
  await heldStreams(stack.urls, body, 100, 2, tokens * tokenDelayMs);
  for (const streams of levels) {
    const before = processes.map((process) => cpuTimeMs(process.pid));
    const started = performance.now();
    const held = await heldStreams(stack.urls, body, streams, seconds, tokens * tokenDelayMs);
    const elapsedSeconds = (performance.now() - started) / 1000;
    const answers = Math.max(1, held.timings.length);
    const firstToken = summarize(held.timings.map((timing) => timing.firstTokenMs));
    const gaps = summarize(held.timings.flatMap((timing) => timing.gapsMs));
    processes.forEach((process, index) => {
      const cpuMs = cpuTimeMs(process.pid) - (before[index] as number);
      const perAnswer = cpuMs / answers;
      // An always-open stream completes one answer per answer length (tokens x delay, at least).
      const answerSeconds = (tokens * tokenDelayMs) / 1000;
      rows.push({
        streams,
        process: process.label.replace(/\d+$/, ""),
        "answers/s": Math.round(answers / elapsedSeconds),
        errors: held.errors,
        "core used %": Math.round((cpuMs / 1000 / elapsedSeconds) * 100),
        "CPU ms/answer": Number(perAnswer.toFixed(3)),
        "CPU µs/token": Number(((perAnswer / tokens) * 1000).toFixed(1)),
        "streams/core": Math.round((answerSeconds * 1000) / perAnswer),
        "conversations/core": Math.round((conversationAnswerEverySeconds * 1000) / perAnswer),
        "TTFT p50": Number(firstToken.p50.toFixed(1)),
        "TTFT p99": Number(firstToken.p99.toFixed(1)),
        "gap p99": Number(gaps.p99.toFixed(1)),
      });
    });
    process.stderr.write(
      `[capacity] ${streams} streams held ${seconds} s: ${answers} answers, ${held.errors} errors${held.firstError ? ` (first: ${held.firstError})` : ""}\n`,
    );
  }
} finally {
  agent.destroy();
  await stack.stop();
  await mock.stop();
  await redis.stop();
}
console.log(
  `capacity: 1 ingress, 1 worker, private redis-server; ${tokens} tokens ${tokenDelayMs} ms apart; ${seconds} s per level; load average ${loadavg()
    .map((load) => load.toFixed(2))
    .join(" ")}`,
);
const columns = Object.keys(rows[0] ?? {});
console.log(`| ${columns.join(" | ")} |`);
console.log(`|${columns.map(() => "---").join("|")}|`);
for (const row of rows) console.log(`| ${columns.map((column) => String(row[column])).join(" | ")} |`);
