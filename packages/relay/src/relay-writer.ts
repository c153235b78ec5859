// The worker's side of the relay: append an event to the request's log and publish it to the
// owning ingress, in one round trip (one Lua script), without waiting for the previous event.
// Writes on one connection are ordered, so events arrive in sequence; the events of one event-loop
// turn share one socket write.
import type { Redis, Result } from "ioredis";
import { encodeReplyMessage, logEntryId } from "@switchboard/protocol";
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";
import { countSubscribers } from "./subscriber-count.ts";
import { corkUntilNextTurn, corksTurns } from "./turn-cork.ts";

const appendScript = `
redis.call('XADD', KEYS[1], ARGV[1], 'f', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('PUBLISH', ARGV[4], ARGV[5])`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    relayAppend(log: string, entryId: string, frame: string, ttlMs: number, channel: string, message: string): Result<number, Context>;
  }
}

export function defineRelayCommands(redis: RedisConnection): void {
  redis.defineCommand("relayAppend", { numberOfKeys: 1, lua: appendScript });
}

export interface RequestRelayOptions {
  redis: RedisConnection;
  keys: RelayKeys;
  requestId: string;
  replyChannel: string;
  attempt: number;
  logTtlMs: number;
  /**
   * Called once when the owning ingress has stopped listening: a publish reached no subscriber and
   * the reply channel still had none after noListenerGraceMs (a reconnecting subscriber is back
   * within that time; a dead ingress is not).
   */
  onNoListener: () => void;
  noListenerGraceMs: number;
}

export class RequestRelay {
  private seq = 0;
  private lastWrite: Promise<unknown> = Promise.resolve();
  private noListenerReported = false;
  private noListenerTimer: NodeJS.Timeout | undefined;
  private readonly options: RequestRelayOptions;
  private readonly logKey: string;
  /**
   * The events of a turn leave in one system call (turn-cork.ts), unless the connection
   * auto-pipelines instead (a Cluster's, whose node sockets are its own: redis-client.ts).
   */
  private readonly corks: boolean;

  constructor(options: RequestRelayOptions) {
    this.options = options;
    this.logKey = options.keys.log(options.requestId);
    this.corks = corksTurns(options.redis);
  }

  get eventCount(): number {
    return this.seq;
  }

  /** Append and publish one frame. Resolves with the number of listeners that received it. */
  emit(frame: string): Promise<number> {
    const position = { attempt: this.options.attempt, seq: ++this.seq };
    const { redis, requestId, replyChannel, logTtlMs } = this.options;
    if (this.corks) corkUntilNextTurn((redis as Redis).stream);
    const write = redis.relayAppend(this.logKey, logEntryId(position), frame, logTtlMs, replyChannel, encodeReplyMessage(requestId, position, frame));
    this.lastWrite = write;
    write.then((listeners) => (listeners === 0 ? this.suspectNoListener() : this.clearSuspicion()), () => {});
    return write;
  }

  /** Stop watching for listeners (the request is over). */
  close(): void {
    this.clearSuspicion();
    this.noListenerReported = true;
  }

  private suspectNoListener(): void {
    if (this.noListenerTimer || this.noListenerReported) return;
    this.noListenerTimer = setTimeout(() => {
      countSubscribers(this.options.redis, this.options.replyChannel).then(
        (subscribers) => {
          this.noListenerTimer = undefined;
          if (subscribers > 0 || this.noListenerReported) return;
          this.noListenerReported = true;
          this.options.onNoListener();
        },
        () => (this.noListenerTimer = undefined),
      );
    }, this.options.noListenerGraceMs);
  }

  private clearSuspicion(): void {
    clearTimeout(this.noListenerTimer);
    this.noListenerTimer = undefined;
  }

  /** Wait until every event emitted so far is written. */
  async flush(): Promise<void> {
    await this.lastWrite;
  }
}

/** Has an earlier attempt of this request already relayed anything beyond its start? */
export async function earlierAttemptRelayedOutput(redis: RedisConnection, keys: RelayKeys, requestId: string): Promise<boolean> {
  const entries = (await redis.xrange(keys.log(requestId), "-", "+", "COUNT", 3)) as Array<[string, string[]]>;
  return entries.some(([, fields]) => fields[1] !== undefined && !fields[1].startsWith("s"));
}
