// Repairs, per answer, the tool-call mistakes OpenAI-compatible upstreams make, so that strict
// clients (openai-node's stream helper, the Vercel AI SDK, LangChain) and the Responses API answer
// get what OpenAI would send:
// - a fragment without `index` (some Gemini, Ollama and vLLM versions): a new id starts the next
//   call, a known id or no id continues the call it belongs to;
// - the first fragment of a call without `id` or `type`: given `type: "function"` and an id of the
//   gateway's own (a later id from the upstream for that call is then dropped, so the call keeps
//   one id);
// - a fragment without its `function` object (LangChain drops those): given an empty one;
// - `finish_reason: "stop"` after a streamed tool call (Gemini, Ollama): made `tool_calls`, which
//   voice platforms read to run the tools.
// Empty and keep-alive deltas never get here: the provider drops them before they are yielded, so
// they neither reach the client nor start the first-token clock.
import { randomBytes } from "node:crypto";
import type { ChunkDelta, FinishReason } from "@switchboard/protocol";

type ToolCallDelta = NonNullable<ChunkDelta["tool_calls"]>[number];

interface UpstreamFragment {
  index?: unknown;
  id?: unknown;
  type?: unknown;
  function?: unknown;
  [field: string]: unknown;
}

export class StreamRepair {
  /** The id each call index was first given (the upstream's or the gateway's). */
  private readonly idByIndex = new Map<number, string>();
  private readonly indexById = new Map<string, number>();
  private lastIndex: number | undefined;
  private nextIndex = 0;

  get sawToolCall(): boolean {
    return this.lastIndex !== undefined;
  }

  /** fragments: a delta's tool_calls as the upstream sent them. */
  toolCalls(fragments: readonly object[]): ToolCallDelta[] {
    return fragments.map((fragment) => this.fragment(fragment as UpstreamFragment));
  }

  finishReason(reason: FinishReason): FinishReason {
    return reason === "stop" && this.sawToolCall ? "tool_calls" : reason;
  }

  private fragment(fragment: UpstreamFragment): ToolCallDelta {
    const upstreamId = typeof fragment.id === "string" && fragment.id !== "" ? fragment.id : undefined;
    const index = this.indexOf(fragment, upstreamId);
    this.lastIndex = index;
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    const repaired: UpstreamFragment = { ...fragment, index };
    if (typeof fragment.function !== "object" || fragment.function === null) repaired.function = {};
    const knownId = this.idByIndex.get(index);
    if (knownId === undefined) {
      // The call's first fragment: it names the call.
      const id = upstreamId ?? `call_${randomBytes(12).toString("base64url")}`;
      this.idByIndex.set(index, id);
      this.indexById.set(id, index);
      repaired.id = id;
      repaired.type ??= "function";
    } else if (upstreamId !== undefined && upstreamId !== knownId) {
      delete repaired.id;
    }
    return repaired as unknown as ToolCallDelta;
  }

  private indexOf(fragment: UpstreamFragment, upstreamId: string | undefined): number {
    if (typeof fragment.index === "number" && Number.isInteger(fragment.index) && fragment.index >= 0)
      return fragment.index;
    if (upstreamId !== undefined) return this.indexById.get(upstreamId) ?? this.nextIndex;
    return this.lastIndex ?? 0;
  }
}
