// A conversation's timeline: what happened to each of its turns, for an operator looking into one
// call. The ingress writes one record per request when it ends (arrival, queue wait, route,
// first token, outcome, trace id) and the worker one per upstream attempt when it ends (target,
// retry, fallback, hedge, tokens, outcome): one write each, never one per token, and only for
// requests that name a conversation. Records hold ids, times, counts and codes, never content. The
// list expires TIMELINE_TTL_SECONDS after its last write and keeps the latest maxEntries records.
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";

/** How one request ended, as its ingress saw it. */
export interface TurnRecord {
  kind: "turn";
  requestId: string;
  /** Epoch ms the ingress accepted the request. */
  arrivedAt: number;
  /** From acceptance until a worker started it; absent if none did. */
  queueWaitMs?: number;
  /** The routing table's key that matched, and the model it names. */
  route: string;
  model: string;
  stream: boolean;
  /** From acceptance to the first token relayed to the client; absent if none was. */
  firstTokenMs?: number;
  durationMs: number;
  /** finish, superseded, client-gone, or error (errorCode says which). */
  outcome: string;
  errorCode?: string;
  traceId?: string;
}

/** One upstream call of a request, as its worker saw it. */
export interface AttemptRecord {
  kind: "attempt";
  requestId: string;
  /** first, retry, fallback or hedge. */
  attempt: string;
  provider: string;
  model: string;
  fallbackIndex: number;
  retry: number;
  hedge?: boolean;
  /** Epoch ms the call began. */
  startedAt: number;
  durationMs: number;
  firstChunkMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** finish, failed, cancelled, superseded, or lost (a hedged request's other call answered first). */
  outcome: string;
  errorCode?: string;
}

export type TimelineRecord = TurnRecord | AttemptRecord;

/** One turn with its attempts, in the order they began. */
export interface TimelineTurn {
  requestId: string;
  /** Absent while the request is still open (or if its ingress died before it ended). */
  turn?: TurnRecord;
  attempts: AttemptRecord[];
}

const maxEntries = 1000;

/** Append one record (one MULTI: push, trim, expiry). */
export async function appendTimeline(
  redis: RedisConnection,
  keys: RelayKeys,
  conversationId: string,
  record: TimelineRecord,
  ttlMs: number,
): Promise<void> {
  const key = keys.timeline(conversationId);
  await redis.multi().rpush(key, JSON.stringify(record)).ltrim(key, -maxEntries, -1).pexpire(key, ttlMs).exec();
}

/** The conversation's turns, oldest first; empty if it has no timeline (or it expired). */
export async function readTimeline(
  redis: RedisConnection,
  keys: RelayKeys,
  conversationId: string,
): Promise<TimelineTurn[]> {
  const entries = await redis.lrange(keys.timeline(conversationId), 0, -1);
  const turns = new Map<string, TimelineTurn>();
  for (const entry of entries) {
    const record = JSON.parse(entry) as TimelineRecord;
    let turn = turns.get(record.requestId);
    if (!turn) {
      turn = { requestId: record.requestId, attempts: [] };
      turns.set(record.requestId, turn);
    }
    if (record.kind === "turn") turn.turn = record;
    else turn.attempts.push(record);
  }
  const began = (turn: TimelineTurn) => turn.turn?.arrivedAt ?? turn.attempts[0]?.startedAt ?? 0;
  const list = [...turns.values()];
  for (const turn of list) turn.attempts.sort((a, b) => a.startedAt - b.startedAt);
  return list.sort((a, b) => began(a) - began(b));
}
