// Phase 4 of `npm run bench`: the scaling story of the design card, in numbers. One worker process
// is saturated on purpose: WORKER_CONCURRENCY job slots per process, twice as many closed-loop
// clients, and answers that take about 200 ms at the mock (20 tokens 10 ms apart), so jobs wait in
// the queue for a free slot. A second worker process adds slots and the queue wait falls. What runs
// out here is job slots, as with a real upstream whose answers take seconds, not CPU (on two cores
// another process adds none; the throughput table shows that side).
import { startSwitchboard } from "./bench-stack.ts";
import { closedLoop, completeOnce } from "./load-client.ts";
import { readQueueWaits } from "./queue-wait.ts";
import { summarize, type Summary } from "./summary.ts";

export interface ScalingOptions {
  redisUrl: string;
  mockUrl: string;
  slotsPerWorker: number;
  seconds: number;
  /** Redis's clock in ms: queue waits are read from BullMQ's event stream from then on. */
  redisTimeMs: () => Promise<number>;
}

export interface ScalingRow {
  workers: number;
  slotsPerWorker: number;
  clients: number;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  latencyMs: Summary;
  queueWaitMs: Summary;
}

// The mock's own pace: 20 tokens 10 ms apart.
const slowBody = JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "Hello" }] });

export async function measureWorkerScaling(options: ScalingOptions): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = [];
  const clients = 2 * options.slotsPerWorker;
  for (const workers of [1, 2]) {
    const stack = await startSwitchboard({
      redisUrl: options.redisUrl,
      upstreamUrl: options.mockUrl,
      ingresses: 1,
      workers,
      workerConcurrency: options.slotsPerWorker,
    });
    try {
      await completeOnce(stack.urls[0] as string, slowBody);
      const since = await options.redisTimeMs();
      const run = await closedLoop(stack.urls, slowBody, clients, options.seconds);
      const queueWaitMs = summarize(await readQueueWaits(options.redisUrl, stack.prefix, since));
      rows.push({
        workers,
        slotsPerWorker: options.slotsPerWorker,
        clients,
        requests: run.requests,
        errors: run.errors,
        requestsPerSecond: run.requestsPerSecond,
        latencyMs: summarize(run.latencyMs),
        queueWaitMs,
      });
    } finally {
      await stack.stop();
    }
  }
  return rows;
}
