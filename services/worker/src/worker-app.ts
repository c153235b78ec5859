// Wires a worker process: the BullMQ worker, the cancel listener, the heartbeat, and shutdown.
import { randomBytes } from "node:crypto";
import type { Job } from "bullmq";
import type { ChatJob } from "@switchboard/protocol";
import { createProviders } from "@switchboard/providers";
import { RecentCancels, createRedisClient, defineRelayCommands, listenForCancels, relayKeys, startHeartbeat, waitForRedis } from "@switchboard/relay";
import { createLogger } from "@switchboard/telemetry";
import type { WorkerConfig } from "./config.ts";
import { handleChatJob } from "./chat-job-handler.ts";
import { QueueConsumers } from "./queue-consumers.ts";

export interface WorkerApp {
  workerId: string;
  close(): Promise<void>;
}

export const queueName = "chat";

export async function startWorker(config: WorkerConfig): Promise<WorkerApp> {
  const workerId = `worker-${randomBytes(6).toString("base64url")}`;
  const log = createLogger("worker", config.LOG_LEVEL, { workerId });
  const keys = relayKeys(config.REDIS_KEY_PREFIX);
  const providers = createProviders(config.routes, {
    env: config.env,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    simulated: { firstTokenDelayMs: config.SIMULATED_FIRST_TOKEN_DELAY_MS, tokenDelayMs: config.SIMULATED_TOKEN_DELAY_MS },
  });

  const redis = createRedisClient(config.REDIS_URL, "relay", `switchboard:${workerId}:relay`);
  const cancelSubscriber = createRedisClient(config.REDIS_URL, "subscriber", `switchboard:${workerId}:cancel`);
  const bullConnection = createRedisClient(config.REDIS_URL, "blocking", `switchboard:${workerId}:queue`);
  for (const client of [redis, cancelSubscriber, bullConnection]) client.on("error", (error: Error) => log.debug("redis connection error", { error }));
  defineRelayCommands(redis);
  await waitForRedis(redis, config.REDIS_URL, 5000);

  const recentCancels = new RecentCancels(120_000);
  const deps = { redis, keys, routes: config.routes, providers, recentCancels, workerId, logTtlMs: config.RELAY_LOG_TTL_SECONDS * 1000, noListenerGraceMs: config.RELAY_NO_LISTENER_GRACE_MS, log };
  const worker = new QueueConsumers<ChatJob, string>(
    queueName,
    // BullMQ passes an AbortSignal only to processors that declare three parameters.
    async (job: Job<ChatJob>, _token?: string, signal?: AbortSignal) => handleChatJob(job, signal, deps),
    config.WORKER_FETCH_LOOPS,
    {
      connection: bullConnection,
      prefix: config.REDIS_KEY_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: 2,
      removeOnComplete: { count: 0 },
      removeOnFail: { age: 3600, count: 1000 },
      name: workerId,
    },
  );
  worker.on("error", (error) => log.warn("queue error", { error }));
  worker.on("failed", (job, error) => log.warn("job failed", { requestId: job?.id, error }));

  await listenForCancels(cancelSubscriber, keys, (requestId) => {
    recentCancels.add(requestId);
    if (worker.cancelJob(requestId, "client-gone")) log.debug("cancelled", { requestId });
  });
  recentCancels.follow(cancelSubscriber);
  const stopHeartbeat = startHeartbeat(redis, keys, workerId, config.WORKER_HEARTBEAT_INTERVAL_MS, (error) => log.debug("heartbeat failed", { error }));
  await worker.waitUntilReady();
  log.info("ready", { concurrency: config.WORKER_CONCURRENCY, fetchLoops: worker.workers.length, providers: [...providers.keys()] });

  return {
    workerId,
    async close() {
      await stopHeartbeat();
      const closing = worker.close();
      const timer = setTimeout(() => worker.cancelAllJobs("shutdown"), config.WORKER_SHUTDOWN_GRACE_MS);
      await closing;
      clearTimeout(timer);
      await Promise.allSettled([redis.quit(), cancelSubscriber.quit(), bullConnection.quit()]);
      log.info("stopped");
    },
  };
}
