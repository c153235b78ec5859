// `npm run bench:cost` (node test/bench/cost-model.ts): where a streamed request's CPU goes, split
// into what each request costs whatever its length and what each token adds, for each of
// Switchboard's processes (ingress, worker, Redis) and for the peer gateway (Portkey) measured the
// same way in the same run. Held streams (COST_STREAMS at once, each client starting its next
// stream when its last one ends) of answers of several lengths (COST_TOKENS, 10 ms apart), in
// rounds that alternate the targets; per target, process and length, the median CPU per answer over
// the rounds; then per target and process a least-squares line through those medians:
// CPU per answer = per request + per token × tokens. The ratio of the two gateways' lines says
// whether a gap is in the fixed work of a request (queueing, the upstream call's setup, the hops'
// round trips) or in the per-token relay.
//   npm run bench:cost
//   COST_TOKENS=2,20,100 COST_STREAMS=100 COST_SECONDS=4 COST_ROUNDS=3 npm run bench:cost
// (BENCH_PORTKEY=0 leaves Portkey out; BENCH_OUT names the JSON file.)
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { startMock, startRedis, startSwitchboard, type BenchProcess } from "./bench-stack.ts";
import { agent, heldStreams, type Target } from "./load-client.ts";
import { portkeyVersion, startPortkey, type PortkeyGateway } from "./portkey.ts";
import { cpuTimeMs } from "./process-stats.ts";
import { countSyscallsDuring, type SyscallCounts, syscallCounting } from "./syscall-count.ts";

const list = (text: string) => text.split(",").filter(Boolean).map(Number);
const tokenCounts = list(process.env.COST_TOKENS ?? "2,20,100");
const streams = Number(process.env.COST_STREAMS ?? "100");
const seconds = Number(process.env.COST_SECONDS ?? "4");
const rounds = Number(process.env.COST_ROUNDS ?? "3");
const tokenDelayMs = 10;
const withPortkey = process.env.BENCH_PORTKEY !== "0";
const counting =
  process.env.COST_SYSCALLS === "0" ? { available: false as const, reason: "COST_SYSCALLS=0" } : syscallCounting();
const out = process.env.BENCH_OUT ?? `bench-results/cost-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;

/** One gateway: how to reach it for an answer of n tokens, and the processes whose CPU it spends. */
interface CostTarget {
  name: string;
  target(tokens: number): Target;
  body(tokens: number): string;
  processes: BenchProcess[];
}

const messages = [{ role: "user", content: "Hello" }];
// The private Redis is measured as Switchboard's: REDIS_URL is not used here.
delete process.env.REDIS_URL;
const redis = await startRedis();
// One mock per answer length: Portkey forwards only the fields it knows, so a request cannot
// choose its length; Switchboard's requests name theirs (the bench routes pass `mock` upstream).
const mocks = new Map<number, BenchProcess>();
for (const tokens of tokenCounts) mocks.set(tokens, await startMock(tokens, tokenDelayMs, `mock-${tokens}`));
const mockUrl = (tokens: number) => (mocks.get(tokens) as BenchProcess).url as string;
const stack = await startSwitchboard({
  redisUrl: redis.url,
  upstreamUrl: mockUrl(tokenCounts[0] as number),
  ingresses: 1,
  workers: 1,
  workerConcurrency: 10_000,
});
let portkey: PortkeyGateway | undefined;
let portkeyError: string | undefined;
if (withPortkey) {
  try {
    portkey = await startPortkey();
  } catch (error) {
    portkeyError = (error as Error).message;
    console.error(`Peer gateway: NOT MEASURED: ${portkeyError}`);
  }
}

const targets: CostTarget[] = [
  {
    name: "Switchboard",
    target: () => stack.urls[0] as string,
    body: (tokens) => JSON.stringify({ model: "mock-model", stream: true, messages, mock: { tokens, tokenDelayMs } }),
    processes: [...stack.ingresses, ...stack.workers, { label: "redis", pid: redis.pid as number, stop: redis.stop }],
  },
];
if (portkey) {
  const gateway = portkey;
  targets.push({
    name: `Portkey ${portkeyVersion}`,
    target: (tokens) => ({ url: gateway.url as string, headers: gateway.headersFor(mockUrl(tokens)) }),
    body: () => JSON.stringify({ model: "mock-model", stream: true, messages }),
    processes: [gateway],
  });
}

/** CPU ms per answer, by target, process and answer length: one sample per round. */
const samples = new Map<string, number[]>();
const key = (target: string, process: string, tokens: number) => `${target}\t${process}\t${tokens}`;
/** System calls per answer, by target, process and answer length: from the one counted round. */
const syscallSamples = new Map<string, SyscallCounts>();
let errors = 0;
try {
  for (const target of targets) await heldStreams([target.target(20)], target.body(20), streams, 1, 200); // warm-up
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const tokens of tokenCounts) {
      for (const target of order) {
        const before = target.processes.map((process) => cpuTimeMs(process.pid));
        const held = await heldStreams(
          [target.target(tokens)],
          target.body(tokens),
          streams,
          seconds,
          tokens * tokenDelayMs,
        );
        errors += held.errors;
        const answers = Math.max(1, held.timings.length);
        target.processes.forEach((process, index) => {
          const perAnswer = (cpuTimeMs(process.pid) - (before[index] as number)) / answers;
          const name = process.label.replace(/\d+$/, "");
          const entry = samples.get(key(target.name, name, tokens)) ?? [];
          entry.push(perAnswer);
          samples.set(key(target.name, name, tokens), entry);
        });
      }
    }
    process.stderr.write(`[cost] round ${round + 1} of ${rounds} done\n`);
  }
  if (counting.available) {
    for (const tokens of tokenCounts)
      for (const target of targets) {
        const { result: held, counts } = await countSyscallsDuring(
          target.processes.map((process) => process.pid),
          () => heldStreams([target.target(tokens)], target.body(tokens), streams, seconds, tokens * tokenDelayMs),
        );
        errors += held.errors;
        const answers = Math.max(1, held.timings.length);
        target.processes.forEach((process, index) => {
          const name = process.label.replace(/\d+$/, "");
          const perAnswer = Object.fromEntries(
            Object.entries(counts[index] as SyscallCounts).map(([kind, count]) => [kind, count / answers]),
          ) as SyscallCounts;
          // Processes of one kind (several workers, say) count together.
          syscallSamples.set(
            key(target.name, name, tokens),
            addCounts(syscallSamples.get(key(target.name, name, tokens)), perAnswer),
          );
        });
      }
    process.stderr.write("[cost] system calls counted\n");
  }
} finally {
  agent.destroy();
  await portkey?.stop();
  await stack.stop();
  for (const mock of mocks.values()) await mock.stop();
  await redis.stop();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Least squares through (tokens, cost per answer): the cost per request and per token. */
function fitLine(points: Array<[number, number]>): { perRequest: number; perToken: number } {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  const slope = variance === 0 ? 0 : covariance / variance;
  return { perRequest: meanY - slope * meanX, perToken: slope };
}

/** The line through CPU ms per answer: ms per request and µs per token. */
function cpuLine(perAnswerMs: Record<number, number>): { perRequestMs: number; perTokenUs: number } {
  const line = fitLine(tokenCounts.map((t) => [t, perAnswerMs[t] as number]));
  return { perRequestMs: line.perRequest, perTokenUs: line.perToken * 1000 };
}

/** System calls per answer at each length, by kind, and the line through their totals. */
interface SyscallFigures {
  perAnswer: Record<number, SyscallCounts>;
  perRequest: number;
  perToken: number;
}

interface Row {
  target: string;
  process: string;
  /** Median CPU ms per answer at each length. */
  perAnswerMs: Record<number, number>;
  perRequestMs: number;
  perTokenUs: number;
  /** Only where system calls were counted. */
  syscalls?: SyscallFigures;
}

function addCounts(into: SyscallCounts | undefined, counts: SyscallCounts): SyscallCounts {
  if (!into) return { ...counts };
  for (const kind of Object.keys(counts) as Array<keyof SyscallCounts>) into[kind] += counts[kind];
  return into;
}

function syscallFigures(perAnswer: Record<number, SyscallCounts>): SyscallFigures | undefined {
  if (tokenCounts.some((tokens) => perAnswer[tokens] === undefined)) return undefined;
  return { perAnswer, ...fitLine(tokenCounts.map((t) => [t, (perAnswer[t] as SyscallCounts).all])) };
}

const rows: Row[] = [];
for (const target of targets) {
  const names = [...new Set(target.processes.map((process) => process.label.replace(/\d+$/, "")))];
  const totals = new Map<number, number>();
  const syscallTotals: Record<number, SyscallCounts> = {};
  for (const name of names) {
    const perAnswerMs: Record<number, number> = {};
    const syscallsPerAnswer: Record<number, SyscallCounts> = {};
    for (const tokens of tokenCounts) {
      perAnswerMs[tokens] = median(samples.get(key(target.name, name, tokens)) ?? [Number.NaN]);
      totals.set(tokens, (totals.get(tokens) ?? 0) + perAnswerMs[tokens]);
      const counted = syscallSamples.get(key(target.name, name, tokens));
      if (counted) {
        syscallsPerAnswer[tokens] = counted;
        syscallTotals[tokens] = addCounts(syscallTotals[tokens], counted);
      }
    }
    const syscalls = syscallFigures(syscallsPerAnswer);
    rows.push({
      target: target.name,
      process: name,
      perAnswerMs,
      ...cpuLine(perAnswerMs),
      ...(syscalls ? { syscalls } : {}),
    });
  }
  if (names.length > 1) {
    const perAnswerMs = Object.fromEntries(totals) as Record<number, number>;
    const syscalls = syscallFigures(syscallTotals);
    rows.push({
      target: target.name,
      process: "all",
      perAnswerMs,
      ...cpuLine(perAnswerMs),
      ...(syscalls ? { syscalls } : {}),
    });
  }
}

const load = loadavg()
  .map((value) => value.toFixed(2))
  .join(" ");
console.log(
  `cost per request and per token: ${streams} streams held, ${seconds} s per row, ${rounds} rounds, answers of ${tokenCounts.join(", ")} tokens ${tokenDelayMs} ms apart; ${errors} errors; load average at the end ${load}`,
);
console.log(
  `| target | process | ${tokenCounts.map((t) => `CPU ms/answer @${t}`).join(" | ")} | per request, ms | per token, µs |`,
);
console.log(`|---|---|${tokenCounts.map(() => "---").join("|")}|---|---|`);
for (const row of rows)
  console.log(
    `| ${row.target} | ${row.process} | ${tokenCounts.map((t) => (row.perAnswerMs[t] as number).toFixed(3)).join(" | ")} | ${row.perRequestMs.toFixed(3)} | ${row.perTokenUs.toFixed(1)} |`,
  );
const ours = rows.find((row) => row.target === "Switchboard" && row.process === "all");
const peer = rows.find((row) => row.target.startsWith("Portkey"));
if (ours && peer)
  console.log(
    `Switchboard / Portkey: per request ${(ours.perRequestMs / peer.perRequestMs).toFixed(2)} ×, per token ${(ours.perTokenUs / peer.perTokenUs).toFixed(2)} ×`,
  );
if (counting.available) {
  const kinds = (counts: SyscallCounts) =>
    `${counts.read.toFixed(1)} / ${counts.write.toFixed(1)} / ${counts.wait.toFixed(1)} / ${counts.futex.toFixed(1)}`;
  const at = tokenCounts.includes(20) ? 20 : (tokenCounts[0] as number);
  console.log(
    `\nsystem calls per answer (one counted round): | target | process | ${tokenCounts.map((t) => `@${t}`).join(" | ")} | per request | per token | @${at}: reads / writes / waits / futex |`,
  );
  console.log(`|---|---|${tokenCounts.map(() => "---").join("|")}|---|---|---|`);
  for (const row of rows)
    if (row.syscalls)
      console.log(
        `| ${row.target} | ${row.process} | ${tokenCounts.map((t) => (row.syscalls?.perAnswer[t] as SyscallCounts).all.toFixed(1)).join(" | ")} | ${row.syscalls.perRequest.toFixed(1)} | ${row.syscalls.perToken.toFixed(2)} | ${kinds(row.syscalls.perAnswer[at] as SyscallCounts)} |`,
      );
} else console.log(`\nsystem calls: not counted (${counting.reason})`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), settings: { tokenCounts, streams, seconds, rounds, tokenDelayMs }, syscallsCounted: counting.available ? true : counting.reason, errors, loadAverageAtEnd: load, ...(portkeyError ? { portkeyError } : {}), rows }, null, 2)}\n`,
);
console.log(`results: ${out}`);
