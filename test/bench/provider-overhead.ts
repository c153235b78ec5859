// `node test/bench/provider-overhead.ts`: the worker's upstream call, the openai provider sending
// through the global fetch (undici, web-stream body) vs through its node:http fetch (Node-stream
// body, the default), side by side in alternating rounds within one process so machine noise hits
// both alike; a third side, a bare node:http client with the same SSE loop and no SDK, is the floor.
// The mock upstream runs in a child process (services/mock-upstream), so the CPU
// measured here is this process's alone: the provider, the SDK and the transport. Per concurrency
// (1 and 50 calls in flight, closed loop): CPU per 20-token answer (median over rounds) and the time
// from the call to its first chunk (p50/p99 over all calls of all rounds but the first, a warm-up).
// Tokens come one per read, as in production: 1 ms apart with 1 call in flight (to keep the run
// short), 10 ms apart with 50 (as from a real model, so the process is not saturated and the first
// chunk times measure the path, not a queue).
// See docs/performance.md.
import { Agent, request } from "node:http";
import { createOpenAIProvider, readNodeSseEvents, type Provider, type UpstreamChunk } from "@switchboard/providers";
import { startMock } from "./bench-stack.ts";

const rounds = Number(process.env.ROUNDS ?? "6");
const levels = [
  { concurrency: 1, calls: Number(process.env.CALLS_AT_1 ?? "60"), tokenDelayMs: 1 },
  { concurrency: 50, calls: Number(process.env.CALLS_AT_50 ?? "500"), tokenDelayMs: 10 },
];
const mock = await startMock(20, 0);
const baseUrl = mock.url as string;
const variants: Record<string, Provider> = {
  "global fetch (undici)": createOpenAIProvider({
    name: "mock",
    apiKey: "unused",
    baseUrl,
    timeoutMs: 10_000,
    fetch: globalThis.fetch,
  }),
  "node:http fetch": createOpenAIProvider({ name: "mock", apiKey: "unused", baseUrl, timeoutMs: 10_000 }),
  "floor: node:http, no SDK": bareProvider(baseUrl),
};

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
console.log("| in flight | transport | CPU ms per answer (median) | first chunk p50 ms | p99 ms |");
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
  for (const row of rows)
    console.log(
      `| ${concurrency} | ${row.label} | ${row.cpu.toFixed(3)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} |`,
    );
  const [before, after] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
  console.log(
    `| ${concurrency} | node:http / undici | ${(after.cpu / before.cpu).toFixed(2)}x | ${(after.p50 / before.p50).toFixed(2)}x | ${(after.p99 / before.p99).toFixed(2)}x |`,
  );
}
