// Everything a worker relays in one event-loop turn for one ingress goes to Redis as one script
// and reaches that ingress as one pub/sub message. Per token, the Redis round trip (one script:
// XADD, PEXPIRE, PUBLISH) and the pub/sub message cost more CPU than the token itself, in Redis, in
// the worker and in the ingress; shared by the requests of a turn, they cost a fraction of that
// (measured in docs/performance.md). Under load the batches grow by themselves: the more streams a
// worker serves, the more of them relay in the same turn. A lone token waits for nothing: the batch
// is written at the end of its turn, before the socket it goes on is uncorked (turn-cork.ts).
//
// One batcher per relay connection. Each request (relay-writer.ts) hands it, once per turn in which
// it relays, a record: the entries for its log and its part of the message. The script logs every
// record (XADD under explicit ids, PEXPIRE), then publishes the message once (SPUBLISH: the logs
// and the reply channel share the ingress's hash tag, keys.ts, so on a Redis Cluster one script
// touches one slot). One request's refused XADD (an attempt superseded by a later one) fails that
// request alone, not the others in its script.
import type { Redis, Result } from "ioredis";
import { joinReplyRecords } from "@switchboard/protocol";
import type { RedisConnection } from "./redis-client.ts";
import { corkUntilNextTurn, corksTurns } from "./turn-cork.ts";

// KEYS: the logs. ARGV: the reply channel, the message ("": publish nothing), then for each log the
// number of its entries, its new time to live in ms ("": leave it as it is), and an entry id and a
// frame per entry. Returns the listeners that got the message (-1: not published), then the index
// (1-based) and error of each log that refused an entry.
const batchScript = `
local refused = {}
local at = 3
for k = 1, #KEYS do
  local count = tonumber(ARGV[at])
  local ttl = ARGV[at + 1]
  at = at + 2
  for i = 1, count do
    local added = redis.pcall('XADD', KEYS[k], ARGV[at], 'f', ARGV[at + 1])
    at = at + 2
    if type(added) == 'table' and added.err then
      refused[#refused + 1] = k
      refused[#refused + 1] = added.err
      at = at + 2 * (count - i)
      break
    end
  end
  if ttl ~= '' then redis.call('PEXPIRE', KEYS[k], ttl) end
end
local listeners = -1
if ARGV[2] ~= '' then listeners = redis.call('SPUBLISH', ARGV[1], ARGV[2]) end
table.insert(refused, 1, listeners)
return refused`;

// A turn with one request's events (a lone token, the common case at low load): the same writes
// without the per-log loop, pcall and reply table, which cost Redis about a fifth more per event.
// A refused XADD fails the script, and so that one request, as above. KEYS[1]: the log; ARGV: its
// new time to live ("": leave it), the reply channel, the message, then an entry id and a frame per
// entry.
const oneScript = `
for i = 4, #ARGV, 2 do
  redis.call('XADD', KEYS[1], ARGV[i], 'f', ARGV[i + 1])
end
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if ARGV[3] == '' then return -1 end
return redis.call('SPUBLISH', ARGV[2], ARGV[3])`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    relayBatch(...arguments_: Array<string | number>): Result<Array<string | number>, Context>;
    relayOne(
      log: string,
      ttlMs: number | "",
      channel: string,
      message: string,
      ...entries: string[]
    ): Result<number, Context>;
  }
}

export function defineRelayCommands(redis: RedisConnection): void {
  redis.defineCommand("relayBatch", { lua: batchScript });
  redis.defineCommand("relayOne", { numberOfKeys: 1, lua: oneScript });
}

/** One request's events of one turn, as its relay hands them over at the end of the turn. */
export interface RelayRecord {
  /** The request's log. */
  logKey: string;
  /** Entry id and frame of each event to log, in order. */
  entries: string[];
  /**
   * The log's new time to live (ms), or undefined to leave it: a request's log is given one when it
   * is opened and when it ends (relay-writer.ts), not with every event (a PEXPIRE per log and turn
   * was about a third of the script's time in Redis).
   */
  ttlMs: number | undefined;
  /** The request's record in the reply message (encodeReplyRecord), or "" to only log. */
  message: string;
  /** The script ran: the listeners that got the message (-1 when this record published nothing). */
  written(listeners: number): void;
  /** The script failed, or the request's log refused an entry. */
  failed(error: unknown): void;
}

/** A request with events waiting for the end of the turn. */
export interface RelayBatchMember {
  readonly replyChannel: string;
  /** Called once, at the end of the turn in which it joined. */
  takeRecord(): RelayRecord;
}

export interface RelayBatcherOptions {
  redis: RedisConnection;
  /** How long a request's log is kept after its last event (RELAY_LOG_TTL_SECONDS). */
  logTtlMs: number;
  /** Runs each write (default: as it is); the worker passes one that keeps relay writes out of traces. */
  untraced?: <T>(write: () => T) => T;
  /**
   * Bounds on one script, so that a large batch never holds Redis for long: more events or bytes
   * for one reply channel in one turn go as several scripts (a request's record is never split).
   */
  maxEventsPerScript?: number;
  maxBytesPerScript?: number;
}

export class RelayBatcher {
  readonly redis: RedisConnection;
  private members: RelayBatchMember[] = [];
  readonly logTtlMs: number;
  private readonly untraced: <T>(write: () => T) => T;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  /**
   * The batch is written just before the corked socket is uncorked (turn-cork.ts), unless the
   * connection auto-pipelines instead (a Cluster's, whose node sockets are its own).
   */
  private readonly corks: boolean;
  /**
   * The scripts reach Redis in the order they are sent: true on one Redis connection, false on a
   * Cluster. An ioredis Cluster sends a command that met MOVED, ASK, TRYAGAIN, CLUSTERDOWN or a
   * closed node connection again later (from its delay queue, or after a slot refresh), while the
   * commands sent after it go at once; a request's later turn can then reach its log first, and
   * the log refuses the earlier entries (an XADD id must exceed the last). On such a connection
   * each request keeps one script in flight (relay-writer.ts).
   */
  readonly keepsOrder: boolean;

  constructor(options: RelayBatcherOptions) {
    this.redis = options.redis;
    this.logTtlMs = options.logTtlMs;
    this.untraced = options.untraced ?? ((write) => write());
    this.maxEvents = options.maxEventsPerScript ?? 256;
    this.maxBytes = options.maxBytesPerScript ?? 256 * 1024;
    this.corks = corksTurns(options.redis);
    this.keepsOrder = this.corks;
  }

  /** Write the member's events at the end of this turn, with everyone else's. */
  add(member: RelayBatchMember): void {
    this.members.push(member);
    if (this.members.length > 1) return;
    if (this.corks) corkUntilNextTurn((this.redis as Redis).stream, this.flush);
    else setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const members = this.members;
    this.members = [];
    if (members.length === 1) {
      const member = members[0] as RelayBatchMember;
      return this.send(member.replyChannel, [member.takeRecord()]);
    }
    const byChannel = new Map<string, RelayRecord[]>();
    for (const member of members) {
      const records = byChannel.get(member.replyChannel);
      if (records) records.push(member.takeRecord());
      else byChannel.set(member.replyChannel, [member.takeRecord()]);
    }
    for (const [channel, records] of byChannel) {
      let first = 0;
      let events = 0;
      let bytes = 0;
      for (let index = 0; index < records.length; index++) {
        const record = records[index] as RelayRecord;
        const recordEvents = record.entries.length / 2;
        let recordBytes = record.message.length;
        for (const entry of record.entries) recordBytes += entry.length;
        if (index > first && (events + recordEvents > this.maxEvents || bytes + recordBytes > this.maxBytes)) {
          this.send(channel, records.slice(first, index));
          first = index;
          events = 0;
          bytes = 0;
        }
        events += recordEvents;
        bytes += recordBytes;
      }
      this.send(channel, first === 0 ? records : records.slice(first));
    }
  };

  private send(channel: string, records: RelayRecord[]): void {
    if (records.length === 1) return this.sendOne(channel, records[0] as RelayRecord);
    const script: Array<string | number> = [records.length];
    const messages: string[] = [];
    for (const record of records) {
      script.push(record.logKey);
      if (record.message !== "") messages.push(record.message);
    }
    script.push(channel, joinReplyRecords(messages));
    for (const record of records) {
      script.push(record.entries.length / 2, record.ttlMs ?? "");
      for (const entry of record.entries) script.push(entry);
    }
    let write: Promise<Array<string | number>>;
    try {
      write = this.untraced(() => this.redis.relayBatch(...script));
    } catch (error) {
      write = Promise.reject(error);
    }
    write.then(
      (reply) => {
        const listeners = Number(reply[0]);
        let refused: Map<number, string> | undefined;
        for (let index = 1; index < reply.length; index += 2)
          (refused ??= new Map()).set(Number(reply[index]) - 1, String(reply[index + 1]));
        records.forEach((record, index) => {
          const error = refused?.get(index);
          if (error !== undefined) record.failed(new Error(`the request's log refused an event: ${error}`));
          else record.written(record.message === "" ? -1 : listeners);
        });
      },
      (error: unknown) => {
        for (const record of records) record.failed(error);
      },
    );
  }

  private sendOne(channel: string, record: RelayRecord): void {
    let write: Promise<number>;
    try {
      write = this.untraced(() =>
        this.redis.relayOne(record.logKey, record.ttlMs ?? "", channel, record.message, ...record.entries),
      );
    } catch (error) {
      write = Promise.reject(error);
    }
    write.then(
      (listeners) => record.written(listeners),
      (error: unknown) => record.failed(error),
    );
  }
}
