// Several BullMQ Worker instances in one process, used as one. A BullMQ Worker fetches jobs one at
// a time (its main loop awaits one moveToActive round trip per job), so when a burst of requests
// arrives, the last of them waits for every fetch before it, and each fetch waits for a turn of a
// busy event loop. Several consumers fetch in parallel; the process's concurrency is split among
// them. WORKER_FETCH_LOOPS sets how many; measured in docs/performance.md.
import { Worker, type Job, type Processor, type WorkerOptions } from "bullmq";

export class QueueConsumers<Data, Result> {
  readonly workers: Array<Worker<Data, Result>>;

  constructor(queueName: string, processor: Processor<Data, Result>, count: number, options: WorkerOptions) {
    const total = options.concurrency ?? 1;
    const perWorker = Math.max(1, Math.ceil(total / count));
    this.workers = Array.from(
      { length: Math.min(count, total) },
      (_, index) =>
        new Worker<Data, Result>(queueName, processor, {
          ...options,
          concurrency: perWorker,
          ...(options.name && index > 0 ? { name: `${options.name}-${index}` } : {}),
        }),
    );
  }

  on(event: "error", listener: (error: Error) => void): void;
  on(event: "failed", listener: (job: Job<Data, Result> | undefined, error: Error) => void): void;
  on(event: "lockRenewalFailed", listener: (jobIds: string[]) => void): void;
  on(event: "error" | "failed" | "lockRenewalFailed", listener: (...args: never[]) => void): void {
    for (const worker of this.workers) worker.on(event, listener as never);
  }

  /** Abort the job wherever one of the consumers holds it; true if one did. */
  cancelJob(jobId: string, reason: string): boolean {
    return this.workers.some((worker) => worker.cancelJob(jobId, reason));
  }

  cancelAllJobs(reason: string): void {
    for (const worker of this.workers) worker.cancelAllJobs(reason);
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}
