// The ingress's connections to the rest of the system: the queue it enqueues on, the reply hub it
// listens on (subscribed once, at start-up, before any request is accepted), and readiness.
import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { jobCatalog, type ChatJob } from "@switchboard/protocol";
import { ReplyHub, broadcastCancel, countLiveWorkers, createRedisClient, redisTopology, relayKeys, waitForRedis, type RedisConnection, type RelayKeys } from "@switchboard/relay";
import { SpanKind, attributeNames, contextWithSpan, injectTraceContext, markFailed, startSpan, type Logger } from "@switchboard/telemetry";
import type { IngressConfig } from "./config.ts";

export const queueName = "chat";

export interface Readiness {
  ready: boolean;
  redis: boolean;
  workers: number;
}

export class IngressRuntime {
  readonly ingressId = `ingress-${randomBytes(6).toString("base64url")}`;
  readonly keys: RelayKeys;
  readonly hub: ReplyHub;
  private readonly redis: RedisConnection;
  private readonly subscriber: RedisConnection;
  private readonly queue: Queue<ChatJob>;
  private readonly config: IngressConfig;
  private readonly log: Logger;
  private cachedReadiness: { at: number; value: Promise<Readiness> } | undefined;

  constructor(config: IngressConfig, log: Logger) {
    this.config = config;
    this.log = log;
    this.keys = relayKeys(config.REDIS_KEY_PREFIX);
    this.redis = createRedisClient(config.REDIS_URL, "command", `switchboard:${this.ingressId}:command`, redisTopology(config));
    this.subscriber = createRedisClient(config.REDIS_URL, "subscriber", `switchboard:${this.ingressId}:replies`, redisTopology(config));
    for (const client of [this.redis, this.subscriber]) client.on("error", (error: Error) => log.debug("redis connection error", { error }));
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
  }

  async start(): Promise<void> {
    await waitForRedis(this.redis, this.config.REDIS_URL, 5000);
    await this.hub.start();
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
    try {
      await this.queue.add(jobCatalog.chat.name, trace ? { ...job, trace } : job, {
        jobId: job.requestId,
        attempts: jobCatalog.chat.attempts,
        removeOnComplete: true,
        removeOnFail: { age: 3600, count: 1000 },
      });
    } catch (error) {
      markFailed(span, "redis_unavailable", (error as Error).message);
      throw error;
    } finally {
      span.end();
    }
  }

  /** Jobs in the queue by state, for the queue-depth gauge. */
  async queueDepth(): Promise<Record<string, number>> {
    return this.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
  }

  /** The client went away: stop the job wherever it is (waiting: removed; active: aborted). */
  cancel(requestId: string): void {
    this.hub.unregister(requestId);
    broadcastCancel(this.redis, this.keys, requestId, "client-gone").catch((error: unknown) => this.log.debug("cancel broadcast failed", { requestId, error }));
    this.queue.remove(requestId).catch(() => {
      // Active jobs are locked and cannot be removed; the broadcast stops those.
    });
  }

  readiness(): Promise<Readiness> {
    const now = Date.now();
    if (!this.cachedReadiness || now - this.cachedReadiness.at > 500) this.cachedReadiness = { at: now, value: this.checkReadiness() };
    return this.cachedReadiness.value;
  }

  async close(): Promise<void> {
    await this.hub.close();
    await this.queue.close().catch(() => {});
    await Promise.allSettled([this.redis.quit(), this.subscriber.quit()]);
  }

  private async checkReadiness(): Promise<Readiness> {
    try {
      const workers = await countLiveWorkers(this.redis, this.keys, this.config.WORKER_LIVENESS_MS);
      return { ready: workers > 0, redis: true, workers };
    } catch {
      return { ready: false, redis: false, workers: 0 };
    }
  }
}
