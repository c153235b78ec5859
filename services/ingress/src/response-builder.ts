// Builds one Responses API answer from the relayed chat-completions deltas: the `response` object,
// and the typed events that build it step by step (what the openai SDK's ResponseStream checks:
// items added before their deltas, ids that match, indexes in order, one terminal event).
//
// Text opens a message item; each tool call index opens a function_call item (text after a call
// opens a new message). The message item closes when a tool call starts; function calls stay open
// until the end, so interleaved fragments of parallel calls still reach the right item.
// Reasoning deltas are not part of the answer (a voice agent would speak them): they are left out.
import {
  responseId,
  type ChunkDelta,
  type FinishReason,
  type GatewayError,
  type ResponseContentPart,
  type ResponseFunctionCall,
  type ResponseObject,
  type ResponseOutputItem,
  type ResponseOutputMessage,
  type ResponseStreamEvent,
  type ResponseUsage,
  type Usage,
} from "@switchboard/protocol";
import type { CompletionContext } from "./completion-sink.ts";

export interface ResponseBuilderOptions {
  requestId: string;
  model: string;
  /** Epoch seconds. */
  createdAt: number;
  /** The request's settings the response object repeats (tools, tool_choice, temperature, …). */
  settings: Record<string, unknown>;
  /** Receives each event with its sequence number; called synchronously, in order. */
  emit: (event: ResponseStreamEvent, sequenceNumber: number) => void;
}

/** The builder of the answer to the request `context` describes. */
export function responseBuilderFor(
  { requestId, model, created }: CompletionContext,
  settings: Record<string, unknown>,
  emit: ResponseBuilderOptions["emit"],
): ResponseBuilder {
  return new ResponseBuilder({ requestId, model, createdAt: created, settings, emit });
}

type ItemState = "open" | "done";

export class ResponseBuilder {
  private readonly options: ResponseBuilderOptions;
  private readonly output: ResponseOutputItem[] = [];
  private readonly itemStates: ItemState[] = [];
  /** Chat tool-call index -> output index of its function_call item. */
  private readonly callItems = new Map<number, number>();
  private openMessage: number | undefined;
  private sequence = 0;
  private started = false;
  private ended = false;

  constructor(options: ResponseBuilderOptions) {
    this.options = options;
  }

  /** The answer as it stands. */
  get response(): ResponseObject {
    return this.snapshot("in_progress");
  }

  /** response.created and response.in_progress, once, before anything else. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.emit({ type: "response.created", response: this.snapshot("in_progress", []) });
    this.emit({ type: "response.in_progress", response: this.snapshot("in_progress", []) });
  }

  addDelta(delta: ChunkDelta): void {
    this.start();
    if (delta.content) this.addText("output_text", delta.content);
    if (delta.refusal) this.addText("refusal", delta.refusal);
    for (const fragment of delta.tool_calls ?? []) {
      let outputIndex = this.callItems.get(fragment.index);
      if (outputIndex === undefined) {
        this.closeMessage("completed");
        outputIndex = this.addItem({
          type: "function_call",
          id: `fc_${this.options.requestId}_${this.output.length}`,
          call_id: fragment.id ?? `call_${this.options.requestId}_${fragment.index}`,
          name: fragment.function?.name ?? "",
          arguments: "",
          status: "in_progress",
        });
        this.callItems.set(fragment.index, outputIndex);
      } else if (fragment.function?.name) {
        // A name sent in pieces (rare): the item's final name comes with output_item.done.
        (this.output[outputIndex] as ResponseFunctionCall).name += fragment.function.name;
      }
      const argumentsDelta = fragment.function?.arguments;
      if (argumentsDelta) {
        const call = this.output[outputIndex] as ResponseFunctionCall;
        call.arguments += argumentsDelta;
        this.emit({
          type: "response.function_call_arguments.delta",
          item_id: call.id,
          output_index: outputIndex,
          delta: argumentsDelta,
        });
      }
    }
  }

  /** Closes every item and ends with response.completed (or response.incomplete when cut short). */
  finish(finishReason: FinishReason, usage: Usage | null): ResponseObject {
    this.start();
    const incomplete =
      finishReason === "length"
        ? ({ reason: "max_output_tokens" } as const)
        : finishReason === "content_filter"
          ? ({ reason: "content_filter" } as const)
          : null;
    this.closeAll(incomplete ? "incomplete" : "completed");
    this.ended = true;
    const response: ResponseObject = {
      ...this.snapshot(incomplete ? "incomplete" : "completed"),
      completed_at: incomplete ? null : Math.floor(Date.now() / 1000),
      incomplete_details: incomplete,
      usage: responseUsage(usage),
    };
    this.emit({ type: incomplete ? "response.incomplete" : "response.completed", response });
    return response;
  }

  /** Ends with an `error` event (the openai SDK raises it) and response.failed, the terminal event. */
  fail(error: GatewayError): void {
    this.start();
    this.closeAll("incomplete");
    this.ended = true;
    this.emit({ type: "error", code: error.code, message: error.message, param: error.param });
    this.emit({
      type: "response.failed",
      response: { ...this.snapshot("failed"), error: { code: error.code, message: error.message } },
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private addText(type: "output_text" | "refusal", text: string): void {
    if (this.openMessage === undefined) {
      this.openMessage = this.addItem({
        type: "message",
        id: `msg_${this.options.requestId}_${this.output.length}`,
        role: "assistant",
        status: "in_progress",
        content: [],
      });
    }
    const outputIndex = this.openMessage;
    const message = this.output[outputIndex] as ResponseOutputMessage;
    let contentIndex = message.content.findIndex((part) => part.type === type);
    if (contentIndex === -1) {
      contentIndex = message.content.length;
      const part: ResponseContentPart =
        type === "output_text"
          ? { type: "output_text", text: "", annotations: [], logprobs: [] }
          : { type: "refusal", refusal: "" };
      message.content.push(part);
      this.emit({
        type: "response.content_part.added",
        item_id: message.id,
        output_index: outputIndex,
        content_index: contentIndex,
        part: { ...part },
      });
    }
    const part = message.content[contentIndex] as ResponseContentPart;
    const place = { item_id: message.id, output_index: outputIndex, content_index: contentIndex };
    if (part.type === "output_text") {
      part.text += text;
      this.emit({ type: "response.output_text.delta", ...place, delta: text, logprobs: [] });
    } else {
      part.refusal += text;
      this.emit({ type: "response.refusal.delta", ...place, delta: text });
    }
  }

  private addItem(item: ResponseOutputItem): number {
    const outputIndex = this.output.length;
    this.output.push(item);
    this.itemStates.push("open");
    this.emit({ type: "response.output_item.added", output_index: outputIndex, item: structuredClone(item) });
    return outputIndex;
  }

  private closeMessage(status: "completed" | "incomplete"): void {
    if (this.openMessage === undefined) return;
    this.closeItem(this.openMessage, status);
    this.openMessage = undefined;
  }

  private closeAll(status: "completed" | "incomplete"): void {
    this.openMessage = undefined;
    for (const outputIndex of this.output.keys()) this.closeItem(outputIndex, status);
  }

  private closeItem(outputIndex: number, status: "completed" | "incomplete"): void {
    if (this.itemStates[outputIndex] !== "open") return;
    this.itemStates[outputIndex] = "done";
    const item = this.output[outputIndex] as ResponseOutputItem;
    item.status = status;
    if (item.type === "message") {
      item.content.forEach((part, contentIndex) => {
        const place = { item_id: item.id, output_index: outputIndex, content_index: contentIndex };
        if (part.type === "output_text")
          this.emit({ type: "response.output_text.done", ...place, text: part.text, logprobs: [] });
        else this.emit({ type: "response.refusal.done", ...place, refusal: part.refusal });
        this.emit({ type: "response.content_part.done", ...place, part: { ...part } });
      });
    } else {
      this.emit({
        type: "response.function_call_arguments.done",
        item_id: item.id,
        output_index: outputIndex,
        name: item.name,
        arguments: item.arguments,
      });
    }
    this.emit({ type: "response.output_item.done", output_index: outputIndex, item: structuredClone(item) });
  }

  private snapshot(status: ResponseObject["status"], output = this.output): ResponseObject {
    return {
      ...this.options.settings,
      id: responseId(this.options.requestId),
      object: "response",
      created_at: this.options.createdAt,
      status,
      completed_at: null,
      error: null,
      incomplete_details: null,
      model: this.options.model,
      output: output === this.output ? structuredClone(output) : output,
      usage: null,
    };
  }

  private emit(event: ResponseStreamEvent): void {
    this.options.emit(event, this.sequence++);
  }
}

/** Chat-completions usage in the Responses API's names. */
function responseUsage(usage: Usage | null): ResponseUsage {
  const details = (value: unknown, key: string): number => {
    const count = (value as Record<string, unknown> | null | undefined)?.[key];
    return typeof count === "number" ? count : 0;
  };
  return {
    input_tokens: usage?.prompt_tokens ?? 0,
    input_tokens_details: { cached_tokens: details(usage?.prompt_tokens_details, "cached_tokens") },
    output_tokens: usage?.completion_tokens ?? 0,
    output_tokens_details: { reasoning_tokens: details(usage?.completion_tokens_details, "reasoning_tokens") },
    total_tokens: usage?.total_tokens ?? 0,
  };
}
