// A chat job as the worker traces it: one CONSUMER span per job, a child of the ingress's PRODUCER
// span (its context rides in job.trace), and one GenAI CLIENT span `chat {model}` per upstream call
// (a fallback is a second call). The openai SDK v7 has no working auto-instrumentation, so these
// spans are ours, following the GenAI conventions. Per token they only count; message content is
// recorded only when the operator opts in (SWITCHBOARD_CAPTURE_CONTENT=true).
import { isErrorCode, type ChatJob, type ChunkDelta, type FinishReason, type Usage } from "@switchboard/protocol";
import {
  SpanKind,
  attributeNames,
  eventNames,
  contextWithSpan,
  extractTraceContext,
  markFailed,
  startSpan,
  withSpan,
  type Attributes,
  type Context,
  type Span,
} from "@switchboard/telemetry";
import type { WorkerMetrics } from "./worker-metrics.ts";

export interface JobTelemetryOptions {
  metrics: WorkerMetrics;
  captureContent: boolean;
  queueName: string;
}

/** Outcomes of handleChatJob that mean "nobody listens any more", not a failure. */
const cancelOutcomes = new Set(["cancelled", "client-gone", "no-listener"]);

/** Run a chat job inside its CONSUMER span; the handler's result decides how the span ends. */
export async function traceChatJob(job: ChatJob, attempt: number, options: JobTelemetryOptions, run: (telemetry: JobTelemetry) => Promise<string>): Promise<string> {
  const queueWaitSeconds = Math.max(0, (Date.now() - job.enqueuedAt) / 1000);
  options.metrics.queueWait.record(queueWaitSeconds);
  options.metrics.activeJobs.add(1);
  const span = startSpan(`process ${options.queueName}`, {
    kind: SpanKind.CONSUMER,
    parent: extractTraceContext(job.trace),
    attributes: {
      [attributeNames.messagingSystem]: "bullmq",
      [attributeNames.messagingOperationName]: "process",
      [attributeNames.messagingOperationType]: "process",
      [attributeNames.messagingDestinationName]: options.queueName,
      [attributeNames.messagingMessageId]: job.requestId,
      [attributeNames.requestId]: job.requestId,
      [attributeNames.genAiRequestModel]: job.model,
      [attributeNames.queueWait]: queueWaitSeconds,
      [attributeNames.attempt]: attempt,
    },
  });
  const telemetry = new JobTelemetry(span, job, options);
  try {
    const outcome = await withSpan(span, () => run(telemetry));
    if (cancelOutcomes.has(outcome)) {
      options.metrics.cancellations.add(1, { [attributeNames.cancelReason]: outcome });
      span.setAttribute(attributeNames.cancelled, true);
      span.addEvent(eventNames.cancelled, { [attributeNames.cancelReason]: outcome });
    } else if (isErrorCode(outcome)) {
      options.metrics.errors.add(1, { [attributeNames.errorType]: outcome });
      markFailed(span, outcome);
    } else {
      span.setAttribute(attributeNames.outcome, outcome);
    }
    return outcome;
  } catch (error) {
    options.metrics.errors.add(1, { [attributeNames.errorType]: "internal_error" });
    markFailed(span, "internal_error", (error as Error).message);
    throw error;
  } finally {
    options.metrics.activeJobs.add(-1);
    span.end();
  }
}

export class JobTelemetry {
  private readonly span: Span;
  private readonly job: ChatJob;
  private readonly options: JobTelemetryOptions;
  private readonly parent: Context;

  constructor(span: Span, job: ChatJob, options: JobTelemetryOptions) {
    this.span = span;
    this.job = job;
    this.options = options;
    this.parent = contextWithSpan(span);
  }

  /** Start the GenAI CLIENT span of one upstream call. */
  upstreamCall(target: { providerKey: string; providerType: string; model: string; fallbackIndex: number }): UpstreamCallTelemetry {
    return new UpstreamCallTelemetry(this.parent, this.job, target, this.options);
  }

  /** The call failed before any token went out; the next target is tried. */
  fallback(from: string, to: string, code: string): void {
    this.options.metrics.fallbacks.add(1, { [attributeNames.provider]: from, [attributeNames.errorType]: code });
    if (this.span.isRecording()) this.span.addEvent(eventNames.fallback, { "switchboard.fallback.from": from, "switchboard.fallback.to": to, [attributeNames.errorType]: code });
  }
}

export class UpstreamCallTelemetry {
  private readonly span: Span;
  private readonly options: JobTelemetryOptions;
  private readonly metricAttributes: Attributes;
  private readonly startedAt = performance.now();
  private chunks = 0;
  private ended = false;
  private readonly output: string[] | undefined;

  constructor(parent: Context, job: ChatJob, target: { providerKey: string; providerType: string; model: string; fallbackIndex: number }, options: JobTelemetryOptions) {
    this.options = options;
    const providerName = target.providerType === "openai" ? "openai" : `switchboard.${target.providerType}`;
    this.metricAttributes = { [attributeNames.genAiOperationName]: "chat", [attributeNames.genAiProviderName]: providerName, [attributeNames.provider]: target.providerKey };
    this.span = startSpan(`chat ${target.model}`, {
      kind: SpanKind.CLIENT,
      parent,
      attributes: {
        ...this.metricAttributes,
        [attributeNames.genAiRequestModel]: target.model,
        [attributeNames.genAiRequestStream]: true,
        [attributeNames.fallbackIndex]: target.fallbackIndex,
        [attributeNames.requestId]: job.requestId,
      },
    });
    if (options.captureContent && this.span.isRecording()) {
      this.span.setAttribute(attributeNames.genAiInputMessages, JSON.stringify(inputMessages(job.request.messages)));
      this.output = [];
    }
  }

  /** One chunk from the upstream. Called per token: counts, and notes the first. */
  chunk(delta: ChunkDelta | undefined, responseModel: string | undefined): void {
    if (responseModel && this.span.isRecording()) this.span.setAttribute(attributeNames.genAiResponseModel, responseModel);
    if (!delta) return;
    if (this.output && delta.content) this.output.push(delta.content);
    if (this.chunks++ > 0) return;
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.options.metrics.timeToFirstChunk.record(seconds, this.metricAttributes);
    if (this.span.isRecording()) {
      this.span.setAttribute(attributeNames.genAiResponseTimeToFirstChunk, seconds);
      this.span.addEvent(eventNames.firstChunk);
    }
  }

  finished(finishReason: FinishReason, usage: Usage | null): void {
    if (usage) {
      this.options.metrics.tokenUsage.record(usage.prompt_tokens, { ...this.metricAttributes, [attributeNames.genAiTokenType]: "input" });
      this.options.metrics.tokenUsage.record(usage.completion_tokens, { ...this.metricAttributes, [attributeNames.genAiTokenType]: "output" });
    }
    if (this.span.isRecording()) {
      this.span.setAttribute(attributeNames.genAiResponseFinishReasons, [finishReason]);
      if (usage) {
        this.span.setAttribute(attributeNames.genAiUsageInputTokens, usage.prompt_tokens);
        this.span.setAttribute(attributeNames.genAiUsageOutputTokens, usage.completion_tokens);
      }
      if (this.output) this.span.setAttribute(attributeNames.genAiOutputMessages, JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: this.output.join("") }], finish_reason: finishReason }]));
    }
    this.end();
  }

  failed(code: string, message: string): void {
    markFailed(this.span, code, message);
    this.end(code);
  }

  /** Stopped from outside: nobody listens (cancelled), or a deadline or shutdown (failed). */
  stopped(reason: string): void {
    if (reason === "client-gone" || reason === "no-listener") {
      if (this.span.isRecording()) {
        this.span.setAttribute(attributeNames.cancelled, true);
        this.span.addEvent(eventNames.cancelled, { [attributeNames.cancelReason]: reason });
      }
      return this.end("cancelled");
    }
    const code = reason === "deadline" ? "deadline_exceeded" : reason === "shutdown" ? "shutting_down" : "internal_error";
    this.failed(code, `stopped: ${reason}`);
  }

  private end(errorType?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.options.metrics.operationDuration.record((performance.now() - this.startedAt) / 1000, errorType ? { ...this.metricAttributes, [attributeNames.errorType]: errorType } : this.metricAttributes);
    if (this.span.isRecording()) this.span.setAttribute(attributeNames.chunkCount, this.chunks);
    this.span.end();
  }
}

/** The request's messages in the GenAI conventions' shape (only ever built when capture is on). */
function inputMessages(messages: ReadonlyArray<{ role: string; content?: unknown }>): unknown[] {
  return messages.map((message) => ({
    role: message.role,
    parts: typeof message.content === "string" ? [{ type: "text", content: message.content }] : [{ type: "json", content: message.content ?? null }],
  }));
}
