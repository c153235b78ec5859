// Wires a worker process: the BullMQ worker, the cancel listener, the heartbeat, and shutdown.
import { randomBytes } from "node:crypto";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import type { RouteTable } from "@switchboard/config";
import { jobCatalog, type ChatJob } from "@switchboard/protocol";
import { createProviders } from "@switchboard/providers";
import {
  RecentCancels,
  corkConnectionUntilNextTurn,
  createRedisClient,
  defineRelayCommands,
  RelayBatcher,
  listenForCancels,
  redisTopology,
  relayKeys,
  startHeartbeat,
  waitForRedis,
} from "@switchboard/relay";
import { createLogger, createMetrics, metricsAuthorizer, withoutTracing } from "@switchboard/telemetry";
import type { WorkerConfig } from "./config.ts";
import { handleChatJob, jobAttempt } from "./chat-job-handler.ts";
import { CrashReaper } from "./crash-reaper.ts";
import { FirstTokenTimes } from "./first-token-times.ts";
import { HedgeBudget, defineHedgeCommands } from "./hedge-budget.ts";
import { startHealthFile } from "./health-file.ts";
import type { JobOutcome } from "./job-outcome.ts";
import { traceChatJob } from "./job-telemetry.ts";
import { TimelineRecorder } from "./timeline-recorder.ts";
import { ListenerWatch } from "./listener-watch.ts";
import { QueueConsumers } from "./queue-consumers.ts";
import { StartPacer } from "./start-pacer.ts";
import { TargetHealth, defineTargetHealthCommands } from "./target-health.ts";
import { observeTargetHealth } from "./target-health-metrics.ts";
import { createWorkerMetrics } from "./worker-metrics.ts";

export interface WorkerApp {
  workerId: string;
  close(): Promise<void>;
}

/** The one queue, from the job catalog. */
const queueName = jobCatalog.chat.queue;

/** How often the targets' shared health is read from Redis into this worker's copy. */
const targetHealthRefreshMs = 200;

/** Jobs that may start their upstream call in one event-loop turn (start-pacer.ts). */
const jobStartsPerTurn = 4;

/**
 * The targets of the routes with `health` whose model is known before a request names it (a
 * target's own model, or the route's model id; not the wildcard route's).
 */
function healthTargets(routes: RouteTable): string[] {
  return Object.entries(routes.routes).flatMap(([modelId, route]) =>
    route.health
      ? [route, ...route.fallbacks].flatMap((target) => {
          const model = target.model ?? (modelId === "*" ? undefined : modelId);
          return model === undefined ? [] : [`${target.provider}/${model}`];
        })
      : [],
  );
}

export async function startWorker(config: WorkerConfig): Promise<WorkerApp> {
  const workerId = `worker-${randomBytes(6).toString("base64url")}`;
  const log = createLogger("worker", config.LOG_LEVEL, { workerId });
  const keys = relayKeys(config.REDIS_KEY_PREFIX);
  const providers = createProviders(config.routes, {
    env: config.env,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    simulated: {
      firstTokenDelayMs: config.SIMULATED_FIRST_TOKEN_DELAY_MS,
      tokenDelayMs: config.SIMULATED_TOKEN_DELAY_MS,
    },
  });

  const redis = createRedisClient(config.REDIS_URL, "relay", `switchboard:${workerId}:relay`, redisTopology(config));
  const cancelSubscriber = createRedisClient(
    config.REDIS_URL,
    "subscriber",
    `switchboard:${workerId}:cancel`,
    redisTopology(config),
  );
  const bullConnection = createRedisClient(
    config.REDIS_URL,
    "blocking",
    `switchboard:${workerId}:queue`,
    redisTopology(config),
  );
  for (const client of [redis, cancelSubscriber, bullConnection])
    client.on("error", (error: Error) => log.debug("redis connection error", { error }));
  defineRelayCommands(redis);
  defineHedgeCommands(redis);
  defineTargetHealthCommands(redis);
  await waitForRedis(redis, config.REDIS_URL, 5000);

  const metrics = createMetrics("switchboard-worker");
  const telemetryOptions = {
    metrics: createWorkerMetrics(metrics.meter),
    captureContent: config.SWITCHBOARD_CAPTURE_CONTENT,
    queueName,
    timeline: new TimelineRecorder(redis, keys, config.TIMELINE_TTL_SECONDS * 1000, log),
  };
  const listenerWatch = new ListenerWatch(
    redis,
    config.RELAY_LISTENER_CHECK_INTERVAL_MS,
    config.RELAY_NO_LISTENER_GRACE_MS,
  );
  const recentCancels = new RecentCancels(120_000);
  const targetHealth = new TargetHealth({
    redis,
    prefix: config.REDIS_KEY_PREFIX,
    refreshMs: targetHealthRefreshMs,
    probeMs: config.UPSTREAM_FIRST_TOKEN_TIMEOUT_MS,
  });
  observeTargetHealth(metrics.meter, targetHealth);
  await targetHealth.follow(healthTargets(config.routes));
  const starts = new StartPacer(jobStartsPerTurn);
  const deps = {
    redis,
    keys,
    routes: config.routes,
    providers,
    recentCancels,
    starts,
    workerId,
    relayBatcher: new RelayBatcher({
      redis,
      logTtlMs: config.RELAY_LOG_TTL_SECONDS * 1000,
      // Relay writes (one per turn) never become spans, whatever instrumentation is loaded.
      untraced: withoutTracing,
    }),
    noListenerGraceMs: config.RELAY_NO_LISTENER_GRACE_MS,
    listenerWatch,
    upstream: {
      firstTokenTimeoutMs: config.UPSTREAM_FIRST_TOKEN_TIMEOUT_MS,
      idleTimeoutMs: config.UPSTREAM_IDLE_TIMEOUT_MS,
      retries: config.UPSTREAM_RETRIES,
      retryBackoffMs: config.UPSTREAM_RETRY_BACKOFF_MS,
      retryAfterMaxSeconds: config.UPSTREAM_RETRY_AFTER_MAX_SECONDS,
    },
    captureContent: config.SWITCHBOARD_CAPTURE_CONTENT,
    hedgeBudget: new HedgeBudget(redis, config.REDIS_KEY_PREFIX),
    firstTokenTimes: new FirstTokenTimes(),
    targetHealth,
    log,
  };
  const worker = new QueueConsumers<ChatJob, JobOutcome>(
    queueName,
    // BullMQ passes an AbortSignal only to processors that declare three parameters.
    async (job: Job<ChatJob>, token?: string, signal?: AbortSignal) => {
      // After a Redis failover this process's connections come back one by one: a job taken before
      // the relay connection is back would fail at its first write, with nobody told. Wait for it,
      // until the job's start-by time at most (then the job fails and the ingress answers queue_timeout).
      if (redis.status !== "ready")
        await waitForRedis(
          redis,
          config.REDIS_URL,
          Math.max(0, (job.data.startBy ?? job.data.deadlineAt) - Date.now()),
        );
      try {
        return await traceChatJob(job.data, jobAttempt(job), telemetryOptions, (telemetry) =>
          handleChatJob(job, signal, deps, telemetry, token),
        );
      } finally {
        // BullMQ sends this job's moveToFinished as soon as this returns: the jobs that end in one
        // poll phase leave in one write.
        corkConnectionUntilNextTurn(bullConnection);
      }
    },
    config.WORKER_FETCH_LOOPS,
    {
      connection: bullConnection,
      prefix: keys.queuePrefix,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: 2,
      removeOnComplete: { count: 0 },
      removeOnFail: jobCatalog.chat.keepFailed,
      name: workerId,
    },
  );
  worker.on("error", (error) => log.warn("queue error", { error }));
  worker.on("failed", (job, error) => {
    log.warn("job failed", { requestId: job?.id, error });
    // BullMQ drops failed jobs past keepFailed's age only when a later job fails: the hash, which
    // holds the request's body, gets an expiry of its own, so the last failures do not stay for ever.
    if (job?.id)
      redis
        .pexpire(`${keys.queuePrefix}:${queueName}:${job.id}`, jobCatalog.chat.keepFailed.age * 1000)
        .catch((expireError: unknown) =>
          log.debug("failed job expiry not set", { requestId: job.id, error: expireError }),
        );
  });
  // Another worker took the job over (this one looked stalled): stop, so the upstream is not paid twice.
  worker.on("lockRenewalFailed", (jobIds) => {
    for (const jobId of jobIds) worker.cancelJob(jobId, "lock-lost");
  });

  await listenForCancels(cancelSubscriber, keys, (requestId, reason) => {
    recentCancels.add(requestId, reason);
    // superseded (a newer turn of the conversation) or client-gone: the job's stop reason either way.
    if (worker.cancelJob(requestId, reason === "superseded" ? "superseded" : "client-gone"))
      log.debug("cancelled", { requestId, reason });
  });
  // Subscribed while this process lives: the other workers' crash reapers watch it.
  await cancelSubscriber.subscribe(keys.workerChannel(workerId));
  const reaper = new CrashReaper({
    redis,
    keys,
    queueName,
    workerId,
    intervalMs: config.WORKER_CRASH_CHECK_INTERVAL_MS,
    graceMs: config.WORKER_CRASH_GRACE_MS,
    log,
  });
  // On a Redis Cluster the cancel subscriber may move between nodes without a "ready" event, so
  // memory cannot vouch for having heard every broadcast: there every job asks Redis.
  if (!config.REDIS_CLUSTER) recentCancels.follow(cancelSubscriber as Redis);
  const stopHeartbeat = startHeartbeat(
    redis,
    keys,
    workerId,
    config.WORKER_HEARTBEAT_INTERVAL_MS,
    (error) => log.debug("heartbeat failed", { error }),
    config.WORKER_CONCURRENCY,
  );
  const stopHealthFile = config.WORKER_HEALTH_FILE
    ? startHealthFile(config.WORKER_HEALTH_FILE, config.WORKER_HEARTBEAT_INTERVAL_MS, (error) =>
        log.warn("health file not written", { error }),
      )
    : () => {};
  await worker.waitUntilReady();
  // Metrics are an aid, not a duty: a taken port is reported, and the worker works on without them.
  const metricsServer = await metrics
    .serve(config.METRICS_PORT, config.METRICS_HOST, metricsAuthorizer(config.METRICS_TOKEN))
    .catch((error: unknown) => {
      log.warn("metrics server not started", { port: config.METRICS_PORT, error });
      return undefined;
    });
  log.info("ready", {
    concurrency: config.WORKER_CONCURRENCY,
    fetchLoops: worker.workers.length,
    providers: [...providers.keys()],
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
  });

  return {
    workerId,
    async close() {
      stopHealthFile();
      await stopHeartbeat();
      // Stop taking jobs; active ones finish within the grace, the rest are handed back or told.
      const closing = worker.close();
      const timer = setTimeout(() => worker.cancelAllJobs("shutdown"), config.WORKER_SHUTDOWN_GRACE_MS);
      await closing;
      clearTimeout(timer);
      listenerWatch.close();
      reaper.close();
      targetHealth.close();
      await Promise.allSettled([redis.quit(), cancelSubscriber.quit(), bullConnection.quit(), metrics.shutdown()]);
      metricsServer?.server.close();
      log.info("stopped");
    },
  };
}
