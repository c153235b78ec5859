// Runs one chat job: resolve the route, stream from the upstream (retrying, then falling back to
// the next target, while nothing has reached the client), and relay every delta to the owning
// ingress.
//
// The client must always hear an end: a finish event, or an error event that says what happened
// (or, on a route with a fallback sentence, that sentence). The only silent ends are the ones
// nobody can hear: the client went away, or its ingress did.
import { setTimeout as sleep } from "node:timers/promises";
import { WaitingError, type Job } from "bullmq";
import { resolveRoute, type Route, type RouteTable } from "@switchboard/config";
import {
  GatewayError,
  elideQuoted,
  encodeDelta,
  encodeRelayEvent,
  isDeterministic,
  isRetryable,
  type ChatJob,
  type FinishReason,
  type Usage,
} from "@switchboard/protocol";
import { toUpstreamError, type Provider } from "@switchboard/providers";
import {
  RequestRelay,
  earlierAttemptRelayedOutput,
  type RelayBatcher,
  isCancelled,
  type RecentCancels,
  type RedisConnection,
  type RelayKeys,
} from "@switchboard/relay";
import type { Logger } from "@switchboard/telemetry";
import { DeltaCoalescer } from "./delta-coalescer.ts";
import type { JobTelemetry } from "./job-telemetry.ts";
import type { ListenerWatch } from "./listener-watch.ts";
import type { StartPacer } from "./start-pacer.ts";
import { timedUpstream } from "./timed-upstream.ts";

export interface ChatJobDeps {
  redis: RedisConnection;
  keys: RelayKeys;
  routes: RouteTable;
  providers: Map<string, Provider>;
  /** Cancel broadcasts this worker heard: spares most jobs a Redis round trip before the upstream call. */
  recentCancels: RecentCancels;
  /** Paces the upstream calls of jobs that arrive together (start-pacer.ts); none: start at once. */
  starts?: StartPacer;
  workerId: string;
  /** Writes the relay events of all this worker's requests, a batch per event-loop turn and ingress. */
  relayBatcher: RelayBatcher;
  noListenerGraceMs: number;
  listenerWatch: ListenerWatch;
  upstream: {
    firstTokenTimeoutMs: number;
    idleTimeoutMs: number;
    retries: number;
    retryBackoffMs: number;
    /** Longest Retry-After a client is told (an upstream's own value is capped to it). */
    retryAfterMaxSeconds: number;
  };
  /** SWITCHBOARD_CAPTURE_CONTENT: an upstream's error text is logged with its quoted passages. */
  captureContent: boolean;
  log: Logger;
}

/** Longest wait before retrying the same target; a voice user is waiting. */
const maxRetryWaitMs = 1000;

/**
 * How much longer than the time left to the deadline a non-streamed upstream call may take: the
 * job's deadline timer, armed earlier for less, fires first, so the request ends with
 * deadline_exceeded rather than an upstream timeout. The SDK's bound only backs it up.
 */
const deadlineMarginMs = 1000;

/** Why a job stopped early; the reason decides whether anyone is told. */
type StopReason = "client-gone" | "no-listener" | "deadline" | "shutdown" | "lock-lost";

export async function handleChatJob(
  job: Job<ChatJob>,
  jobSignal: AbortSignal | undefined,
  deps: ChatJobDeps,
  telemetry: JobTelemetry,
  token?: string,
): Promise<string> {
  const { requestId, deadlineAt } = job.data;
  const attempt = jobAttempt(job);
  const stop = new AbortController();
  const relay = new RequestRelay({
    batcher: deps.relayBatcher,
    keys: deps.keys,
    requestId,
    ingressId: job.data.ingressId,
    replyChannel: job.data.replyChannel,
    attempt,
    onNoListener: () => stop.abort("no-listener" satisfies StopReason),
    noListenerGraceMs: deps.noListenerGraceMs,
  });
  const streamed = job.data.request.stream === true;
  // For a provider that streams even when the client asked for one answer (the simulated one).
  const coalescer = streamed
    ? undefined
    : new DeltaCoalescer((frame) => void relay.emit(frame).catch((error: unknown) => stop.abort(error)));
  /** The route's exposeUpstreamErrors, once the route is known: the client also hears the upstream's (scrubbed) text. */
  let exposeUpstreamErrors = false;
  const fail = async (error: GatewayError) => {
    coalescer?.flush();
    const retryAfterSeconds =
      error.retryAfterSeconds === undefined
        ? undefined
        : Math.min(error.retryAfterSeconds, deps.upstream.retryAfterMaxSeconds);
    await relay.emit(
      encodeRelayEvent({
        kind: "error",
        code: error.code,
        message:
          exposeUpstreamErrors && error.detail ? `${error.message} The upstream said: ${error.detail}` : error.message,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      }),
    );
    return error.code;
  };
  if (
    deps.recentCancels.knows(requestId, job.timestamp, attempt) ??
    (await isCancelled(deps.redis, deps.keys, requestId))
  ) {
    deps.log.info("request cancelled", { requestId, reason: "client-gone", stage: "queued", deltas: 0 });
    return "cancelled";
  }
  if (Date.now() >= deadlineAt) return fail(new GatewayError("queue_timeout"));
  // The queue-wait bound is for a first start; a job taken over or handed back was started in time.
  if (attempt === 1 && job.data.startBy !== undefined && Date.now() > job.data.startBy)
    return fail(new GatewayError("queue_timeout", { retryAfterSeconds: 1 }));
  if (attempt > 1 && (await earlierAttemptRelayedOutput(deps.redis, deps.keys, job.data.ingressId, requestId))) {
    return fail(
      new GatewayError("upstream_interrupted", {
        message: "The worker serving this answer stopped after it had started; it cannot be resumed.",
      }),
    );
  }
  // After the queue-wait check (the job was picked up in time); a cancel heard meanwhile is seen below.
  await deps.starts?.turn();

  const onJobAbort = () => stop.abort((jobSignal?.reason as StopReason | undefined) ?? "client-gone");
  jobSignal?.addEventListener("abort", onJobAbort, { once: true });
  if (jobSignal?.aborted) onJobAbort();
  const unwatch = deps.listenerWatch.watch(job.data.replyChannel, () => stop.abort("no-listener" satisfies StopReason));
  const deadline = setTimeout(() => stop.abort("deadline" satisfies StopReason), deadlineAt - Date.now());
  let deltas = 0;
  let usage: Usage | null = null;
  try {
    // In the log at once (the ingress's queue-wait check and a later attempt read it there); the
    // ingress hears it with the first token or the end, one pub/sub message fewer per request.
    relay.emitQuietly(encodeRelayEvent({ kind: "started", worker: deps.workerId })).catch(() => {});
    const route = resolveRoute(deps.routes, job.data.model);
    if (!route)
      return await fail(
        new GatewayError("model_not_found", {
          param: "model",
          message: `The model "${job.data.model}" is not served by this gateway.`,
        }),
      );
    exposeUpstreamErrors = route.exposeUpstreamErrors;
    const targets = [route, ...route.fallbacks];
    let lastError: GatewayError | undefined;
    for (let index = 0; index < targets.length; index++) {
      const target = targets[index] as (typeof targets)[number];
      const provider = deps.providers.get(target.provider);
      if (!provider)
        return await fail(
          new GatewayError("internal_error", { message: `Provider "${target.provider}" is not configured.` }),
        );
      const model = target.model ?? job.data.model;
      for (let retry = 0; ; retry++) {
        let finishReason: FinishReason | undefined;
        const call = telemetry.upstreamCall({
          providerKey: target.provider,
          providerType: deps.routes.providers[target.provider]?.type ?? "unknown",
          model,
          fallbackIndex: index,
          retry,
        });
        try {
          const chunks = timedUpstream({
            provider,
            body: job.data.request as Record<string, unknown>,
            model,
            signal: stop.signal,
            stream: streamed,
            // One answer comes whole: the request's deadline bounds it, not the header timeout.
            ...(streamed ? {} : { timeoutMs: deadlineAt - Date.now() + deadlineMarginMs }),
            firstTokenTimeoutMs: deps.upstream.firstTokenTimeoutMs,
            idleTimeoutMs: deps.upstream.idleTimeoutMs,
          });
          for await (const chunk of chunks) {
            if (chunk.delta) {
              if (coalescer) coalescer.add(chunk.delta);
              else relay.emit(encodeDelta(chunk.delta)).catch((error: unknown) => stop.abort(error));
              deltas++;
            }
            // After the write: telemetry never delays a token.
            call.chunk(chunk.delta, chunk.model);
            if (chunk.finishReason) finishReason = chunk.finishReason;
            if (chunk.usage) usage = chunk.usage;
          }
          if (!finishReason)
            throw new GatewayError("upstream_unavailable", {
              message: `${provider.name} ended the stream without a finish reason.`,
            });
          call.finished(finishReason, usage);
          coalescer?.flush();
          await relay.emit(encodeRelayEvent({ kind: "finish", finishReason, usage }));
          return finishReason;
        } catch (caught) {
          if (stop.signal.aborted) {
            call.stopped(String(stop.signal.reason));
            return await stopped(stop.signal.reason);
          }
          const error = toUpstreamError(caught, provider.name);
          // The upstream's own words are the operator's to read, here, not the client's.
          const detail = error.detail === undefined || deps.captureContent ? error.detail : elideQuoted(error.detail);
          call.failed(error.code, detail);
          deps.log.warn("upstream call failed", {
            requestId,
            code: error.code,
            provider: provider.name,
            retry,
            ...(detail === undefined ? {} : { detail }),
          });
          if (deltas > 0) {
            // Never a truncated answer dressed as success, never a second answer glued to the first.
            deps.log.warn("upstream failed after the first token", {
              requestId,
              code: error.code,
              provider: provider.name,
              deltas,
            });
            return await fail(
              new GatewayError("upstream_interrupted", {
                message: `The answer was interrupted after it had started: ${error.message}`,
                cause: error,
                ...(error.detail === undefined ? {} : { detail: error.detail }),
              }),
            );
          }
          if (!isRetryable(error.code)) return await failBeforeOutput(route, error);
          lastError = error;
          const waitMs = backoffMs(deps.upstream.retryBackoffMs, retry, error.retryAfterSeconds);
          // A long Retry-After is better spent on a fallback target, or told to the client.
          const canRetry =
            retry < deps.upstream.retries && waitMs <= maxRetryWaitMs && Date.now() + waitMs < deadlineAt;
          const next = targets[index + 1];
          if (!canRetry) {
            if (next) {
              deps.log.warn("upstream failed, trying fallback", {
                requestId,
                code: error.code,
                provider: provider.name,
                retry,
                next: next.provider,
              });
              telemetry.fallback(target.provider, next.provider, error.code);
            }
            break;
          }
          deps.log.warn("upstream failed, retrying", { requestId, code: error.code, provider: provider.name, retry });
          telemetry.retry(target.provider, error.code);
          try {
            await sleep(waitMs, undefined, { signal: stop.signal });
          } catch {
            return await stopped(stop.signal.reason);
          }
        }
      }
    }
    return await failBeforeOutput(route, lastError ?? new GatewayError("upstream_unavailable"));
  } finally {
    relay.close();
    unwatch();
    clearTimeout(deadline);
    jobSignal?.removeEventListener("abort", onJobAbort);
  }

  /**
   * Nothing reached the client yet: on a route with a fallback sentence, a spoken sentence keeps a
   * voice call alive. Not for a failure that would come back on every turn (the upstream rejected
   * the request or the gateway's credentials): that one is an explicit error, so it gets seen.
   */
  async function failBeforeOutput(route: Route, error: GatewayError): Promise<string> {
    if (route.fallbackSentence === undefined || isDeterministic(error.code)) return fail(error);
    deps.log.warn("upstream failed, answering with the route's fallback sentence", { requestId, code: error.code });
    await Promise.all([
      relay.emit(encodeDelta({ content: route.fallbackSentence })),
      relay.emit(encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null })),
    ]);
    return "fallback-sentence";
  }

  async function stopped(reason: unknown): Promise<string> {
    switch (reason as StopReason) {
      case "deadline":
        return fail(new GatewayError("deadline_exceeded"));
      case "shutdown":
        if (deltas === 0 && token) {
          // Nothing reached the client: hand the job back, another worker answers it.
          await relay.flush().catch(() => {});
          const handedBack = await job.moveToWait(token).then(
            () => true,
            () => false,
          );
          if (handedBack) {
            deps.log.info("request handed back", { requestId });
            throw new WaitingError();
          }
        }
        return fail(new GatewayError("shutting_down", { message: "The worker serving this answer is shutting down." }));
      case "no-listener":
        // Nobody hears it now, but a reply subscriber that is only reconnecting (a Redis failover
        // moves every connection, not all at the same moment) reads the log when it is back: the
        // end goes there, so that request ends with an error instead of at its deadline.
        await fail(
          new GatewayError("redis_unavailable", {
            retryAfterSeconds: 1,
            message: "The gateway lost the Redis connection that carries this answer; retry after the indicated time.",
          }),
        ).catch(() => {});
        deps.log.info("request cancelled", {
          requestId,
          reason: "no-listener",
          stage: deltas > 0 ? "streaming" : "before-first-token",
          deltas,
          usage,
        });
        return "no-listener";
      case "client-gone":
      case "lock-lost":
        // Not an error: nobody is listening. Recorded with what had been produced so far.
        await relay.flush().catch(() => {});
        deps.log.info("request cancelled", {
          requestId,
          reason: String(reason),
          stage: deltas > 0 ? "streaming" : "before-first-token",
          deltas,
          usage,
        });
        return String(reason);
      default:
        // A relay write failed (Redis unreachable): nobody can be told through Redis either.
        throw reason instanceof Error ? reason : new Error(String(reason));
    }
  }
}

/** BullMQ's attempt number of this run of the job (1 for the first). */
export function jobAttempt(job: Job<ChatJob>): number {
  return Math.max(1, job.attemptsStarted);
}

/** Exponential backoff with jitter; an upstream's Retry-After wins when it is longer. */
function backoffMs(baseMs: number, retry: number, retryAfterSeconds: number | undefined): number {
  const exponential = baseMs * 2 ** retry;
  const jittered = exponential / 2 + Math.random() * (exponential / 2);
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
}
