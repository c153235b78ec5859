// `node test/bench/provider-overhead.ts`: worker-side CPU of reading one streamed answer from an
// upstream, the SDK's own stream iterator vs the provider's lean SSE loop, against an in-process
// mock, in alternating rounds within one process so machine noise hits both alike. This is the
// per-token path of every worker; see docs/performance.md.
import OpenAI from "openai";
import { createMockUpstream } from "@switchboard/mock-upstream";
import { createOpenAIProvider } from "@switchboard/providers";

const streams = Number(process.env.STREAMS ?? "300");
const rounds = Number(process.env.ROUNDS ?? "6");
const mock = createMockUpstream({ tokens: 20, tokenDelayMs: 0 });
const { url } = await mock.listen(0);
const client = new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 });
const provider = createOpenAIProvider({ name: "mock", apiKey: "unused", baseUrl: url, timeoutMs: 10_000 });
const body = { messages: [{ role: "user", content: "Hello" }] };

async function viaSdkIterator(): Promise<number> {
  let deltas = 0;
  const stream = await client.chat.completions.create({ ...body, model: "mock-model", stream: true, stream_options: { include_usage: true } } as OpenAI.ChatCompletionCreateParamsStreaming);
  for await (const chunk of stream) if (chunk.choices[0]?.delta.content) deltas++;
  return deltas;
}

async function viaProvider(): Promise<number> {
  let deltas = 0;
  for await (const chunk of provider.stream({ body, model: "mock-model", signal: new AbortController().signal })) if (chunk.delta?.content) deltas++;
  return deltas;
}

const results: Record<string, number[]> = { "openai SDK stream iterator": [], "lean SSE loop (provider)": [] };
for (let round = 0; round < rounds; round++) {
  for (const [label, run] of [["openai SDK stream iterator", viaSdkIterator], ["lean SSE loop (provider)", viaProvider]] as const) {
    const before = process.cpuUsage();
    const counts = await Promise.all(Array.from({ length: streams }, run));
    const used = process.cpuUsage(before);
    if (counts.some((count) => count !== 20)) throw new Error(`${label}: a stream lost tokens`);
    // This process also runs the mock; its share is the same for both and included in both.
    if (round > 0) results[label]?.push((used.user + used.system) / 1000 / streams);
  }
}
for (const [label, values] of Object.entries(results)) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(`${label.padEnd(28)} CPU per streamed answer (20 tokens, incl. the in-process mock): median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(3)} ms over ${values.length} rounds of ${streams}`);
}
await mock.close();
