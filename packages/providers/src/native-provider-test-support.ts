// What the native providers' tests share: collecting a provider's chunks (or the error it threw)
// and reading back what the real mock upstream received.
import { GatewayError } from "@switchboard/protocol";
import type { Provider, UpstreamChunk } from "./provider.ts";

export interface Outcome {
  chunks: UpstreamChunk[];
  error?: GatewayError;
}

/** Every chunk the provider yields for `body`, and the GatewayError it ends with, if any. */
export async function run(
  provider: Provider,
  body: Record<string, unknown>,
  options: { model?: string; stream?: boolean; signal?: AbortSignal } = {},
): Promise<Outcome> {
  const chunks: UpstreamChunk[] = [];
  try {
    for await (const chunk of provider.stream({
      body,
      model: options.model ?? "mock-model",
      stream: options.stream ?? true,
      signal: options.signal ?? new AbortController().signal,
    }))
      chunks.push(chunk);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { chunks, error };
  }
  return { chunks };
}

export function textOf(chunks: UpstreamChunk[]): string {
  return chunks.map((chunk) => chunk.delta?.content ?? "").join("");
}

/** The tool calls of the chunks, merged by index as the ingress merges them. */
export function toolCallsOf(chunks: UpstreamChunk[]): Array<{ id: string; name: string; arguments: string }> {
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  for (const chunk of chunks)
    for (const call of chunk.delta?.tool_calls ?? []) {
      const merged = (calls[call.index] ??= { id: "", name: "", arguments: "" });
      if (call.id) merged.id = call.id;
      if (call.function?.name) merged.name = call.function.name;
      merged.arguments += call.function?.arguments ?? "";
    }
  return calls;
}

/** What the tests read of the mock upstream's stats (packages do not import services' types). */
interface MockStatsReader {
  stats(): { recent: Array<{ tag?: string; body: unknown }> };
}

/** The body the mock received for the call tagged `tag`. */
export function receivedBody(mock: MockStatsReader, tag: string): Record<string, unknown> {
  const record = mock.stats().recent.find((entry) => entry.tag === tag);
  if (!record) throw new Error(`the mock received no call tagged ${tag}`);
  return record.body as Record<string, unknown>;
}

/** An OpenAI chat history with a tool round: the assistant called get_weather, the tool answered. */
export function toolHistory(callId: string): Array<Record<string, unknown>> {
  return [
    { role: "system", content: "You are a voice agent." },
    { role: "user", content: "Weather in Paris?" },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: callId, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
    },
    { role: "tool", tool_call_id: callId, content: '{"celsius":21}' },
    { role: "user", content: "Thanks." },
  ];
}

export const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

/** Starts a long streamed answer tagged `tag` and stops the call after its first chunk. */
export async function abortAfterFirstChunk(provider: Provider, tag: string): Promise<UpstreamChunk[]> {
  const controller = new AbortController();
  const chunks: UpstreamChunk[] = [];
  try {
    for await (const chunk of provider.stream({
      body: { messages: [{ role: "user", content: "Hello" }], mock: { tag, tokens: 500, tokenDelayMs: 20 } },
      model: "mock-model",
      stream: true,
      signal: controller.signal,
    })) {
      chunks.push(chunk);
      controller.abort();
    }
  } catch (error) {
    // What the worker sees of a call it stopped itself.
    if (!(error instanceof GatewayError && error.code === "deadline_exceeded")) throw error;
  }
  return chunks;
}
