// A chat job as the worker traces it: one CONSUMER span per job, a child of the ingress's PRODUCER
// span (its context rides in job.trace), and one GenAI CLIENT span `chat {model}` per upstream call
// (a fallback is a second call). The openai SDK v7 has no working auto-instrumentation, so these
// spans are ours, following the GenAI conventions. Per token they only count; message content is
// recorded only when the operator opts in (SWITCHBOARD_CAPTURE_CONTENT=true). A job of a
// conversation also has each upstream call's end written to the conversation's timeline
// (timeline-recorder.ts).
import {
  errorCodes,
  isErrorCode,
  type ChatJob,
  type ChunkDelta,
  type FinishReason,
  type Usage,
} from "@switchboard/protocol";
import {
  SpanKind,
  attributeNames,
  eventNames,
  contextWithSpan,
  extractTraceContext,
  isTracingEnabled,
  markFailed,
  startSpan,
  withSpan,
  type Attributes,
  type Context,
  type Span,
} from "@switchboard/telemetry";
import { outcomeKind, type JobOutcome } from "./job-outcome.ts";
import type { TimelineRecorder } from "./timeline-recorder.ts";
import type { AttemptRecord } from "@switchboard/relay";
import type { WorkerMetrics } from "./worker-metrics.ts";

export interface JobTelemetryOptions {
  metrics: WorkerMetrics;
  captureContent: boolean;
  queueName: string;
  /** Where a conversation's attempts are recorded; absent: nowhere. */
  timeline?: TimelineRecorder;
}

/** Run a chat job inside its CONSUMER span; the handler's result decides how the span ends. */
export async function traceChatJob(
  job: ChatJob,
  attempt: number,
  options: JobTelemetryOptions,
  run: (telemetry: JobTelemetry) => Promise<JobOutcome>,
): Promise<JobOutcome> {
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
      ...(job.conversationId ? { [attributeNames.genAiConversationId]: job.conversationId } : {}),
    },
  });
  const telemetry = new JobTelemetry(span, job, options);
  try {
    const outcome = await withSpan(span, () => run(telemetry));
    switch (outcomeKind(outcome)) {
      case "cancelled":
        options.metrics.cancellations.add(1, { [attributeNames.cancelReason]: outcome });
        span.setAttribute(attributeNames.cancelled, true);
        span.addEvent(eventNames.cancelled, { [attributeNames.cancelReason]: outcome });
        break;
      case "failed":
        options.metrics.errors.add(1, { [attributeNames.errorType]: outcome });
        markFailed(span, outcome);
        break;
      case "answered":
      case "taken-over":
        span.setAttribute(attributeNames.outcome, outcome);
        break;
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
  upstreamCall(target: UpstreamTarget): UpstreamCallTelemetry {
    return new UpstreamCallTelemetry(this.parent, this.job, target, this.options);
  }

  /** The call failed before any token went out; the same target is tried again. */
  retry(provider: string, code: string): void {
    this.options.metrics.retries.add(1, { [attributeNames.provider]: provider, [attributeNames.errorType]: code });
  }

  /** A hedge call to `provider` started (hedged: the target that was slow), or the budget refused it. */
  hedge(outcome: "started" | "refused", provider: string): void {
    const counter =
      outcome === "started" ? this.options.metrics.hedgesStarted : this.options.metrics.hedgeBudgetRefusals;
    counter.add(1, { [attributeNames.provider]: provider });
  }

  /** A hedged request's race is decided: the call to `provider` won, as the primary or the hedge. */
  hedgeWon(provider: string, role: "primary" | "hedge"): void {
    this.options.metrics.hedgeWins.add(1, { [attributeNames.provider]: provider, [attributeNames.hedgeRole]: role });
    if (this.span.isRecording()) this.span.setAttribute(attributeNames.hedgeRole, role);
  }

  /** The call failed before any token went out; the next target is tried. */
  fallback(from: string, to: string, code: string): void {
    this.options.metrics.fallbacks.add(1, { [attributeNames.provider]: from, [attributeNames.errorType]: code });
    if (this.span.isRecording())
      this.span.addEvent(eventNames.fallback, {
        "switchboard.fallback.from": from,
        "switchboard.fallback.to": to,
        [attributeNames.errorType]: code,
      });
  }
}

/** The OpenTelemetry GenAI names of the provider types that have one (gen_ai.provider.name). */
const wellKnownProviderNames = new Map([
  ["openai", "openai"],
  ["anthropic", "anthropic"],
  ["gemini", "gcp.gemini"],
]);

/**
 * The CLIENT span of one upstream call. Nothing is a child of it, so it is built when the call
 * ends, with the start time noted when the call began: no span work stands between the request
 * and its first token.
 */
export class UpstreamCallTelemetry {
  private readonly parent: Context;
  private readonly job: ChatJob;
  private readonly target: UpstreamTarget;
  private readonly options: JobTelemetryOptions;
  private readonly metricAttributes: Attributes;
  private readonly startedAt = performance.now();
  private readonly attributes: Attributes = {};
  private chunks = 0;
  private firstChunkAt: number | undefined;
  private responseModel: string | undefined;
  private usage: Usage | null = null;
  private cancelReason: string | undefined;
  private failure: { code: string; message: string } | undefined;
  private ended = false;
  private readonly output: string[] | undefined;

  constructor(parent: Context, job: ChatJob, target: UpstreamTarget, options: JobTelemetryOptions) {
    this.parent = parent;
    this.job = job;
    this.target = target;
    this.options = options;
    const providerName = wellKnownProviderNames.get(target.providerType) ?? `switchboard.${target.providerType}`;
    this.metricAttributes = {
      [attributeNames.genAiOperationName]: "chat",
      [attributeNames.genAiProviderName]: providerName,
      [attributeNames.provider]: target.providerKey,
    };
    if (options.captureContent && isTracingEnabled()) this.output = [];
  }

  /** One chunk from the upstream. Called per token: counts and notes the first; the rest waits for the end. */
  chunk(delta: ChunkDelta | undefined, responseModel: string | undefined): void {
    if (responseModel) this.responseModel = responseModel;
    if (!delta) return;
    if (this.output && delta.content) this.output.push(delta.content);
    if (this.chunks++ === 0) this.firstChunkAt = performance.now();
  }

  finished(finishReason: FinishReason, usage: Usage | null): void {
    this.usage = usage;
    if (usage) {
      this.options.metrics.tokenUsage.record(usage.prompt_tokens, {
        ...this.metricAttributes,
        [attributeNames.genAiTokenType]: "input",
      });
      this.options.metrics.tokenUsage.record(usage.completion_tokens, {
        ...this.metricAttributes,
        [attributeNames.genAiTokenType]: "output",
      });
      this.attributes[attributeNames.genAiUsageInputTokens] = usage.prompt_tokens;
      this.attributes[attributeNames.genAiUsageOutputTokens] = usage.completion_tokens;
    }
    this.attributes[attributeNames.genAiResponseFinishReasons] = [finishReason];
    if (this.output)
      this.attributes[attributeNames.genAiOutputMessages] = JSON.stringify([
        { role: "assistant", parts: [{ type: "text", content: this.output.join("") }], finish_reason: finishReason },
      ]);
    this.end();
  }

  /**
   * The call failed. The span's status carries the code and its standard description; what the
   * upstream said (scrubbed of secrets, and of quoted passages unless content capture is on:
   * providers quote the request back) goes in an attribute of its own.
   */
  failed(code: string, upstreamDetail?: string): void {
    this.failure ??= { code, message: isErrorCode(code) ? errorCodes[code].message : code };
    if (upstreamDetail !== undefined) this.attributes[attributeNames.upstreamErrorMessage] = upstreamDetail;
    this.end(code);
  }

  /** Another call of a hedged request answered first: this one was closed, unheard. Not a failure. */
  lostRace(): void {
    this.attributes[attributeNames.hedgeOutcome] = "lost";
    this.end();
  }

  /** This call's answer won a hedged request's race (it is relayed). */
  wonRace(): void {
    this.attributes[attributeNames.hedgeOutcome] = "won";
  }

  /** Stopped from outside: nobody listens (cancelled), or a deadline or shutdown (failed). */
  stopped(reason: string): void {
    if (reason === "client-gone" || reason === "superseded" || reason === "no-listener") {
      this.cancelReason = reason;
      this.attributes[attributeNames.cancelled] = true;
      return this.end("cancelled");
    }
    const code =
      reason === "deadline" ? "deadline_exceeded" : reason === "shutdown" ? "shutting_down" : "internal_error";
    this.failed(code);
  }

  private end(errorType?: string): void {
    if (this.ended) return;
    this.ended = true;
    const endedAt = performance.now();
    this.options.metrics.operationDuration.record(
      (endedAt - this.startedAt) / 1000,
      errorType ? { ...this.metricAttributes, [attributeNames.errorType]: errorType } : this.metricAttributes,
    );
    const timeToFirstChunk = this.firstChunkAt === undefined ? undefined : (this.firstChunkAt - this.startedAt) / 1000;
    if (timeToFirstChunk !== undefined)
      this.options.metrics.timeToFirstChunk.record(timeToFirstChunk, this.metricAttributes);
    if (this.options.timeline && this.job.conversationId)
      this.options.timeline.attemptEnded(this.job.conversationId, this.attemptRecord(endedAt, errorType));
    if (!isTracingEnabled()) return;

    const span = startSpan(`chat ${this.target.model}`, {
      kind: SpanKind.CLIENT,
      parent: this.parent,
      startTime: performance.timeOrigin + this.startedAt,
      attributes: {
        ...this.metricAttributes,
        [attributeNames.genAiRequestModel]: this.target.model,
        [attributeNames.genAiRequestStream]: true,
        [attributeNames.fallbackIndex]: this.target.fallbackIndex,
        [attributeNames.upstreamRetry]: this.target.retry,
        [attributeNames.upstreamHedge]: this.target.hedge,
        [attributeNames.requestId]: this.job.requestId,
        [attributeNames.chunkCount]: this.chunks,
        ...(this.responseModel ? { [attributeNames.genAiResponseModel]: this.responseModel } : {}),
        ...(timeToFirstChunk === undefined ? {} : { [attributeNames.genAiResponseTimeToFirstChunk]: timeToFirstChunk }),
        ...(this.output
          ? { [attributeNames.genAiInputMessages]: JSON.stringify(inputMessages(this.job.request.messages)) }
          : {}),
        ...this.attributes,
      },
    });
    if (!span.isRecording()) return;
    if (this.firstChunkAt !== undefined)
      span.addEvent(eventNames.firstChunk, performance.timeOrigin + this.firstChunkAt);
    if (this.cancelReason)
      span.addEvent(
        eventNames.cancelled,
        { [attributeNames.cancelReason]: this.cancelReason },
        performance.timeOrigin + endedAt,
      );
    if (this.failure) markFailed(span, this.failure.code, this.failure.message);
    span.end(performance.timeOrigin + endedAt);
  }

  /** The call's record for the conversation's timeline: ids, times, counts and codes, no content. */
  private attemptRecord(endedAt: number, errorType: string | undefined): AttemptRecord {
    const { target } = this;
    const outcome =
      this.attributes[attributeNames.hedgeOutcome] === "lost"
        ? "lost"
        : this.cancelReason === "superseded"
          ? "superseded"
          : errorType === undefined
            ? "finish"
            : errorType === "cancelled"
              ? "cancelled"
              : "failed";
    const attempt = target.hedge
      ? "hedge"
      : target.retry > 0
        ? "retry"
        : target.fallbackIndex > 0
          ? "fallback"
          : "first";
    return {
      kind: "attempt",
      requestId: this.job.requestId,
      attempt,
      provider: target.providerKey,
      model: target.model,
      fallbackIndex: target.fallbackIndex,
      retry: target.retry,
      ...(target.hedge === undefined ? {} : { hedge: target.hedge }),
      startedAt: Math.round(performance.timeOrigin + this.startedAt),
      durationMs: Math.round(endedAt - this.startedAt),
      ...(this.firstChunkAt === undefined ? {} : { firstChunkMs: Math.round(this.firstChunkAt - this.startedAt) }),
      ...(this.usage ? { inputTokens: this.usage.prompt_tokens, outputTokens: this.usage.completion_tokens } : {}),
      outcome,
      ...(outcome === "failed" && errorType ? { errorCode: errorType } : {}),
    };
  }
}

export interface UpstreamTarget {
  providerKey: string;
  providerType: string;
  model: string;
  fallbackIndex: number;
  /** 0 for the first call to this target, 1 for its first retry, … */
  retry: number;
  /** A hedge: started in parallel because the previous target sent no useful token in time. */
  hedge: boolean;
}

/** The request's messages in the GenAI conventions' shape (only ever built when capture is on). */
function inputMessages(messages: ReadonlyArray<{ role: string; content?: unknown }>): unknown[] {
  return messages.map((message) => ({
    role: message.role,
    parts:
      typeof message.content === "string"
        ? [{ type: "text", content: message.content }]
        : [{ type: "json", content: message.content ?? null }],
  }));
}
