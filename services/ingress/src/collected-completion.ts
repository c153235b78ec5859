// Assembles one non-streamed answer (a chat.completion) from the relayed deltas.
import type {
  AssistantToolCall,
  ChatCompletion,
  ChunkDelta,
  FinishReason,
  GatewayError,
  Usage,
} from "@switchboard/protocol";
import { CompletionSink, sendError } from "./completion-sink.ts";

export class CollectedCompletion extends CompletionSink {
  private readonly content: string[] = [];
  private readonly refusal: string[] = [];
  private readonly toolCalls: AssistantToolCall[] = [];

  protected writeDelta(deltaJson: string): void {
    const delta = JSON.parse(deltaJson) as ChunkDelta;
    if (delta.content) this.content.push(delta.content);
    if (delta.refusal) this.refusal.push(delta.refusal);
    for (const fragment of delta.tool_calls ?? []) {
      const call = (this.toolCalls[fragment.index] ??= {
        id: "",
        type: "function",
        function: { name: "", arguments: "" },
      });
      if (fragment.id) call.id = fragment.id;
      if (fragment.function?.name) call.function.name += fragment.function.name;
      if (fragment.function?.arguments) call.function.arguments += fragment.function.arguments;
    }
  }

  protected writeFinish(finishReason: FinishReason, usage: Usage | null): void {
    const { completionId, created, model } = this.context;
    const toolCalls = this.toolCalls.filter(Boolean);
    const body: ChatCompletion = {
      id: completionId,
      object: "chat.completion",
      created,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: this.content.length > 0 || toolCalls.length === 0 ? this.content.join("") : null,
            refusal: this.refusal.length > 0 ? this.refusal.join("") : null,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          finish_reason: finishReason,
          logprobs: null,
        },
      ],
      usage: usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
    this.response.json(body);
  }

  protected writeStreamError(error: GatewayError): void {
    // Headers are never sent before the whole answer is known, so this is unreachable in practice.
    sendError(this.response, error);
  }
}
