// Runs one chat job: resolve the route, stream from the upstream (retrying, then falling back to
// the next target, while nothing has reached the client), and relay every delta to the owning
// ingress.
//
// The client must always hear an end: a finish event, or an error event that says what happened
// (or, on a route with a fallback sentence, that sentence). The only silent ends are the ones
// nobody can hear: the client went away, or its ingress did.
//
// Read top to bottom: admission checks (admit), the stop sources (watchStops), the attempts at
// the route's targets (runTargets, deciding after a failure with attempt-policy.ts), one attempt
// relayed (runAttempt), and the ends (fail, failBeforeOutput, stopped).
import { setTimeout as sleep } from "node:timers/promises";
import { WaitingError, type Job } from "bullmq";
import { resolveRoute, type Hedge, type Route, type RouteTable } from "@switchboard/config";
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
import { toUpstreamError, type Provider, type UpstreamChunk } from "@switchboard/providers";
import {
  RequestRelay,
  earlierAttemptRelayedOutput,
  type RelayBatcher,
  cancelReason,
  type RecentCancels,
  type RedisConnection,
  type RelayKeys,
} from "@switchboard/relay";
import type { Logger } from "@switchboard/telemetry";
import { decideAfterFailure } from "./attempt-policy.ts";
import { DeltaCoalescer } from "./delta-coalescer.ts";
import { raceFirstToken } from "./first-token-race.ts";
import type { FirstTokenTimes } from "./first-token-times.ts";
import type { HedgeBudget } from "./hedge-budget.ts";
import type { JobOutcome } from "./job-outcome.ts";
import type { JobTelemetry, UpstreamCallTelemetry } from "./job-telemetry.ts";
import type { ListenerWatch } from "./listener-watch.ts";
import type { StartPacer } from "./start-pacer.ts";
import { latencyFirst } from "./target-choice.ts";
import type { BreakerSettings, TargetHealth } from "./target-health.ts";
import { UpstreamAttempt, isUseful } from "./upstream-attempt.ts";

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
  /** The routes' hedge budgets, shared by the workers through Redis. */
  hedgeBudget: HedgeBudget;
  /** This worker's recent first-token times per target: the adaptive hedge delay. */
  firstTokenTimes: FirstTokenTimes;
  /** The targets' shared health and breakers (routes with `health`). */
  targetHealth: TargetHealth;
  log: Logger;
}

/**
 * How much longer than the time left to the deadline a non-streamed upstream call may take: the
 * job's deadline timer, armed earlier for less, fires first, so the request ends with
 * deadline_exceeded rather than an upstream timeout. The SDK's bound only backs it up.
 */
const deadlineMarginMs = 1000;

/** Why a job stopped early; the reason decides whether anyone is told. */
type StopReason = "client-gone" | "superseded" | "no-listener" | "deadline" | "shutdown" | "lock-lost";

/** One target of a route: the route itself or one of its fallbacks. */
type Target = Pick<Route, "provider" | "model">;

/** How one step (a call, and its hedge if one started) ended. */
type StepResult =
  | { kind: "finished"; finishReason: FinishReason }
  /** The call whose failure decides what comes next (attempt-policy.ts). */
  | { kind: "failed"; error: GatewayError; attempt: UpstreamAttempt }
  /** The job's stop signal fired (see StopReason). */
  | { kind: "stopped" }
  /** The target names a provider the worker does not have. */
  | { kind: "unconfigured"; provider: string };

export async function handleChatJob(
  job: Job<ChatJob>,
  jobSignal: AbortSignal | undefined,
  deps: ChatJobDeps,
  telemetry: JobTelemetry,
  token?: string,
): Promise<JobOutcome> {
  return new ChatJobRun(job, jobSignal, deps, telemetry, token).run();
}

/** The routing table's key that serves a model id: the id itself, or "*". */
function routeKeyOf(table: RouteTable, modelId: string): string {
  return Object.hasOwn(table.routes, modelId) ? modelId : "*";
}

/** BullMQ's attempt number of this run of the job (1 for the first). */
export function jobAttempt(job: Job<ChatJob>): number {
  return Math.max(1, job.attemptsStarted);
}

class ChatJobRun {
  private readonly job: Job<ChatJob>;
  private readonly jobSignal: AbortSignal | undefined;
  private readonly deps: ChatJobDeps;
  private readonly telemetry: JobTelemetry;
  private readonly token: string | undefined;
  private readonly requestId: string;
  private readonly attempt: number;
  private readonly streamed: boolean;
  private readonly stop = new AbortController();
  private readonly relay: RequestRelay;
  /** For a provider that streams even when the client asked for one answer (the simulated one). */
  private readonly coalescer: DeltaCoalescer | undefined;
  /** The route's exposeUpstreamErrors, once the route is known: the client also hears the upstream's (scrubbed) text. */
  private exposeUpstreamErrors = false;
  /** The route's breaker settings, once the route is known; none: target health is not used. */
  private breaker: BreakerSettings | undefined;
  /** Deltas relayed to the client so far. */
  private deltas = 0;
  private usage: Usage | null = null;

  constructor(
    job: Job<ChatJob>,
    jobSignal: AbortSignal | undefined,
    deps: ChatJobDeps,
    telemetry: JobTelemetry,
    token: string | undefined,
  ) {
    this.job = job;
    this.jobSignal = jobSignal;
    this.deps = deps;
    this.telemetry = telemetry;
    this.token = token;
    this.requestId = job.data.requestId;
    this.attempt = jobAttempt(job);
    this.streamed = job.data.request.stream === true;
    this.relay = new RequestRelay({
      batcher: deps.relayBatcher,
      keys: deps.keys,
      requestId: this.requestId,
      ingressId: job.data.ingressId,
      replyChannel: job.data.replyChannel,
      attempt: this.attempt,
      onNoListener: () => this.stop.abort("no-listener" satisfies StopReason),
      noListenerGraceMs: deps.noListenerGraceMs,
      deadlineAt: job.data.deadlineAt,
    });
    this.coalescer = this.streamed
      ? undefined
      : new DeltaCoalescer((frame) => void this.relay.emit(frame).catch((error: unknown) => this.stop.abort(error)));
  }

  async run(): Promise<JobOutcome> {
    const refused = await this.admit();
    if (refused) return refused;
    // After the queue-wait check (the job was picked up in time); a cancel heard meanwhile is seen below.
    await this.deps.starts?.turn();
    const unwatch = this.watchStops();
    try {
      // In the log at once (the ingress's queue-wait check and a later attempt read it there); the
      // ingress hears it with the first token or the end, one pub/sub message fewer per request.
      this.relay.emitQuietly(encodeRelayEvent({ kind: "started", worker: this.deps.workerId })).catch(() => {});
      const route = resolveRoute(this.deps.routes, this.job.data.model);
      if (!route)
        return await this.fail(
          new GatewayError("model_not_found", {
            param: "model",
            message: `The model "${this.job.data.model}" is not served by this gateway.`,
          }),
        );
      this.exposeUpstreamErrors = route.exposeUpstreamErrors;
      return await this.runTargets(route, routeKeyOf(this.deps.routes, this.job.data.model));
    } finally {
      this.relay.close();
      unwatch();
    }
  }

  /** The checks before any upstream call: an outcome ends the job here, undefined lets it run. */
  private async admit(): Promise<JobOutcome | undefined> {
    const { deps, job, requestId } = this;
    const cancelled =
      deps.recentCancels.cancelled(requestId, job.timestamp, this.attempt) ??
      (await cancelReason(deps.redis, deps.keys, requestId));
    if (cancelled) {
      // A newer turn of its conversation replaced it while it waited, or its client left.
      const superseded = cancelled === "superseded";
      deps.log.info("request cancelled", {
        requestId,
        reason: superseded ? "superseded" : "client-gone",
        stage: "queued",
        deltas: 0,
      });
      return superseded ? "superseded" : "cancelled";
    }
    if (Date.now() >= job.data.deadlineAt) return this.fail(new GatewayError("queue_timeout"));
    // The queue-wait bound is for a first start; a job taken over or handed back was started in time.
    if (this.attempt === 1 && job.data.startBy !== undefined && Date.now() > job.data.startBy)
      return this.fail(new GatewayError("queue_timeout", { retryAfterSeconds: 1 }));
    if (this.attempt > 1 && (await earlierAttemptRelayedOutput(deps.redis, deps.keys, job.data.ingressId, requestId))) {
      return this.fail(
        new GatewayError("upstream_interrupted", {
          message: "The worker serving this answer stopped after it had started; it cannot be resumed.",
        }),
      );
    }
    return undefined;
  }

  /** Abort `stop` when the job is cancelled, its reply channel loses its listener, or its deadline passes. */
  private watchStops(): () => void {
    const { stop } = this;
    const jobSignal = this.jobSignal;
    const onJobAbort = () => stop.abort((jobSignal?.reason as StopReason | undefined) ?? "client-gone");
    jobSignal?.addEventListener("abort", onJobAbort, { once: true });
    if (jobSignal?.aborted) onJobAbort();
    const unwatch = this.deps.listenerWatch.watch(this.job.data.replyChannel, () =>
      stop.abort("no-listener" satisfies StopReason),
    );
    const deadline = setTimeout(
      () => stop.abort("deadline" satisfies StopReason),
      this.job.data.deadlineAt - Date.now(),
    );
    return () => {
      unwatch();
      clearTimeout(deadline);
      jobSignal?.removeEventListener("abort", onJobAbort);
    };
  }

  /** The route's targets in order, each retried as attempt-policy.ts decides, until one answers. */
  private async runTargets(route: Route, routeKey: string): Promise<JobOutcome> {
    const { deps, requestId } = this;
    const targets = route.health?.pick === "latency" ? this.latencyOrder(route) : [route, ...route.fallbacks];
    // Only a stream is hedged: one whole answer has no first token to race for.
    const hedge = this.streamed ? route.hedge : undefined;
    if (hedge) deps.hedgeBudget.countRequest(routeKey);
    this.breaker = route.health;
    let index = 0;
    let retry = 0;
    for (;;) {
      // An open breaker is passed over at once, without a call (target-health.ts).
      const usable = (await this.firstUsable(targets, index)) ?? index;
      if (usable !== index) {
        index = usable;
        retry = 0;
      }
      const result = await this.runStep(targets, index, retry, hedge, routeKey);
      if (result.kind === "finished") return result.finishReason;
      if (result.kind === "stopped") return this.stopped(this.stop.signal.reason);
      if (result.kind === "unconfigured")
        return this.fail(
          new GatewayError("internal_error", { message: `Provider "${result.provider}" is not configured.` }),
        );
      const { error, attempt } = result;
      index = attempt.targetIndex;
      retry = attempt.retry;
      const target = targets[index] as Target;
      const decision = decideAfterFailure(error, {
        targetIndex: index,
        targetCount: targets.length,
        retry,
        deltasSent: this.deltas,
        timeLeftMs: this.job.data.deadlineAt - Date.now(),
        retries: deps.upstream.retries,
        backoffMs: deps.upstream.retryBackoffMs,
        random: Math.random(),
      });
      switch (decision.action) {
        case "fail":
          deps.log.warn("upstream failed after the first token", {
            requestId,
            code: error.code,
            provider: attempt.providerName,
            deltas: this.deltas,
          });
          return this.fail(decision.error);
        case "fail-before-output":
          return this.failBeforeOutput(route, decision.error);
        case "next-target": {
          const next = targets[decision.targetIndex] as Target;
          deps.log.warn("upstream failed, trying fallback", {
            requestId,
            code: error.code,
            provider: attempt.providerName,
            retry,
            next: next.provider,
          });
          this.telemetry.fallback(target.provider, next.provider, error.code);
          index = decision.targetIndex;
          retry = 0;
          break;
        }
        case "retry":
          deps.log.warn("upstream failed, retrying", {
            requestId,
            code: error.code,
            provider: attempt.providerName,
            retry,
          });
          this.telemetry.retry(target.provider, error.code);
          try {
            await sleep(decision.waitMs, undefined, { signal: this.stop.signal });
          } catch {
            return this.stopped(this.stop.signal.reason);
          }
          retry++;
          break;
      }
    }
  }

  /**
   * One call to targets[index], and on a hedged route, if it has no useful token after the hedge
   * delay, one to the next target beside it: the first useful token wins, the other call is closed
   * at once and nothing of it is relayed. The winner is relayed to its end.
   */
  private async runStep(
    targets: Target[],
    index: number,
    retry: number,
    hedge: Hedge | undefined,
    routeKey: string,
  ): Promise<StepResult> {
    const primary = this.open(targets, index, retry, false);
    if (!(primary instanceof UpstreamAttempt)) return primary;
    // Nothing to race: every chunk is relayed as it comes (reasoning too, before any text).
    if (!hedge || index + 1 >= targets.length) return this.relayAnswer(primary);
    let hedgeIndex: number | undefined;
    const race = await raceFirstToken(primary, this.deps.firstTokenTimes.hedgeDelayMs(primary.targetKey, hedge), {
      admitHedge: async () => {
        if (!(await this.deps.hedgeBudget.admit(routeKey, hedge.budgetPercent))) {
          this.telemetry.hedge("refused", primary.providerKey);
          return false;
        }
        hedgeIndex = await this.firstUsable(targets, index + 1);
        return hedgeIndex !== undefined;
      },
      openHedge: () => {
        const opened = this.open(targets, hedgeIndex as number, 0, true);
        if (!(opened instanceof UpstreamAttempt)) return undefined;
        this.telemetry.hedge("started", primary.providerKey);
        this.deps.log.info("hedging a slow first token", {
          requestId: this.requestId,
          provider: primary.providerKey,
          hedge: opened.providerKey,
        });
        return opened;
      },
      failed: (attempt, caught) => this.attemptFailed(attempt, caught),
      stopped: () => this.stop.signal.aborted,
    });
    switch (race.kind) {
      case "stopped":
        for (const attempt of race.attempts) attempt.call.stopped(String(this.stop.signal.reason));
        return { kind: "stopped" };
      case "failed":
        return race;
      case "won":
        this.recordFirstToken(race.winner);
        for (const loser of race.losers) {
          loser.call.lostRace();
          this.deps.firstTokenTimes.record(loser.targetKey, performance.now() - loser.startedAt);
        }
        if (race.hedged) {
          race.winner.call.wonRace();
          this.telemetry.hedgeWon(race.winner.providerKey, race.winner.hedge ? "hedge" : "primary");
        }
        return this.relayAnswer(race.winner);
    }
  }

  /** Start a call to targets[index] (its telemetry with it), or say its provider is missing. */
  private open(
    targets: Target[],
    index: number,
    retry: number,
    hedge: boolean,
  ): UpstreamAttempt | Extract<StepResult, { kind: "unconfigured" }> {
    const { deps, job } = this;
    const target = targets[index] as Target;
    const provider = deps.providers.get(target.provider);
    if (!provider) return { kind: "unconfigured", provider: target.provider };
    const model = target.model ?? job.data.model;
    const call = this.telemetry.upstreamCall({
      providerKey: target.provider,
      providerType: deps.routes.providers[target.provider]?.type ?? "unknown",
      model,
      fallbackIndex: index,
      retry,
      hedge,
    });
    return new UpstreamAttempt({
      provider,
      body: job.data.request as Record<string, unknown>,
      model,
      signal: this.stop.signal,
      stream: this.streamed,
      // One answer comes whole: the request's deadline bounds it, not the header timeout.
      ...(this.streamed ? {} : { timeoutMs: job.data.deadlineAt - Date.now() + deadlineMarginMs }),
      firstTokenTimeoutMs: deps.upstream.firstTokenTimeoutMs,
      idleTimeoutMs: deps.upstream.idleTimeoutMs,
      call,
      targetKey: this.targetKey(target),
      providerKey: target.provider,
      targetIndex: index,
      retry,
      hedge,
    });
  }

  private recordFirstToken(attempt: UpstreamAttempt): void {
    if (this.streamed) this.deps.firstTokenTimes.record(attempt.targetKey, performance.now() - attempt.startedAt);
  }

  /** Relay the winning call: what it sent before its first useful token, that token, and the rest. */
  private async relayAnswer(attempt: UpstreamAttempt): Promise<StepResult> {
    const { call } = attempt;
    let finishReason: FinishReason | undefined;
    try {
      let firstTokenMs: number | undefined;
      const relay = (chunk: UpstreamChunk) => {
        if (firstTokenMs === undefined && isUseful(chunk.delta)) firstTokenMs = performance.now() - attempt.startedAt;
        finishReason = this.relayChunk(chunk, call) ?? finishReason;
      };
      for (const chunk of attempt.head) relay(chunk);
      for await (const chunk of attempt.rest()) relay(chunk);
      if (!finishReason)
        throw new GatewayError("upstream_unavailable", {
          message: `${attempt.providerName} ended the stream without a finish reason.`,
        });
      call.finished(finishReason, this.usage);
      this.coalescer?.flush();
      await this.relay.emit(encodeRelayEvent({ kind: "finish", finishReason, usage: this.usage }));
      this.recordHealth(attempt, firstTokenMs === undefined ? { ok: true } : { ok: true, firstTokenMs });
      return { kind: "finished", finishReason };
    } catch (caught) {
      if (this.stop.signal.aborted) {
        call.stopped(String(this.stop.signal.reason));
        return { kind: "stopped" };
      }
      return { kind: "failed", error: this.attemptFailed(attempt, caught), attempt };
    } finally {
      attempt.release();
    }
  }

  /** A call failed: note it (telemetry, log) and name its failure as a gateway error. */
  private attemptFailed(attempt: UpstreamAttempt, caught: unknown): GatewayError {
    const { deps } = this;
    attempt.release();
    const error = toUpstreamError(caught, attempt.providerName);
    // The upstream's own words are the operator's to read, here, not the client's.
    const detail = error.detail === undefined || deps.captureContent ? error.detail : elideQuoted(error.detail);
    attempt.call.failed(error.code, detail);
    // The target's own trouble counts against its breaker; a request the upstream refused does not.
    if (isRetryable(error.code))
      this.recordHealth(
        attempt,
        error.retryAfterSeconds === undefined
          ? { ok: false }
          : { ok: false, retryAfterSeconds: error.retryAfterSeconds },
      );
    deps.log.warn("upstream call failed", {
      requestId: this.requestId,
      code: error.code,
      provider: attempt.providerName,
      retry: attempt.retry,
      ...(attempt.hedge ? { hedge: true } : {}),
      ...(detail === undefined ? {} : { detail }),
    });
    return error;
  }

  /**
   * The first target from `from` on that may be called now: with the route's breaker, one whose
   * breaker is closed, or half-open with this caller as its probe; undefined when none is.
   */
  private async firstUsable(targets: Target[], from: number): Promise<number | undefined> {
    if (!this.breaker) return from < targets.length ? from : undefined;
    for (let index = from; index < targets.length; index++) {
      const target = targets[index] as Target;
      if (await this.deps.targetHealth.admits(this.targetKey(target))) return index;
      this.deps.log.debug("target skipped: its breaker is open", {
        requestId: this.requestId,
        provider: target.provider,
      });
    }
    return undefined;
  }

  /** The route's targets with the faster of two drawn at random first (target-choice.ts). */
  private latencyOrder(route: Route): Target[] {
    return latencyFirst<Target>(
      [route, ...route.fallbacks],
      (target) => {
        const health = this.deps.targetHealth.snapshot(this.targetKey(target));
        return { open: health.state === "open", firstTokenMs: health.firstTokenMs };
      },
      Math.random,
    );
  }

  /** A target as health and first-token times know it: provider key and upstream model. */
  private targetKey(target: Target): string {
    return `${target.provider}/${target.model ?? this.job.data.model}`;
  }

  private recordHealth(
    attempt: UpstreamAttempt,
    outcome: { ok: true; firstTokenMs?: number } | { ok: false; retryAfterSeconds?: number },
  ): void {
    if (this.breaker) this.deps.targetHealth.record(attempt.targetKey, outcome, this.breaker);
  }

  /** Relay one chunk's delta (never awaited: writes keep their order), note it; its finish reason, if any. */
  private relayChunk(chunk: UpstreamChunk, call: UpstreamCallTelemetry): FinishReason | undefined {
    if (chunk.delta) {
      if (this.coalescer) this.coalescer.add(chunk.delta);
      else this.relay.emit(encodeDelta(chunk.delta)).catch((error: unknown) => this.stop.abort(error));
      this.deltas++;
    }
    // After the write: telemetry never delays a token.
    call.chunk(chunk.delta, chunk.model);
    if (chunk.usage) this.usage = chunk.usage;
    return chunk.finishReason;
  }

  /** End with an error event (the upstream's text only on a route that exposes it). */
  private async fail(error: GatewayError): Promise<JobOutcome> {
    this.coalescer?.flush();
    const retryAfterSeconds =
      error.retryAfterSeconds === undefined
        ? undefined
        : Math.min(error.retryAfterSeconds, this.deps.upstream.retryAfterMaxSeconds);
    await this.relay.emit(
      encodeRelayEvent({
        kind: "error",
        code: error.code,
        message:
          this.exposeUpstreamErrors && error.detail
            ? `${error.message} The upstream said: ${error.detail}`
            : error.message,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      }),
    );
    return error.code;
  }

  /**
   * Nothing reached the client yet: on a route with a fallback sentence, a spoken sentence keeps a
   * voice call alive. Not for a failure that would come back on every turn (the upstream rejected
   * the request or the gateway's credentials): that one is an explicit error, so it gets seen.
   */
  private async failBeforeOutput(route: Route, error: GatewayError): Promise<JobOutcome> {
    if (route.fallbackSentence === undefined || isDeterministic(error.code)) return this.fail(error);
    this.deps.log.warn("upstream failed, answering with the route's fallback sentence", {
      requestId: this.requestId,
      code: error.code,
    });
    await Promise.all([
      this.relay.emit(encodeDelta({ content: route.fallbackSentence })),
      this.relay.emit(encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null })),
    ]);
    return "fallback-sentence";
  }

  /** The job's stop signal fired: tell whoever can still hear, or hand the job back. */
  private async stopped(reason: unknown): Promise<JobOutcome> {
    const { deps, requestId, deltas, usage } = this;
    const stage = deltas > 0 ? "streaming" : "before-first-token";
    switch (reason as StopReason) {
      case "deadline":
        return this.fail(new GatewayError("deadline_exceeded"));
      case "shutdown":
        if (deltas === 0 && this.token) {
          // Nothing reached the client: hand the job back, another worker answers it.
          await this.relay.flush().catch(() => {});
          const handedBack = await this.job.moveToWait(this.token).then(
            () => true,
            () => false,
          );
          if (handedBack) {
            deps.log.info("request handed back", { requestId });
            throw new WaitingError();
          }
        }
        return this.fail(
          new GatewayError("shutting_down", { message: "The worker serving this answer is shutting down." }),
        );
      case "no-listener":
        // Nobody hears it now, but a reply subscriber that is only reconnecting (a Redis failover
        // moves every connection, not all at the same moment) reads the log when it is back: the
        // end goes there, so that request ends with an error instead of at its deadline.
        await this.fail(
          new GatewayError("redis_unavailable", {
            retryAfterSeconds: 1,
            message: "The gateway lost the Redis connection that carries this answer; retry after the indicated time.",
          }),
        ).catch(() => {});
        deps.log.info("request cancelled", { requestId, reason: "no-listener", stage, deltas, usage });
        return "no-listener";
      case "client-gone":
      case "superseded":
      case "lock-lost": {
        // Not an error: nobody is listening. Recorded with what had been produced so far.
        const outcome = reason as "client-gone" | "superseded" | "lock-lost";
        await this.relay.flush().catch(() => {});
        deps.log.info("request cancelled", { requestId, reason: outcome, stage, deltas, usage });
        return outcome;
      }
      default:
        // A relay write failed (Redis unreachable): nobody can be told through Redis either.
        throw reason instanceof Error ? reason : new Error(String(reason));
    }
  }
}
