// Waiting for a Redis connection to be ready again, for any number of jobs at once: they share one
// "ready" listener (one per waiting job would trip Node's listener-leak warning at a worker's
// concurrency), and each gives up at its own time.
import type { RedisConnection } from "@switchboard/relay";

export class ConnectionReady {
  private readonly connection: RedisConnection;
  private readonly name: string;
  private next: Promise<void> | undefined;

  constructor(connection: RedisConnection, name: string) {
    this.connection = connection;
    this.name = name;
  }

  /** Resolves when the connection is ready; rejects if it is not within timeoutMs. */
  async wait(timeoutMs: number): Promise<void> {
    if (this.connection.status === "ready") return;
    this.next ??= new Promise<void>((resolve) => {
      this.connection.once("ready", () => {
        this.next = undefined;
        resolve();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} to Redis was not back within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.next, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
