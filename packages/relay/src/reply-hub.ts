// The ingress's side of the relay. One subscriber connection per ingress, subscribed to the
// instance's reply channel (sharded pub/sub: SSUBSCRIBE) once at start-up; events for every open
// request arrive on it, the records of many requests in one message, and are routed by request id. Pub/sub is fast but may drop messages (a reconnect, a killed connection),
// so each request tracks the next sequence number it expects and repairs any gap from the
// request's log: when a later event arrives first, when the subscriber reconnects, when a
// request has heard nothing for a while, and when the ingress asks before a decision (catchUp).
// Each event is delivered exactly once, in order.
//
// ioredis emits every message of one socket read at once, and under load one read holds hundreds
// of request records (one SSE write each). Handled there and then, they would keep the event loop
// from noticing anything else for that long, a client hanging up included. So records are
// delivered in slices of at most 2 ms (TurnQueue): a disconnect (which cancels the upstream call)
// is handled ahead of the token backlog instead of behind it.
import { Cluster } from "ioredis";
import { decodeReplyMessage, parseLogEntryId, type EventPosition, type ReplyRecord } from "@switchboard/protocol";
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";
import { TurnQueue } from "./turn-queue.ts";

export interface ReplySink {
  /** Called once per event, in order. */
  onFrame(frame: string, position: EventPosition): void;
}

interface OpenRequest {
  sink: ReplySink;
  attempt: number;
  nextSeq: number;
  /** Frames of the current attempt that arrived ahead of a gap, by sequence number. */
  ahead: Map<number, string>;
  lastHeardAt: number;
  repairing: boolean;
  repairAgain: boolean;
}

export interface ReplyHubOptions {
  subscriber: RedisConnection;
  reader: RedisConnection;
  keys: RelayKeys;
  ingressId: string;
  /** Read the log of a request that heard nothing for this long. */
  idleRepairMs: number;
  onError: (error: unknown, context: string) => void;
}

export class ReplyHub {
  readonly channel: string;
  private readonly open = new Map<string, OpenRequest>();
  private readonly options: ReplyHubOptions;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Records heard but not yet delivered, delivered at most 2 ms per event-loop turn. */
  private readonly backlog = new TurnQueue<ReplyRecord>((record) => this.onRecord(record), { maxMs: 2 });

  constructor(options: ReplyHubOptions) {
    this.options = options;
    this.channel = options.keys.replyChannel(options.ingressId);
  }

  async start(): Promise<void> {
    const { subscriber } = this.options;
    subscriber.on("smessage", (channel: string, message: string) => {
      if (channel !== this.channel) return;
      for (const record of decodeReplyMessage(message)) this.backlog.push(record);
    });
    if (subscriber instanceof Cluster) {
      // A Cluster's sharded subscriber reconnects on its own (ClusterSubscriberGroup) and says so
      // with this event, not with "ready"; it re-subscribes without waiting, so what is published
      // just after is found by the gap detection and the idle repair.
      subscriber.on("subscribersReady", () => this.repairAll());
    } else {
      // After a reconnect ioredis re-subscribes; a PING queued behind that tells us it is done,
      // and everything published meanwhile is then read from the logs.
      subscriber.on("ready", () => {
        subscriber.ping().then(
          () => this.repairAll(),
          (error: unknown) => this.options.onError(error, "subscriber ping"),
        );
      });
    }
    await subscriber.ssubscribe(this.channel);
    const interval = Math.max(10, Math.floor(this.options.idleRepairMs / 2));
    this.idleTimer = setInterval(() => this.repairIdle(), interval);
    this.idleTimer.unref();
  }

  get openCount(): number {
    return this.open.size;
  }

  register(requestId: string, sink: ReplySink): void {
    this.open.set(requestId, {
      sink,
      attempt: 1,
      nextSeq: 1,
      ahead: new Map(),
      lastHeardAt: Date.now(),
      repairing: false,
      repairAgain: false,
    });
  }

  /** Has any event of the request's worker reached it (so a worker holds its job)? */
  heardFrom(requestId: string): boolean {
    const request = this.open.get(requestId);
    return request !== undefined && (request.nextSeq > 1 || request.attempt > 1);
  }

  unregister(requestId: string): void {
    this.open.delete(requestId);
  }

  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    this.open.clear();
    this.backlog.clear();
  }

  /**
   * Read the request's log now and deliver what pub/sub missed. Resolves once it is delivered;
   * rejects when the log cannot be read (the reader fails fast, so this never hangs). For a
   * decision that must not rest on pub/sub alone: has a worker started this request?
   */
  async catchUp(requestId: string): Promise<void> {
    const request = this.open.get(requestId);
    if (request) await this.readLog(requestId, request);
  }

  private onRecord(record: ReplyRecord): void {
    const { requestId, attempt, seq, frames } = record;
    const request = this.open.get(requestId);
    if (!request) return;
    // One record carries the events a worker relayed for the request in one turn; a sink may end
    // the request (and unregister it) at any of them.
    for (let index = 0; index < frames.length; index++) {
      if (index > 0 && this.open.get(requestId) !== request) return;
      this.deliver(requestId, request, attempt, seq + index, frames[index] as string);
    }
  }

  private deliver(requestId: string, request: OpenRequest, attempt: number, seq: number, frame: string): void {
    if (attempt < request.attempt) return; // a superseded attempt
    if (attempt > request.attempt) {
      if (seq !== 1) return this.repairRequest(requestId, request);
      request.attempt = attempt;
      request.nextSeq = 1;
      request.ahead.clear();
    }
    if (seq < request.nextSeq) return; // already delivered
    if (seq > request.nextSeq) {
      request.ahead.set(seq, frame);
      return this.repairRequest(requestId, request);
    }
    request.lastHeardAt = Date.now();
    this.emit(requestId, request, frame, attempt, seq);
    let next = request.ahead.get(request.nextSeq);
    while (next !== undefined && this.open.get(requestId) === request) {
      request.ahead.delete(request.nextSeq);
      this.emit(requestId, request, next, attempt, request.nextSeq);
      next = request.ahead.get(request.nextSeq);
    }
  }

  private emit(requestId: string, request: OpenRequest, frame: string, attempt: number, seq: number): void {
    request.nextSeq = seq + 1;
    try {
      request.sink.onFrame(frame, { attempt, seq });
    } catch (error) {
      this.options.onError(error, `sink of ${requestId}`);
    }
  }

  private repairRequest(requestId: string, request: OpenRequest): void {
    if (request.repairing) {
      request.repairAgain = true;
      return;
    }
    request.repairing = true;
    request.lastHeardAt = Date.now();
    this.readLog(requestId, request).then(
      () => {
        request.repairing = false;
        if (request.repairAgain && this.open.get(requestId) === request) {
          request.repairAgain = false;
          this.repairRequest(requestId, request);
        }
      },
      (error: unknown) => {
        request.repairing = false;
        this.options.onError(error, `repair of ${requestId}`);
      },
    );
  }

  /**
   * Deliver the log from the next expected event on. Safe beside a repair in flight or live
   * messages: deliver() drops what was already delivered.
   */
  private async readLog(requestId: string, request: OpenRequest): Promise<void> {
    const entries = (await this.options.reader.xrange(
      this.options.keys.log(this.options.ingressId, requestId),
      `${request.attempt}-${request.nextSeq}`,
      "+",
    )) as Array<[string, string[]]>;
    for (const [id, fields] of entries) {
      if (this.open.get(requestId) !== request) return;
      const frame = fields[1];
      if (frame === undefined) continue;
      const position = parseLogEntryId(id);
      this.deliver(requestId, request, position.attempt, position.seq, frame);
    }
  }

  private repairAll(): void {
    for (const [requestId, request] of this.open) this.repairRequest(requestId, request);
  }

  private repairIdle(): void {
    const before = Date.now() - this.options.idleRepairMs;
    for (const [requestId, request] of this.open) {
      if (request.lastHeardAt < before) this.repairRequest(requestId, request);
    }
  }
}
