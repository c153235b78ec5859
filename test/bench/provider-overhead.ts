// `npm run bench:upstream` (node test/bench/provider-overhead.ts): the worker's upstream call with
// each candidate transport under the openai SDK, side by side in alternating rounds within one
// process so machine noise hits them alike:
//  - the provider with its node:http fetch (packages/providers/src/node-fetch.ts; production);
//  - the provider with Node's global fetch (the undici bundled with Node; web-stream body);
//  - the provider with the fetch of the undici package (8.x; web-stream body);
//  - the SDK with a fetch on undici's Pool.request (undici-pool-fetch.ts), its Node-stream body read
//    by the provider's SSE loop, against the same loop over the node:http fetch (the pair isolates
//    the transport: only the fetch differs);
//  - the floor: a bare node:http client with the same SSE loop and no SDK.
// The mock upstream runs in a child process (services/mock-upstream), so the CPU
// measured here is this process's alone: the provider, the SDK and the transport. Per concurrency
// (1 and 50 calls in flight, closed loop): CPU per 20-token answer (median over rounds) and the time
// from the call to its first chunk (p50/p99 over all calls of all rounds but the first, a warm-up).
// Tokens come one per read, as in production: 1 ms apart with 1 call in flight (to keep the run
// short), 10 ms apart with 50 (as from a real model, so the process is not saturated and the first
// chunk times measure the path, not a queue).
// See docs/performance.md.
import { Agent, request } from "node:http";
import type { Readable } from "node:stream";
import OpenAI from "openai";
import { fetch as undiciFetch } from "undici";
import {
  createNodeFetch,
  createOpenAIProvider,
  nodeResponseBody,
  readNodeSseEvents,
  type Provider,
  type UpstreamChunk,
} from "@switchboard/providers";
import { startMock } from "./bench-stack.ts";
import { createUndiciPoolFetch, poolResponseBody } from "./undici-pool-fetch.ts";

const rounds = Number(process.env.ROUNDS ?? "6");
const levels = [
  { concurrency: 1, calls: Number(process.env.CALLS_AT_1 ?? "60"), tokenDelayMs: 1 },
  { concurrency: 50, calls: Number(process.env.CALLS_AT_50 ?? "500"), tokenDelayMs: 10 },
];
const mock = await startMock(20, 0);
const baseUrl = mock.url as string;
const production = "provider, node:http fetch (production)";
const variants: Record<string, Provider> = {
  [production]: createOpenAIProvider({ name: "mock", apiKey: "unused", baseUrl, timeoutMs: 10_000 }),
  "provider, Node's global fetch": createOpenAIProvider({
    name: "mock",
    apiKey: "unused",
    baseUrl,
    timeoutMs: 10_000,
    fetch: globalThis.fetch,
  }),
  "provider, undici 8 fetch": createOpenAIProvider({
    name: "mock",
    apiKey: "unused",
    baseUrl,
    timeoutMs: 10_000,
    fetch: undiciFetch as unknown as typeof fetch,
  }),
  "SDK + SSE loop, node:http fetch": sdkLoopProvider(baseUrl, createNodeFetch(), nodeResponseBody),
  "SDK + SSE loop, undici Pool.request": sdkLoopProvider(baseUrl, createUndiciPoolFetch(), poolResponseBody),
  "floor: node:http, no SDK": bareProvider(baseUrl),
};

/**
 * The SDK sending through `fetch`, its Node-stream body read by the provider's SSE loop: the
 * provider's path without its error mapping, so that two of these differ only in the transport.
 */
function sdkLoopProvider(
  base: string,
  transport: (input: string | URL | Request, init?: RequestInit) => Promise<Response>,
  bodyOf: (response: Response) => Readable | undefined,
): Provider {
  const client = new OpenAI({ apiKey: "unused", baseURL: base, maxRetries: 0, timeout: 10_000, fetch: transport });
  return {
    name: "sdk-loop",
    async *stream(call): AsyncIterable<UpstreamChunk> {
      const body = { ...call.body, model: call.model, stream: true, stream_options: { include_usage: true } };
      const response = await client.post("/chat/completions", { body, stream: true, signal: call.signal }).asResponse();
      const nodeBody = bodyOf(response);
      if (!nodeBody) throw new Error("the fetch gave no Node body");
      for await (const events of readNodeSseEvents(nodeBody)) {
        for (const event of events) {
          if (event.data === "[DONE]") {
            nodeBody.resume();
            return;
          }
          const content = (JSON.parse(event.data) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]
            ?.delta?.content;
          if (content) yield { delta: { content } };
        }
      }
    },
  };
}

/** The floor: POST the body with node:http (keep-alive) and read the SSE with the provider's loop. */
function bareProvider(base: string): Provider {
  const agent = new Agent({ keepAlive: true });
  const url = new URL(`${base}/chat/completions`);
  return {
    name: "bare",
    async *stream(call): AsyncIterable<UpstreamChunk> {
      const payload = JSON.stringify({
        ...call.body,
        model: call.model,
        stream: true,
        stream_options: { include_usage: true },
      });
      const response = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
        const sent = request(
          url,
          {
            method: "POST",
            agent,
            headers: {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(payload),
              authorization: "Bearer unused",
            },
          },
          resolve,
        );
        sent.on("error", reject).end(payload);
      });
      for await (const events of readNodeSseEvents(response)) {
        for (const event of events) {
          if (event.data === "[DONE]") return;
          const content = (JSON.parse(event.data) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]
            ?.delta?.content;
          if (content) yield { delta: { content } };
        }
      }
    },
  };
}
/** One call: ms from the call to its first chunk; throws unless all 20 tokens came. */
async function call(provider: Provider, tokenDelayMs: number): Promise<number> {
  const body = { messages: [{ role: "user", content: "Hello" }], mock: { tokenDelayMs } };
  const start = performance.now();
  let firstChunkMs = -1;
  let tokens = 0;
  for await (const chunk of provider.stream({
    body,
    model: "mock-model",
    stream: true,
    signal: new AbortController().signal,
  })) {
    if (firstChunkMs < 0) firstChunkMs = performance.now() - start;
    if (chunk.delta?.content) tokens++;
  }
  if (tokens !== 20) throw new Error(`a stream brought ${tokens} tokens, not 20`);
  return firstChunkMs;
}

/** `total` calls, `concurrency` at a time (closed loop); CPU ms per call and each call's first-chunk time. */
async function round(
  provider: Provider,
  { concurrency, calls: total, tokenDelayMs }: (typeof levels)[0],
): Promise<{ cpuMs: number; firstChunkMs: number[] }> {
  const firstChunkMs: number[] = [];
  let next = 0;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) firstChunkMs.push(await call(provider, tokenDelayMs));
    }),
  );
  const used = process.cpuUsage(before);
  return { cpuMs: (used.user + used.system) / 1000 / total, firstChunkMs };
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? Number.NaN;
const labels = Object.keys(variants);
const results = new Map<string, { cpuMs: number[]; firstChunkMs: number[] }>();
for (let index = 0; index < rounds; index++) {
  for (const level of levels) {
    // Rotate which variant goes first.
    const order = index % 2 === 0 ? labels : [...labels].reverse();
    for (const label of order) {
      const measured = await round(variants[label] as Provider, level);
      if (index === 0) continue;
      const entry = results.get(`${level.concurrency}|${label}`) ?? { cpuMs: [], firstChunkMs: [] };
      entry.cpuMs.push(measured.cpuMs);
      entry.firstChunkMs.push(...measured.firstChunkMs);
      results.set(`${level.concurrency}|${label}`, entry);
    }
  }
}
await mock.stop();

console.log(
  `provider overhead: ${rounds - 1} measured rounds, mock in a child process, 20 tokens per answer; load average ${(
    await import("node:os")
  )
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(" ")}`,
);
console.log("| in flight | transport | CPU ms per answer (median; x production) | first chunk p50 ms | p99 ms |");
console.log("|---|---|---|---|---|");
for (const { concurrency } of levels) {
  const rows = labels.map((label) => {
    const entry = results.get(`${concurrency}|${label}`) as { cpuMs: number[]; firstChunkMs: number[] };
    return {
      label,
      cpu: percentile(entry.cpuMs, 50),
      p50: percentile(entry.firstChunkMs, 50),
      p99: percentile(entry.firstChunkMs, 99),
    };
  });
  const reference = rows[0] as (typeof rows)[0];
  for (const row of rows)
    console.log(
      `| ${concurrency} | ${row.label} | ${row.cpu.toFixed(3)} (${(row.cpu / reference.cpu).toFixed(2)}x) | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} |`,
    );
}
