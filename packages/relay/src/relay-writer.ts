// The worker's side of the relay: append an event to the request's log and publish it to the
// owning ingress, in one round trip (one Lua script), without waiting for the previous event.
// Writes on one connection are ordered, so events arrive in sequence. The events of a request
// emitted in one event-loop turn (a non-streamed answer and its finish; tokens that came in one
// read from the upstream) go as one script and one pub/sub message; the events of all requests in
// one turn share one socket write. A lone event waits for nothing: its turn ends with it. An event
// the ingress need not hear at once (a worker's "started") is logged at once and published with
// the request's next events (emitQuietly).
import type { Redis, Result } from "ioredis";
import { encodeReplyMessage, logEntryId } from "@switchboard/protocol";
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";
import { countSubscribers } from "./subscriber-count.ts";
import { corkUntilNextTurn, corksTurns } from "./turn-cork.ts";

// ARGV: the log's time to live, the reply channel, the message (none: "", and -1 is returned), then
// an entry id and a frame per event.
const appendScript = `
for i = 4, #ARGV, 2 do
  redis.call('XADD', KEYS[1], ARGV[i], 'f', ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if ARGV[3] == '' then return -1 end
return redis.call('PUBLISH', ARGV[2], ARGV[3])`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    relayAppend(
      log: string,
      ttlMs: number,
      channel: string,
      message: string,
      ...entries: string[]
    ): Result<number, Context>;
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
  /** Runs each write (default: as it is); the worker passes one that keeps relay writes out of traces. */
  untraced?: <T>(write: () => T) => T;
}

/** Events in sequence: the first one's number and the frames. */
interface Frames {
  firstSeq: number;
  frames: string[];
}

/** Events emitted in one turn, written together at its end. */
interface Batch extends Frames {
  /** Published now (else only logged, and published with the next batch). */
  publish: boolean;
  written: PromiseWithResolvers<number>;
}

export class RequestRelay {
  private seq = 0;
  private batch: Batch | undefined;
  /** Logged, not yet published: they go with the next published batch. */
  private unpublished: Frames | undefined;
  private lastWrite: Promise<unknown> = Promise.resolve();
  private noListenerReported = false;
  private noListenerTimer: NodeJS.Timeout | undefined;
  private readonly options: RequestRelayOptions;
  private readonly logKey: string;
  /**
   * The events of a turn leave in one system call (turn-cork.ts), unless the connection
   * auto-pipelines instead (a Cluster's, whose node sockets are its own: redis-client.ts); either
   * way a request's events of one turn are one script.
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

  /**
   * Append and publish one frame, with the others of this turn. Resolves with the number of
   * listeners that received it.
   */
  emit(frame: string): Promise<number> {
    return this.add(frame, true);
  }

  /**
   * Append one frame to the log now, and publish it with the request's next events: for an event
   * the ingress need not hear before them (whoever must know at once reads the log). Resolves
   * with -1 when it is only logged, as with emit() when it goes with events of the same turn.
   */
  emitQuietly(frame: string): Promise<number> {
    return this.add(frame, false);
  }

  private add(frame: string, publish: boolean): Promise<number> {
    let batch = this.batch;
    if (!batch) {
      batch = this.batch = { firstSeq: this.seq + 1, frames: [], publish, written: Promise.withResolvers() };
      // The write is made at the end of the turn, before the socket it goes on is uncorked.
      if (this.corks) corkUntilNextTurn((this.options.redis as Redis).stream, this.send);
      else setImmediate(this.send);
    }
    this.seq++;
    batch.frames.push(frame);
    batch.publish ||= publish;
    this.lastWrite = batch.written.promise;
    return batch.written.promise;
  }

  private readonly send = (): void => {
    const batch = this.batch as Batch;
    this.batch = undefined;
    const { redis, requestId, replyChannel, logTtlMs, attempt, untraced = (write) => write() } = this.options;
    const entries: string[] = [];
    batch.frames.forEach((frame, index) => {
      entries.push(logEntryId({ attempt, seq: batch.firstSeq + index }), frame);
    });
    // Logged earlier and not published yet: they go first in this message.
    const held = this.unpublished;
    const published: Frames = held ? { firstSeq: held.firstSeq, frames: [...held.frames, ...batch.frames] } : batch;
    this.unpublished = batch.publish ? undefined : published;
    const message = batch.publish
      ? encodeReplyMessage(requestId, { attempt, seq: published.firstSeq }, published.frames)
      : "";
    let write: Promise<number>;
    try {
      write = untraced(() => redis.relayAppend(this.logKey, logTtlMs, replyChannel, message, ...entries));
    } catch (error) {
      write = Promise.reject(error);
    }
    write.then(
      (listeners) => {
        if (listeners === 0) this.suspectNoListener();
        else if (listeners > 0) this.clearSuspicion();
        batch.written.resolve(listeners);
      },
      (error: unknown) => batch.written.reject(error),
    );
  };

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
export async function earlierAttemptRelayedOutput(
  redis: RedisConnection,
  keys: RelayKeys,
  requestId: string,
): Promise<boolean> {
  const entries = (await redis.xrange(keys.log(requestId), "-", "+", "COUNT", 3)) as Array<[string, string[]]>;
  return entries.some(([, fields]) => fields[1] !== undefined && !fields[1].startsWith("s"));
}
