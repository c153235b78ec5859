// Bookkeeping behind GET /_mock/stats: counters plus the last 200 chat calls,
// with client aborts detected from the response's close event. Tests and
// benchmarks read it to see what the gateway actually sent upstream.

import type { ServerResponse } from "node:http";
import type { MockFailureKind } from "./options.ts";

/** One chat completion call, as seen by the mock. Times: epoch ms (float). */
export interface MockRequestRecord {
  /** Unique for the server's lifetime (not restarted by reset). */
  seq: number;
  tag?: string;
  model: string;
  stream: boolean;
  startedAt: number;
  /** When the first response body byte was written (first SSE event or JSON body). */
  firstByteAt?: number;
  /** When the mock ended the response (normally or by an injected failure). */
  endedAt?: number;
  /** When the client went away before the response ended. */
  abortedAt?: number;
  /** Stream events carrying a token or tool call fragment that were written. */
  tokensSent: number;
  /** HTTP status sent, once headers went out. */
  status?: number;
  /** The injected failure kind, if the request asked for one. */
  fail?: MockFailureKind;
  /** The parsed request body (undefined when it was not valid JSON). */
  body: unknown;
}

export interface MockStats {
  /** Chat completion calls since the last reset (including rejected ones). */
  requests: number;
  /** Chat responses currently open (not cleared by reset). */
  active: number;
  /** Responses the mock ended itself (including injected failures). */
  completed: number;
  /** Responses the client closed before the mock ended them. */
  aborted: number;
  /** The last 200 calls, oldest first. */
  recent: MockRequestRecord[];
}

/** The live state of one chat response. */
export interface RequestState {
  record: MockRequestRecord;
  /** Stats generation the call belongs to; calls from before a reset are not counted. */
  epoch: number;
  /** The pending token/response timer, cleared as soon as the client goes away. */
  timer: NodeJS.Timeout | undefined;
  /** Set once the mock ended the response or the client went away. */
  settled: boolean;
}

const defaultRecentLimit = 200;

/** Wall-clock ms with sub-ms precision, comparable across processes. */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

export interface StatsRegistry {
  /** Registers a chat call and watches for the client going away. */
  open(
    res: ServerResponse,
    startedAt: number,
    body: unknown,
    model: string,
    stream: boolean,
    tag: string | undefined,
  ): RequestState;
  /** Marks the response as ended by the mock. */
  settle(state: RequestState): void;
  snapshot(): MockStats;
  reset(): void;
}

export function createStatsRegistry(recentLimit = defaultRecentLimit): StatsRegistry {
  let seq = 0;
  let epoch = 0;
  let requests = 0;
  let active = 0;
  let completed = 0;
  let aborted = 0;
  let recent: MockRequestRecord[] = [];

  return {
    open(res, startedAt, body, model, stream, tag) {
      const record: MockRequestRecord = { seq: ++seq, model, stream, startedAt, tokensSent: 0, body };
      if (tag !== undefined) record.tag = tag;
      requests++;
      active++;
      recent.push(record);
      if (recent.length > recentLimit) recent.shift();
      const state: RequestState = { record, epoch, timer: undefined, settled: false };
      res.on("close", () => {
        if (state.timer !== undefined) {
          clearTimeout(state.timer);
          state.timer = undefined;
        }
        if (state.settled) return;
        state.settled = true;
        active--;
        record.abortedAt = clock();
        if (state.epoch === epoch) aborted++;
      });
      return state;
    },
    settle(state) {
      if (state.settled) return;
      state.settled = true;
      active--;
      state.record.endedAt = clock();
      if (state.epoch === epoch) completed++;
    },
    snapshot() {
      return { requests, active, completed, aborted, recent: recent.map((record) => ({ ...record })) };
    },
    reset() {
      epoch++;
      requests = 0;
      completed = 0;
      aborted = 0;
      recent = [];
    },
  };
}
