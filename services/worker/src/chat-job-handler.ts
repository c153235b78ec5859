// Runs one chat job: resolve the route, stream from the upstream (falling back to the next target
// while nothing has reached the client), and relay every delta to the owning ingress.
//
// The client must always hear an end: a finish event, or an error event that says what happened.
// The only silent ends are the ones nobody can hear: the client went away, or its ingress did.
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import { resolveRoute, type RouteTable } from "@switchboard/config";
import { GatewayError, encodeDelta, encodeRelayEvent, isRetryable, type ChatJob, type FinishReason, type Usage } from "@switchboard/protocol";
import { toUpstreamError, type Provider } from "@switchboard/providers";
import { RequestRelay, earlierAttemptRelayedOutput, isCancelled, type RecentCancels, type RelayKeys } from "@switchboard/relay";
import type { Logger } from "@switchboard/telemetry";
import { DeltaCoalescer } from "./delta-coalescer.ts";

export interface ChatJobDeps {
  redis: Redis;
  keys: RelayKeys;
  routes: RouteTable;
  providers: Map<string, Provider>;
  /** Cancel broadcasts this worker heard: spares most jobs a Redis round trip before the upstream call. */
  recentCancels: RecentCancels;
  workerId: string;
  logTtlMs: number;
  noListenerGraceMs: number;
  log: Logger;
}

/** Why a job stopped early; the reason decides whether anyone is told. */
type StopReason = "client-gone" | "no-listener" | "deadline" | "shutdown";

export async function handleChatJob(job: Job<ChatJob>, jobSignal: AbortSignal | undefined, deps: ChatJobDeps): Promise<string> {
  const { requestId, deadlineAt } = job.data;
  const attempt = Math.max(1, job.attemptsStarted);
  const stop = new AbortController();
  const relay = new RequestRelay({
    redis: deps.redis,
    keys: deps.keys,
    requestId,
    replyChannel: job.data.replyChannel,
    attempt,
    logTtlMs: deps.logTtlMs,
    onNoListener: () => stop.abort("no-listener" satisfies StopReason),
    noListenerGraceMs: deps.noListenerGraceMs,
  });
  const coalescer = job.data.request.stream === true ? undefined : new DeltaCoalescer((frame) => void relay.emit(frame).catch((error: unknown) => stop.abort(error)));
  const fail = async (error: GatewayError) => {
    coalescer?.flush();
    await relay.emit(encodeRelayEvent({ kind: "error", code: error.code, message: error.message, ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }) }));
    return error.code;
  };

  if (deps.recentCancels.knows(requestId, job.timestamp, attempt) ?? (await isCancelled(deps.redis, deps.keys, requestId))) return "cancelled";
  if (Date.now() >= deadlineAt) return fail(new GatewayError("queue_timeout"));
  if (attempt > 1 && (await earlierAttemptRelayedOutput(deps.redis, deps.keys, requestId))) {
    return fail(new GatewayError("upstream_interrupted", { message: "The worker serving this answer stopped after it had started; it cannot be resumed." }));
  }

  const onJobAbort = () => stop.abort((jobSignal?.reason as StopReason | undefined) ?? "client-gone");
  jobSignal?.addEventListener("abort", onJobAbort, { once: true });
  const deadline = setTimeout(() => stop.abort("deadline" satisfies StopReason), deadlineAt - Date.now());
  try {
    relay.emit(encodeRelayEvent({ kind: "started", worker: deps.workerId })).catch(() => {});
    const route = resolveRoute(deps.routes, job.data.model);
    if (!route) return await fail(new GatewayError("model_not_found", { param: "model", message: `The model "${job.data.model}" is not served by this gateway.` }));

    const targets = [route, ...route.fallbacks];
    for (let index = 0; index < targets.length; index++) {
      const target = targets[index] as (typeof targets)[number];
      const provider = deps.providers.get(target.provider);
      if (!provider) return await fail(new GatewayError("internal_error", { message: `Provider "${target.provider}" is not configured.` }));
      let relayedOutput = false;
      let finishReason: FinishReason | undefined;
      let usage: Usage | null = null;
      try {
        const chunks = provider.stream({ body: job.data.request as Record<string, unknown>, model: target.model ?? job.data.model, signal: stop.signal });
        for await (const chunk of chunks) {
          if (chunk.delta) {
            if (coalescer) coalescer.add(chunk.delta);
            else relay.emit(encodeDelta(chunk.delta)).catch((error: unknown) => stop.abort(error));
            relayedOutput = true;
          }
          if (chunk.finishReason) finishReason = chunk.finishReason;
          if (chunk.usage) usage = chunk.usage;
        }
        if (!finishReason) throw new GatewayError("upstream_unavailable", { message: `${provider.name} ended the stream without a finish reason.` });
        coalescer?.flush();
        await relay.emit(encodeRelayEvent({ kind: "finish", finishReason, usage }));
        return finishReason;
      } catch (caught) {
        if (stop.signal.aborted) return await stopped(stop.signal.reason, relay, fail);
        const error = toUpstreamError(caught, provider.name);
        if (relayedOutput) {
          return await fail(new GatewayError("upstream_interrupted", { message: `The answer was interrupted after it had started: ${error.message}`, cause: error }));
        }
        const next = targets[index + 1];
        if (next && isRetryable(error.code)) {
          deps.log.warn("upstream failed, trying fallback", { requestId, code: error.code, provider: provider.name, next: next.provider });
          continue;
        }
        return await fail(error);
      }
    }
    return "unreachable";
  } finally {
    relay.close();
    clearTimeout(deadline);
    jobSignal?.removeEventListener("abort", onJobAbort);
  }
}

async function stopped(reason: unknown, relay: RequestRelay, fail: (error: GatewayError) => Promise<string>): Promise<string> {
  switch (reason as StopReason) {
    case "deadline":
      return fail(new GatewayError("deadline_exceeded"));
    case "shutdown":
      return fail(new GatewayError("shutting_down", { message: "The worker serving this answer is shutting down." }));
    case "client-gone":
    case "no-listener":
      await relay.flush().catch(() => {});
      return String(reason);
    default:
      // A relay write failed (Redis unreachable): nobody can be told through Redis either.
      throw reason instanceof Error ? reason : new Error(String(reason));
  }
}
