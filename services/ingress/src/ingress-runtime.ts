// The ingress's connections to the rest of the system: the queue it enqueues on, the reply hub it
// listens on (subscribed once, at start-up, before any request is accepted), admission, limits,
// the requests it is answering, and readiness.
import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { jobCatalog, type ChatJob } from "@switchboard/protocol";
import {
  ReplyHub,
  appendTimeline,
  CancelBroadcaster,
  claimConversationTurn,
  corkConnectionUntilNextTurn,
  countLiveWorkers,
  countWorkerSlots,
  createRedisClient,
  defineSupersessionCommands,
  listenForSupersessions,
  readTimeline,
  redisTopology,
  relayKeys,
  waitForRedis,
  type RedisConnection,
  type RelayKeys,
  type TimelineTurn,
  type TurnRecord,
} from "@switchboard/relay";
import {
  SpanKind,
  attributeNames,
  contextWithSpan,
  injectTraceContext,
  markFailed,
  startSpan,
  type Logger,
} from "@switchboard/telemetry";
import type { IngressConfig } from "./config.ts";
import { KeyLimiter, type Acquired } from "./key-limiter.ts";
import { OpenRequests } from "./open-requests.ts";
import { QueueAdmission } from "./queue-admission.ts";
import { LoopStallWatch } from "./loop-stall.ts";
import { RedisOutageWatch } from "./redis-outage-watch.ts";

/** The one queue, from the job catalog. */
const queueName = jobCatalog.chat.queue;

/** Cancels that could not be sent while Redis was down, kept (bounded) for when it returns. */
const maxPendingCancels = 10_000;

/** How often an ingress re-reads the deployment's worker slots (a key's share is a share of them). */
const workerSlotsRefreshMs = 1000;

export interface Readiness {
  ready: boolean;
  redis: boolean;
  workers: number;
  shuttingDown: boolean;
}

/** How the ingress treats conversations (conversation-id.ts, supersession, the timeline). */
export interface ConversationSettings {
  /** CONVERSATION_ID_HEADER, lower-case. */
  header: string;
  /** SUPERSEDE_STALE_TURNS: a route without its own `supersede` follows this. */
  supersede: boolean;
}

/** Who may call the admin endpoints (admin-routes.ts). */
export interface AdminAccess {
  adminKeys: readonly string[];
  apiKeys: readonly string[];
  /** AUTH_HEADER: a header that may carry a key instead of Authorization. */
  header?: string;
}

export class IngressRuntime {
  readonly ingressId = `ingress-${randomBytes(6).toString("base64url")}`;
  readonly keys: RelayKeys;
  readonly hub: ReplyHub;
  readonly openRequests = new OpenRequests();
  readonly admission: QueueAdmission;
  readonly conversations: ConversationSettings;
  readonly adminAccess: AdminAccess;
  private readonly limiter: KeyLimiter;
  private readonly redis: RedisConnection;
  private readonly subscriber: RedisConnection;
  private readonly queue: Queue<ChatJob>;
  private readonly config: IngressConfig;
  private readonly log: Logger;
  private readonly outageWatch: RedisOutageWatch;
  private readonly stalls: LoopStallWatch;
  /** Cancels Redis did not take (an outage), by request, with their reason: sent again once it is back. */
  private readonly pendingCancels = new Map<string, string>();
  private readonly cancels: CancelBroadcaster;
  private cachedReadiness: { at: number; value: Promise<Readiness> } | undefined;
  private stopping = false;
  /** The live workers' job slots, summed, re-read every workerSlotsRefreshMs (only when a key share applies). */
  private workerSlots = 0;
  private slotsTimer: NodeJS.Timeout | undefined;

  constructor(config: IngressConfig, log: Logger) {
    this.config = config;
    this.log = log;
    this.keys = relayKeys(config.REDIS_KEY_PREFIX);
    this.conversations = {
      header: config.CONVERSATION_ID_HEADER.toLowerCase(),
      supersede: config.SUPERSEDE_STALE_TURNS,
    };
    this.adminAccess = {
      adminKeys: config.adminKeys,
      apiKeys: config.apiKeys,
      ...(config.AUTH_HEADER ? { header: config.AUTH_HEADER } : {}),
    };
    this.redis = createRedisClient(
      config.REDIS_URL,
      "command",
      `switchboard:${this.ingressId}:command`,
      redisTopology(config),
      { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS },
    );
    this.cancels = new CancelBroadcaster(this.redis, this.keys);
    this.subscriber = createRedisClient(
      config.REDIS_URL,
      "subscriber",
      `switchboard:${this.ingressId}:replies`,
      redisTopology(config),
    );
    for (const client of [this.redis, this.subscriber])
      client.on("error", (error: Error) => log.debug("redis connection error", { error }));
    defineSupersessionCommands(this.redis);
    this.queue = new Queue<ChatJob>(queueName, { connection: this.redis, prefix: this.keys.queuePrefix });
    this.queue.on("error", (error) => log.debug("queue error", { error }));
    this.hub = new ReplyHub({
      subscriber: this.subscriber,
      reader: this.redis,
      keys: this.keys,
      ingressId: this.ingressId,
      idleRepairMs: config.RELAY_IDLE_REPAIR_MS,
      onError: (error, context) => log.warn("relay error", { context, error }),
    });
    this.admission = new QueueAdmission(this.queue, config.MAX_QUEUED_REQUESTS, config.QUEUE_DEPTH_REFRESH_MS);
    // A share of the slots is fairness between keys: with one key (or an open gateway, keyed by
    // client address) that key is the deployment's whole traffic, and a share would only halve it.
    const slotSharePercent = config.apiKeys.length >= 2 ? config.KEY_SLOT_SHARE_PERCENT : 100;
    this.limiter = new KeyLimiter(this.redis, config.REDIS_KEY_PREFIX, {
      requestsPerMinute: config.RATE_LIMIT_REQUESTS_PER_MINUTE,
      concurrentStreams: config.RATE_LIMIT_CONCURRENT_STREAMS,
      slotSharePercent,
      workerSlots: () => this.workerSlots,
      leaseMs: config.REQUEST_TIMEOUT_MS + 5000,
    });
    if (slotSharePercent < 100) {
      this.slotsTimer = setInterval(() => void this.refreshWorkerSlots(), workerSlotsRefreshMs);
      this.slotsTimer.unref();
    }
    this.stalls = new LoopStallWatch(Math.max(25, config.REDIS_COMMAND_TIMEOUT_MS / 4));
    this.outageWatch = new RedisOutageWatch(
      this.redis,
      this.subscriber,
      this.openRequests,
      config.REDIS_OUTAGE_GRACE_MS,
      this.stalls,
      (failed) => log.warn("redis unreachable: open requests ended", { failed }),
    );
    this.redis.on("ready", () => this.flushPendingCancels());
  }

  async start(): Promise<void> {
    await waitForRedis(this.redis, this.config.REDIS_URL, 5000);
    await this.hub.start();
    // Another turn of a conversation replaced one of this ingress's requests (supersession.ts).
    await listenForSupersessions(this.subscriber, this.keys, (requestId) => this.openRequests.supersede(requestId));
    if (this.slotsTimer) await this.refreshWorkerSlots();
  }

  private async refreshWorkerSlots(): Promise<void> {
    try {
      this.workerSlots = await countWorkerSlots(this.redis, this.keys, this.config.WORKER_LIVENESS_MS);
    } catch {
      // Redis unreachable: requests are refused anyway; keep the last figure.
    }
  }

  /**
   * Redis is known to be unreachable, or the reply subscriber is not connected (no answer could
   * arrive): answer 503 at once instead of trying.
   */
  get redisDown(): boolean {
    return this.outageWatch.isDown || this.redis.status !== "ready" || this.subscriber.status !== "ready";
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** SIGTERM: readiness turns false and new requests are refused from now on. */
  beginShutdown(): void {
    this.stopping = true;
    this.cachedReadiness = undefined;
  }

  /** Queue the job; its PRODUCER span's context travels inside it (job.trace) to the worker. */
  async enqueue(job: ChatJob): Promise<void> {
    const attributes = {
      [attributeNames.messagingSystem]: "bullmq",
      [attributeNames.messagingOperationName]: "send",
      [attributeNames.messagingOperationType]: "send",
      [attributeNames.messagingDestinationName]: queueName,
      [attributeNames.messagingMessageId]: job.requestId,
    };
    const span = startSpan(`send ${queueName}`, { kind: SpanKind.PRODUCER, attributes });
    const trace = injectTraceContext(contextWithSpan(span));
    const add = () => {
      // The jobs added in one poll phase (requests that arrived together) leave in one write.
      corkConnectionUntilNextTurn(this.redis);
      return this.queue.add(jobCatalog.chat.name, trace ? { ...job, trace } : job, {
        jobId: job.requestId,
        attempts: jobCatalog.chat.attempts,
        removeOnComplete: true,
        removeOnFail: jobCatalog.chat.keepFailed,
      });
    };
    try {
      // Safe to send twice: the job id is the request id, and BullMQ adds a job id only once.
      await this.resentAcrossStall(add);
    } catch (error) {
      markFailed(span, "redis_unavailable", (error as Error).message);
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Read a request's log now and deliver what pub/sub missed (ReplyHub.catchUp); the queue-wait
   * decision that rests on it is final, so a read that timed out across a stall is sent again.
   */
  async catchUp(requestId: string): Promise<void> {
    await this.resentAcrossStall(() => this.hub.catchUp(requestId));
  }

  /** Take the per-key limits for a request (key-limiter.ts; the script is safe to send twice). */
  async acquireLimits(key: string, requestId: string): Promise<Acquired> {
    return this.resentAcrossStall(() => this.limiter.acquire(key, requestId));
  }

  /**
   * Send a command; if it failed (timed out) across a stall of this process's event loop, send it
   * once more: the timeout timer fired before the answer could be read, which says nothing about
   * Redis (loop-stall.ts). Only for commands that are safe to send twice.
   */
  private async resentAcrossStall<T>(send: () => Promise<T>): Promise<T> {
    const sentAt = this.stalls.now();
    return send().catch((error: unknown) => {
      if (!this.stalls.stalledSince(sentAt) || this.redis.status !== "ready") throw error;
      return send();
    });
  }

  /** Jobs in the queue by state, for the queue-depth gauge. */
  async queueDepth(): Promise<Record<string, number>> {
    return this.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
  }

  /**
   * Stop the job wherever it is (waiting: removed; active: aborted). reason: client-gone (the
   * client went away, or its answer ended early) or superseded (a newer turn replaced it).
   */
  cancel(requestId: string, reason = "client-gone"): void {
    // A request that has heard from its worker is being answered: its job is locked by that worker,
    // which the broadcast stops; there is nothing in the queue to remove.
    const queued = !this.hub.heardFrom(requestId);
    this.hub.unregister(requestId);
    this.sendCancel(requestId, reason, queued);
  }

  /**
   * Make the request its conversation's current turn; a request it replaced is ended by whichever
   * ingress holds it (supersession.ts). Never fails: without Redis there is nothing to replace.
   */
  async claimTurn(scope: string, conversationId: string, requestId: string): Promise<void> {
    // The older request cannot outlive its deadline, so neither need the mapping.
    const ttlMs = this.config.REQUEST_TIMEOUT_MS + 5000;
    await claimConversationTurn(this.redis, this.keys, scope, conversationId, requestId, ttlMs).catch(
      (error: unknown) => this.log.debug("conversation turn not claimed", { requestId, error }),
    );
  }

  /** Add a turn's record to its conversation's timeline; a failed write is only logged. */
  recordTurn(conversationId: string, record: TurnRecord): void {
    appendTimeline(this.redis, this.keys, conversationId, record, this.config.TIMELINE_TTL_SECONDS * 1000).catch(
      (error: unknown) => this.log.debug("timeline write failed", { requestId: record.requestId, error }),
    );
  }

  /** A conversation's timeline, turn by turn. */
  timeline(conversationId: string): Promise<TimelineTurn[]> {
    return readTimeline(this.redis, this.keys, conversationId);
  }

  readiness(): Promise<Readiness> {
    const now = Date.now();
    if (!this.cachedReadiness || now - this.cachedReadiness.at > 500)
      this.cachedReadiness = { at: now, value: this.checkReadiness() };
    return this.cachedReadiness.value;
  }

  async close(): Promise<void> {
    clearInterval(this.slotsTimer);
    this.admission.close();
    this.outageWatch.close();
    this.stalls.close();
    await this.hub.close();
    await this.queue.close().catch(() => {});
    await Promise.allSettled([this.redis.quit(), this.subscriber.quit()]);
  }

  private sendCancel(requestId: string, reason = "client-gone", queued = true): void {
    this.cancels.cancel(requestId, reason).catch((error: unknown) => {
      // Redis is unreachable: cancel once it is back, so a job that survives the outage does not
      // stream to nobody.
      if (this.pendingCancels.size < maxPendingCancels) this.pendingCancels.set(requestId, reason);
      this.log.debug("cancel broadcast failed", { requestId, error });
    });
    if (!queued) return;
    this.queue.remove(requestId).catch(() => {
      // Active jobs are locked and cannot be removed; the broadcast stops those.
    });
  }

  private flushPendingCancels(): void {
    const cancels = [...this.pendingCancels];
    this.pendingCancels.clear();
    for (const [requestId, reason] of cancels) this.sendCancel(requestId, reason);
  }

  private async checkReadiness(): Promise<Readiness> {
    const shuttingDown = this.stopping;
    if (this.subscriber.status !== "ready") return { ready: false, redis: false, workers: 0, shuttingDown };
    try {
      const workers = await countLiveWorkers(this.redis, this.keys, this.config.WORKER_LIVENESS_MS);
      return { ready: workers > 0 && !shuttingDown, redis: true, workers, shuttingDown };
    } catch {
      return { ready: false, redis: false, workers: 0, shuttingDown };
    }
  }
}
