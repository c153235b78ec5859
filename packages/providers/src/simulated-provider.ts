// The built-in simulated model: answers with no API key at all, deterministically, at a steady
// pace, so a fresh stack can be tried end to end. When the request forces a tool, it calls it.
// It streams whether or not the client asked for a stream (the worker coalesces a non-streamed
// answer's deltas).
import { setTimeout as sleep } from "node:timers/promises";
import type { ChatRequest, ChunkDelta } from "@switchboard/protocol";
import type { Provider, UpstreamChunk, UpstreamRequest } from "./provider.ts";

export interface SimulatedProviderOptions {
  firstTokenDelayMs: number;
  tokenDelayMs: number;
}

const reply =
  "Hello! This is Switchboard's simulated model. Your gateway is working: this answer came through " +
  "the ingress, the queue, a worker and the relay. Set OPENAI_API_KEY to talk to a real model.";

/** The words the simulated model streams, one token each (with their trailing space). */
function simulatedTokens(): string[] {
  return reply.split(" ").map((word, index, words) => (index < words.length - 1 ? `${word} ` : word));
}

export function simulatedText(): string {
  return reply;
}

export function createSimulatedProvider(options: SimulatedProviderOptions): Provider {
  return {
    name: "switchboard.simulated",
    async *stream(request: UpstreamRequest): AsyncIterable<UpstreamChunk> {
      const { signal } = request;
      const body = request.body as Partial<ChatRequest>;
      await sleep(options.firstTokenDelayMs, undefined, { signal });
      const forcedTool = forcedToolName(body);
      let completionTokens = 0;
      if (forcedTool) {
        const delta: ChunkDelta = {
          tool_calls: [
            {
              index: 0,
              id: `call_sim_${Date.now().toString(36)}`,
              type: "function",
              function: { name: forcedTool, arguments: "{}" },
            },
          ],
        };
        yield { delta, model: request.model };
        completionTokens = 1;
      } else {
        const tokens = simulatedTokens();
        for (let index = 0; index < tokens.length; index++) {
          if (index > 0) await sleep(options.tokenDelayMs, undefined, { signal });
          yield index === 0
            ? { delta: { content: tokens[index] as string }, model: request.model }
            : { delta: { content: tokens[index] as string } };
        }
        completionTokens = tokens.length;
      }
      const promptTokens = Math.ceil(JSON.stringify(body.messages ?? []).length / 4);
      yield {
        finishReason: forcedTool ? "tool_calls" : "stop",
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
      };
    },
  };
}

function forcedToolName(body: Partial<ChatRequest>): string | undefined {
  const tools = body.tools ?? [];
  const choice = body.tool_choice as { type?: string; function?: { name?: string } } | string | undefined;
  if (typeof choice === "object" && choice?.function?.name) return choice.function.name;
  if (choice === "required") return tools[0]?.function?.name;
  return undefined;
}
