// `npm run bench:hedging` (and a phase of `npm run bench`): time to first token with and without a
// hedged first token, against an upstream whose first-token time has a heavy tail: each call,
// independently, sends its first token after 100 ms, or 10 % of the time 2 s later. One ingress and
// one worker; the same requests go to a route without `hedge` and to one that hedges on a second
// target (the same upstream, its own calls) after HEDGING_AFTER_MS with a budget of
// HEDGING_BUDGET_PERCENT. Reports TTFT p50/p95/p99 at the client and the share of requests hedged
// (calls beyond one per request, counted at the upstream).
//   HEDGING_REQUESTS=300 HEDGING_CONCURRENCY=20 npm run bench:hedging
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startService } from "../support/service-process.ts";
import { startRedis } from "./bench-stack.ts";
import { agent, streamOnce } from "./load-client.ts";

interface HedgingSide {
  requests: number;
  errors: number;
  /** Client-side time to the first content token, ms. */
  firstTokenMs: { p50: number; p95: number; p99: number; max: number };
  /** Share of requests that got a second (hedge) call. */
  hedgedShare: number;
}

export interface HedgingResult {
  requests: number;
  concurrency: number;
  hedgeAfterMs: number;
  budgetPercent: number;
  tail: { fastMs: number; slowMs: number; slowShare: number };
  withoutHedging: HedgingSide;
  withHedging: HedgingSide;
  loadAverage: number[];
}

const fastMs = 100;
const slowMs = 2100;
const slowShare = 0.1;
const tokens = 10;
const tokenDelayMs = 10;

/** An OpenAI-compatible streaming upstream whose first-token time has a heavy tail; counts its calls. */
function startTailUpstream(): Promise<{ server: Server; url: string; calls: () => number }> {
  let calls = 0;
  const server = createServer((request, response) => {
    request.resume();
    calls++;
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "tail", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    response.writeHead(200, { "content-type": "text/event-stream" });
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const next = () => {
      if (sent < tokens) {
        response.write(chunk(sent === 0 ? { role: "assistant", content: "word " } : { content: "word " }));
        sent++;
        timer = setTimeout(next, tokenDelayMs);
        return;
      }
      response.end(`${chunk({}, "stop")}data: [DONE]\n\n`);
    };
    timer = setTimeout(next, Math.random() < slowShare ? slowMs : fastMs);
    response.on("close", () => clearTimeout(timer));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, calls: () => calls }),
    ),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function measureSide(url: string, model: string, requests: number, concurrency: number, calls: () => number) {
  const body = JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "Hi" }] });
  const firstTokens: number[] = [];
  let errors = 0;
  let next = 0;
  const callsBefore = calls();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        try {
          firstTokens.push((await streamOnce(url, body)).firstTokenMs);
        } catch {
          errors++;
        }
      }
    }),
  );
  const sorted = firstTokens.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value);
  return {
    requests,
    errors,
    firstTokenMs: {
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1] ?? Number.NaN),
    },
    hedgedShare: Number(((calls() - callsBefore - requests) / requests).toFixed(3)),
  } satisfies HedgingSide;
}

async function measureHedging(
  options: {
    redisUrl?: string;
    requests?: number;
    concurrency?: number;
    hedgeAfterMs?: number;
    budgetPercent?: number;
  } = {},
): Promise<HedgingResult> {
  const requests = options.requests ?? 300;
  const concurrency = options.concurrency ?? 20;
  const hedgeAfterMs = options.hedgeAfterMs ?? 300;
  const budgetPercent = options.budgetPercent ?? 20;
  const redis = options.redisUrl ? undefined : await startRedis();
  const redisUrl = options.redisUrl ?? (redis?.url as string);
  const tail = await startTailUpstream();
  const routesFile = join(mkdtempSync(join(tmpdir(), "switchboard-bench-")), "routes.json");
  const upstream = { type: "openai", baseUrl: tail.url, apiKeyEnv: "MOCK_API_KEY" };
  writeFileSync(
    routesFile,
    JSON.stringify({
      providers: { a: upstream, b: upstream },
      routes: {
        plain: { provider: "a" },
        hedged: { provider: "a", fallbacks: [{ provider: "b" }], hedge: { afterMs: hedgeAfterMs, budgetPercent } },
      },
    }),
  );
  const env = {
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `sbbench-hedging-${process.pid}`,
    ROUTES_FILE: routesFile,
    MOCK_API_KEY: "unused",
    LOG_LEVEL: "warn",
  };
  const worker = await startService("worker", { ...env, LOG_LEVEL: "info" });
  const ingress = await startService("ingress", { ...env, LOG_LEVEL: "info", PORT: "0", HOST: "127.0.0.1" });
  try {
    const url = String(ingress.readyLine.url);
    // Warm both paths (connections, JIT) without measuring.
    await measureSide(url, "plain", 40, concurrency, tail.calls);
    await measureSide(url, "hedged", 40, concurrency, tail.calls);
    const withoutHedging = await measureSide(url, "plain", requests, concurrency, tail.calls);
    const withHedging = await measureSide(url, "hedged", requests, concurrency, tail.calls);
    return {
      requests,
      concurrency,
      hedgeAfterMs,
      budgetPercent,
      tail: { fastMs, slowMs, slowShare },
      withoutHedging,
      withHedging,
      loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
    };
  } finally {
    await Promise.all([ingress.stop(), worker.stop()]);
    tail.server.closeAllConnections();
    tail.server.close();
    await redis?.stop();
  }
}

function printHedging(result: HedgingResult): void {
  console.log(
    `\nHedged first token: ${result.requests} requests, ${result.concurrency} at a time; first token after ${result.tail.fastMs} ms, ${result.tail.slowShare * 100} % after ${result.tail.slowMs} ms; hedge after ${result.hedgeAfterMs} ms, budget ${result.budgetPercent} %; load average ${result.loadAverage.join(" ")}`,
  );
  console.log("| route | TTFT p50 | p95 | p99 | max | hedged | errors |");
  console.log("|---|---|---|---|---|---|---|");
  for (const [name, side] of [
    ["without hedging", result.withoutHedging],
    ["with hedging", result.withHedging],
  ] as const)
    console.log(
      `| ${name} | ${side.firstTokenMs.p50} ms | ${side.firstTokenMs.p95} ms | ${side.firstTokenMs.p99} ms | ${side.firstTokenMs.max} ms | ${(side.hedgedShare * 100).toFixed(1)} % | ${side.errors} |`,
    );
}

/** The phase of `npm run bench`: measured on its Redis with the defaults, printed, returned for its results file. */
export async function runHedgingPhase(redisUrl: string): Promise<HedgingResult> {
  process.stderr.write("[bench] hedged first token against a heavy-tailed upstream\n");
  const result = await measureHedging({ redisUrl });
  printHedging(result);
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    printHedging(
      await measureHedging({
        requests: Number(process.env.HEDGING_REQUESTS ?? "300"),
        concurrency: Number(process.env.HEDGING_CONCURRENCY ?? "20"),
        hedgeAfterMs: Number(process.env.HEDGING_AFTER_MS ?? "300"),
        budgetPercent: Number(process.env.HEDGING_BUDGET_PERCENT ?? "20"),
      }),
    );
  } finally {
    agent.destroy();
  }
}
