// `npm run bench`: time to first token direct to the mock upstream vs through Switchboard, at 1 and
// 50 concurrent streams, interleaved round by round in one run so machine noise hits both alike.
// Starts its own mock, ingress and worker processes against REDIS_URL under a private key prefix.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService } from "../support/service-process.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const concurrencies = (process.env.BENCH_CONCURRENCY ?? "1,50").split(",").map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? "20");
const tokens = 20;
const tokenDelayMs = 10;

const prefix = `sbbench-${process.pid}`;
const mock = await startService("mock-upstream", { MOCK_PORT: "0", MOCK_TOKENS: String(tokens), MOCK_TOKEN_DELAY_MS: String(tokenDelayMs) });
const mockUrl = String(mock.readyLine.url);
const routesFile = join(mkdtempSync(join(tmpdir(), "switchboard-bench-")), "routes.json");
writeFileSync(routesFile, JSON.stringify({ providers: { mock: { type: "openai", baseUrl: mockUrl, apiKeyEnv: "MOCK_KEY" } }, routes: { "*": { provider: "mock" } } }));
const env = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, ROUTES_FILE: routesFile, MOCK_KEY: "x", LOG_LEVEL: "info" };
const worker = await startService("worker", { ...env, WORKER_CONCURRENCY: "500" });
const ingress = await startService("ingress", { ...env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" });
const gatewayUrl = String(ingress.readyLine.url);

const agent = new Agent({ keepAlive: true, maxSockets: 2000 });
const body = JSON.stringify({ model: "mock-model", stream: true, messages: [{ role: "user", content: "Hello" }] });

interface Timing {
  firstTokenMs: number;
  lastTokenMs: number;
}

/** One streamed request; times from sending it to its first content chunk and to [DONE]. */
function stream(baseUrl: string): Promise<Timing> {
  const url = new URL(`${baseUrl}/chat/completions`);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let firstTokenMs = -1;
    const outgoing = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (response) => {
      response.setEncoding("utf8");
      response.on("data", (text: string) => {
        if (firstTokenMs < 0 && text.includes('"content":"')) firstTokenMs = performance.now() - start;
      });
      response.on("end", () => (firstTokenMs < 0 ? reject(new Error(`no token from ${baseUrl} (HTTP ${response.statusCode})`)) : resolve({ firstTokenMs, lastTokenMs: performance.now() - start })));
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const results: Array<Record<string, number>> = [];
// Warm up connections, JIT and the worker's upstream pool.
for (let index = 0; index < 20; index++) await Promise.all([stream(mockUrl), stream(gatewayUrl)]);

for (const concurrency of concurrencies) {
  const direct: Timing[] = [];
  const gateway: Timing[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so neither always runs on a warmer or quieter machine.
    const order = round % 2 === 0 ? [mockUrl, gatewayUrl] : [gatewayUrl, mockUrl];
    for (const target of order) {
      const timings = await Promise.all(Array.from({ length: concurrency }, () => stream(target)));
      (target === mockUrl ? direct : gateway).push(...timings);
    }
  }
  const row = {
    concurrency,
    samples: gateway.length,
    directFirstP50: percentile(direct.map((t) => t.firstTokenMs), 50),
    directFirstP99: percentile(direct.map((t) => t.firstTokenMs), 99),
    gatewayFirstP50: percentile(gateway.map((t) => t.firstTokenMs), 50),
    gatewayFirstP99: percentile(gateway.map((t) => t.firstTokenMs), 99),
    directLastP50: percentile(direct.map((t) => t.lastTokenMs), 50),
    gatewayLastP50: percentile(gateway.map((t) => t.lastTokenMs), 50),
  };
  results.push({ ...row, addedFirstP50: row.gatewayFirstP50 - row.directFirstP50, addedFirstP99: row.gatewayFirstP99 - row.directFirstP99, addedLastP50: row.gatewayLastP50 - row.directLastP50 });
}

const format = (value: number | undefined) => (value === undefined ? "" : Number.isInteger(value) ? String(value) : value.toFixed(2));
const columns = ["concurrency", "samples", "directFirstP50", "gatewayFirstP50", "addedFirstP50", "directFirstP99", "gatewayFirstP99", "addedFirstP99", "addedLastP50"];
console.log(`\nTime to first token, direct to the mock vs through Switchboard (ms; ${tokens} tokens, ${tokenDelayMs} ms apart; ${rounds} interleaved rounds)`);
console.log(columns.join("\t"));
for (const row of results) console.log(columns.map((column) => format(row[column])).join("\t"));
mkdirSync("bench-results", { recursive: true });
writeFileSync(join("bench-results", "ttft.json"), JSON.stringify({ date: new Date().toISOString(), tokens, tokenDelayMs, rounds, results }, null, 2));

agent.destroy();
await Promise.all([ingress.stop(), worker.stop(), mock.stop()]);
