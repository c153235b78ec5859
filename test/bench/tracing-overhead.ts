// `npm run bench:tracing`: what tracing adds to time to first token, measured three ways in one
// run, requests one at a time, interleaved in a random order each round so machine noise and
// cache warmth hit every arm alike:
//
//  1. Same processes, sampled vs not: one traced stack (ingress + worker exporting over OTLP/HTTP
//     with the default protocol and batching, to a local collector that discards) gets requests
//     alternately with a sampled and an unsampled W3C traceparent. The difference is the cost of
//     recording and exporting the spans, free of any process-to-process bias. (Headline figure.)
//     The traced ingress trusts this load generator's traceparent (TRUST_INCOMING_TRACEPARENT).
//  2. Traced stack (sampled) vs two untraced stacks (no OTEL endpoint, the default): the whole
//     cost, but also any bias between process pairs; |untraced A - untraced B| shows that bias.
//     The traced stack serves two requests in four, so it runs warmer: this one favours it.
//  3. In this process: the span work of one request (SERVER, PRODUCER, CONSUMER, CLIENT, inject,
//     extract), with tracing off and on, timed over many iterations.
import { createServer } from "node:http";
import { once } from "node:events";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { Agent, request } from "node:http";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const rounds = Number(process.env.BENCH_ROUNDS ?? "300");

// A collector that accepts and discards: the exporter does its full work, nothing is stored.
let exportedBatches = 0;
const collector = createServer((incoming, outgoing) => {
  incoming.resume();
  incoming.on("end", () => {
    exportedBatches++;
    outgoing.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
collector.listen(0, "127.0.0.1");
await once(collector, "listening");
const collectorUrl = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;

const mock = await startService("mock-upstream", { MOCK_PORT: "0", MOCK_TOKENS: "5", MOCK_TOKEN_DELAY_MS: "0" });
const routesFile = join(mkdtempSync(join(tmpdir(), "switchboard-bench-")), "routes.json");
writeFileSync(
  routesFile,
  JSON.stringify({
    providers: { mock: { type: "openai", baseUrl: String(mock.readyLine.url), apiKeyEnv: "MOCK_KEY" } },
    routes: { "*": { provider: "mock", passFields: ["mock"] } },
  }),
);

async function startStack(
  label: string,
  extraEnv: Record<string, string>,
): Promise<{ url: string; services: ServiceProcess[] }> {
  const env = {
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `sbbench-${label}-${process.pid}`,
    ROUTES_FILE: routesFile,
    MOCK_KEY: "x",
    LOG_LEVEL: "info",
    ...extraEnv,
  };
  const worker = await startService("worker", { ...env, METRICS_PORT: "0", METRICS_HOST: "127.0.0.1" });
  const ingress = await startService("ingress", { ...env, PORT: "0", HOST: "127.0.0.1" });
  return { url: String(ingress.readyLine.url), services: [worker, ingress] };
}

const untracedA = await startStack("off-a", {});
const traced = await startStack("on", {
  OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
  TRUST_INCOMING_TRACEPARENT: "true",
});
const untracedB = await startStack("off-b", {});

const agent = new Agent({ keepAlive: true, maxSockets: 10 });
const body = JSON.stringify({ model: "mock-model", stream: true, messages: [{ role: "user", content: "Hello" }] });

function timeToFirstToken(baseUrl: string, traceFlags?: "00" | "01"): Promise<number> {
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  };
  if (traceFlags)
    headers.traceparent = `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-${traceFlags}`;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let first = -1;
    const outgoing = request(new URL(`${baseUrl}/chat/completions`), { method: "POST", agent, headers }, (response) => {
      response.setEncoding("utf8");
      response.on("data", (text: string) => {
        if (first < 0 && text.includes('"content":"')) first = performance.now() - start;
      });
      response.on("end", () => (first < 0 ? reject(new Error(`no token from ${baseUrl}`)) : resolve(first)));
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

const arms: Array<{ name: string; run: () => Promise<number>; samples: number[] }> = [
  { name: "traced, sampled", run: () => timeToFirstToken(traced.url, "01"), samples: [] },
  { name: "traced, unsampled", run: () => timeToFirstToken(traced.url, "00"), samples: [] },
  { name: "untraced A", run: () => timeToFirstToken(untracedA.url), samples: [] },
  { name: "untraced B", run: () => timeToFirstToken(untracedB.url), samples: [] },
];
for (let index = 0; index < 30; index++) for (const arm of arms) await arm.run();
for (let round = 0; round < rounds; round++) {
  // A fresh random order each round: a request finds its processes warmer right after another one
  // to the same processes, so a fixed rotation would favour whichever arm follows its sibling.
  const order = [...arms];
  for (let index = order.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  for (const arm of order) arm.samples.push(await arm.run());
}

// Part 3: the span work of one request, in process.
const {
  startTelemetry,
  startSpan,
  traceSpan,
  withSpan,
  injectTraceContext,
  extractTraceContext,
  contextWithSpan,
  withoutTracing,
  SpanKind,
} = await import("@switchboard/telemetry");
function oneRequestsSpans(): void {
  const server = startSpan("POST /v1/chat/completions", {
    kind: SpanKind.SERVER,
    attributes: { "http.request.method": "POST" },
  });
  let carrier: Record<string, string> | undefined;
  void withSpan(server, () =>
    traceSpan("send chat", { kind: SpanKind.PRODUCER }, async () => void (carrier = injectTraceContext())),
  );
  const consumer = startSpan("process chat", {
    kind: SpanKind.CONSUMER,
    parent: extractTraceContext(carrier),
    attributes: { "switchboard.queue.wait": 0.001 },
  });
  const call = startSpan("chat mock-model", {
    kind: SpanKind.CLIENT,
    parent: contextWithSpan(consumer),
    attributes: { "gen_ai.operation.name": "chat" },
  });
  for (let chunk = 0; chunk < 5; chunk++) withoutTracing(() => chunk);
  call.setAttribute("gen_ai.usage.output_tokens", 5);
  call.end();
  consumer.end();
  server.setAttribute("http.response.status_code", 200);
  server.end();
}
const spanWork = (iterations: number) => {
  const start = performance.now();
  for (let index = 0; index < iterations; index++) oneRequestsSpans();
  return ((performance.now() - start) / iterations) * 1000;
};
spanWork(5_000);
const offMicros = spanWork(20_000);
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collectorUrl;
const telemetry = startTelemetry("bench");
spanWork(5_000);
const onMicros = spanWork(20_000);
await telemetry.shutdown();

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const p = (name: string, q: number) => percentile(arms.find((arm) => arm.name === name)!.samples, q);
const untracedP50 = (p("untraced A", 50) + p("untraced B", 50)) / 2;
// Round by round, sampled minus unsampled: both ran within milliseconds of each other, so slow
// drifts in machine load cancel; the median of these differences is the steadiest figure.
const sampled = arms[0]!.samples;
const unsampled = arms[1]!.samples;
const pairedMedian = percentile(
  sampled.map((value, index) => value - unsampled[index]!),
  50,
);
const result = {
  date: new Date().toISOString(),
  rounds,
  ttftMs: Object.fromEntries(
    arms.map((arm) => [
      arm.name,
      { p50: percentile(arm.samples, 50), p90: percentile(arm.samples, 90), p99: percentile(arm.samples, 99) },
    ]),
  ),
  addedBySampledTracingP50Ms: p("traced, sampled", 50) - p("traced, unsampled", 50),
  addedBySampledTracingPairedMedianMs: pairedMedian,
  addedBySampledTracingP99Ms: p("traced, sampled", 99) - p("traced, unsampled", 99),
  tracedVsUntracedStacksP50Ms: p("traced, sampled", 50) - untracedP50,
  untracedStacksBiasP50Ms: Math.abs(p("untraced A", 50) - p("untraced B", 50)),
  spanWorkPerRequestMicros: { tracingOff: offMicros, tracingOn: onMicros },
  exportedBatches,
};
const ms = (value: number) => value.toFixed(3);
console.log(
  `\nTime to first token (ms; ${rounds} interleaved rounds, sequential requests, mock upstream with no delay)`,
);
console.log("arm\tp50\tp90\tp99");
for (const arm of arms)
  console.log(
    `${arm.name}\t${ms(percentile(arm.samples, 50))}\t${ms(percentile(arm.samples, 90))}\t${ms(percentile(arm.samples, 99))}`,
  );
console.log(
  `\n1. added by tracing, same processes, sampled - unsampled: p50 ${ms(result.addedBySampledTracingP50Ms)} ms (target <= 0.3), p99 ${ms(result.addedBySampledTracingP99Ms)} ms`,
);
console.log(`   median of the round-by-round differences (sampled - unsampled): ${ms(pairedMedian)} ms`);
console.log(
  `2. traced stack (sampled) - untraced stacks: p50 ${ms(result.tracedVsUntracedStacksP50Ms)} ms (the traced stack serves half the requests, so runs warmer); bias between the two untraced stacks: ${ms(result.untracedStacksBiasP50Ms)} ms`,
);
console.log(
  `3. span work per request, in process: tracing off ${offMicros.toFixed(2)} µs, on ${onMicros.toFixed(2)} µs`,
);
console.log(`OTLP batches exported by the traced stack during the run: ${exportedBatches}`);
mkdirSync("bench-results", { recursive: true });
writeFileSync(join("bench-results", "tracing-overhead.json"), JSON.stringify(result, null, 2));

agent.destroy();
await Promise.all([
  ...[untracedA, traced, untracedB].flatMap((stack) => stack.services.map((service) => service.stop())),
  mock.stop(),
]);
collector.close();
