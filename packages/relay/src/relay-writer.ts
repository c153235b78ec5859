// The worker's side of the relay, for one request: number its events, log each in the request's
// log and publish it to the owning ingress, without waiting for the previous one. The events a
// request emits in one event-loop turn are one record, which the connection's RelayBatcher writes at
// the end of the turn with the records of the other requests (one script and one pub/sub message
// per ingress). Writes on one Redis connection are ordered, so a request's events arrive in
// sequence; a Cluster connection may resend a command after later ones (RelayBatcher.keepsOrder),
// so there a request hands over its next record only once its previous one is written. An
// event the ingress need not hear at once (a worker's "started") is logged at once and published
// with the request's next events (emitQuietly).
import { encodeReplyRecord, isEndFrame, logEntryId } from "@switchboard/protocol";
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";
import type { RelayBatcher, RelayBatchMember, RelayRecord } from "./relay-batcher.ts";
import { countSubscribers } from "./subscriber-count.ts";

export interface RequestRelayOptions {
  /** The relay connection's batcher, shared by every request relayed on it. */
  batcher: RelayBatcher;
  keys: RelayKeys;
  requestId: string;
  /** The owning ingress: its reply channel and the request's log share its hash tag. */
  ingressId: string;
  replyChannel: string;
  attempt: number;
  /**
   * Called once when the owning ingress has stopped listening: a publish reached no subscriber and
   * the reply channel still had none after noListenerGraceMs (a reconnecting subscriber is back
   * within that time; a dead ingress is not).
   */
  onNoListener: () => void;
  noListenerGraceMs: number;
  /**
   * When the request's answer is due at the latest (ms since the epoch). With it the log's time to
   * live is set twice, not with every event: when an attempt opens it (the batcher's logTtlMs past
   * this deadline) and when the answer ends (logTtlMs from then), so the log outlives its last event
   * by logTtlMs at least. Without it, every record sets logTtlMs.
   */
  deadlineAt?: number;
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

export class RequestRelay implements RelayBatchMember {
  private seq = 0;
  private batch: Batch | undefined;
  /** Logged, not yet published: they go with the next published batch. */
  private unpublished: Frames | undefined;
  private lastWrite: Promise<unknown> = Promise.resolve();
  /** A record of this request is being written (tracked when the batcher does not keep order). */
  private writing = false;
  private noListenerReported = false;
  /** A record that set the log's time to live has been written (see ttlFor). */
  private logOpened = false;
  private noListenerTimer: NodeJS.Timeout | undefined;
  private readonly options: RequestRelayOptions;
  private readonly logKey: string;
  readonly replyChannel: string;

  constructor(options: RequestRelayOptions) {
    this.options = options;
    this.logKey = options.keys.log(options.ingressId, options.requestId);
    this.replyChannel = options.replyChannel;
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
      // Written at the end of the turn, with every other request's events of the turn; or, while
      // the previous record is still in flight on a connection that may reorder, once it is written.
      if (!this.writing) this.options.batcher.add(this);
    }
    this.seq++;
    batch.frames.push(frame);
    batch.publish ||= publish;
    this.lastWrite = batch.written.promise;
    return batch.written.promise;
  }

  /** This turn's events, for the batcher (called once, at the end of the turn in which the first came). */
  takeRecord(): RelayRecord {
    const batch = this.batch as Batch;
    this.batch = undefined;
    const { requestId, attempt } = this.options;
    const entries: string[] = [];
    for (let index = 0; index < batch.frames.length; index++)
      entries.push(logEntryId({ attempt, seq: batch.firstSeq + index }), batch.frames[index] as string);
    // Logged earlier and not published yet: they go first in this record.
    const held = this.unpublished;
    const published: Frames = held ? { firstSeq: held.firstSeq, frames: [...held.frames, ...batch.frames] } : batch;
    this.unpublished = batch.publish ? undefined : published;
    this.writing = !this.options.batcher.keepsOrder;
    const ttlMs = this.ttlFor(batch);
    return {
      logKey: this.logKey,
      entries,
      ttlMs,
      message: batch.publish
        ? encodeReplyRecord(requestId, { attempt, seq: published.firstSeq }, published.frames)
        : "",
      written: (listeners) => {
        if (ttlMs !== undefined) this.logOpened = true;
        if (listeners === 0) this.suspectNoListener();
        else if (listeners > 0) this.clearSuspicion();
        this.nextRecordMayGo();
        batch.written.resolve(listeners);
      },
      failed: (error) => {
        this.nextRecordMayGo();
        batch.written.reject(error);
      },
    };
  }

  /**
   * The log's new time to live with this record, if it changes (see deadlineAt). Every record sets
   * it until one that did is written, so a log whose first write failed still gets an expiry.
   */
  private ttlFor(batch: Batch): number | undefined {
    const { deadlineAt, batcher } = this.options;
    if (deadlineAt === undefined || batch.frames.some(isEndFrame)) return batcher.logTtlMs;
    if (!this.logOpened) return batcher.logTtlMs + Math.max(0, deadlineAt - Date.now());
    return undefined;
  }

  /** The previous record is written (or failed): events emitted meanwhile go at the end of this turn. */
  private nextRecordMayGo(): void {
    if (!this.writing) return;
    this.writing = false;
    if (this.batch) this.options.batcher.add(this);
  }

  /** Stop watching for listeners (the request is over). */
  close(): void {
    this.clearSuspicion();
    this.noListenerReported = true;
  }

  private suspectNoListener(): void {
    if (this.noListenerTimer || this.noListenerReported) return;
    this.noListenerTimer = setTimeout(() => {
      countSubscribers(this.options.batcher.redis, this.replyChannel, "sharded").then(
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
  ingressId: string,
  requestId: string,
): Promise<boolean> {
  const entries = (await redis.xrange(keys.log(ingressId, requestId), "-", "+", "COUNT", 3)) as Array<
    [string, string[]]
  >;
  return entries.some(([, fields]) => fields[1] !== undefined && !fields[1].startsWith("s"));
}
