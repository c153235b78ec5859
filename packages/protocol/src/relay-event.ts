// The compact events a worker relays to the ingress that owns a request.
//
// One event is one line of text: a kind letter followed by a JSON payload. A delta's payload is
// exactly the OpenAI `delta` object, so the ingress can splice it into a chunk without parsing it.
// On the wire a request's events of one write are one record,
// `<requestId>\t<attempt>\t<seq>\t<frame>[\n<frame>…]` (seq is the first one's); one pub/sub message
// on the ingress's reply channel carries the records of every request a worker relayed for that
// ingress in one event-loop turn, separated by U+001E (record separator). Each event is also entry
// `<attempt>-<seq>` (field `f` = frame) in the request's log stream.
import type { ChunkDelta, FinishReason, Usage } from "./chat-response.ts";
import type { ErrorCode } from "./error-codes.ts";

interface StartedEvent {
  kind: "started";
  worker: string;
}
interface DeltaEvent {
  kind: "delta";
  /** The OpenAI delta object as JSON text (content, tool_calls, …; never role). */
  deltaJson: string;
}
interface FinishEvent {
  kind: "finish";
  finishReason: FinishReason;
  usage: Usage | null;
}
interface ErrorEvent {
  kind: "error";
  code: ErrorCode;
  message: string;
  retryAfterSeconds?: number;
}
export type RelayEvent = StartedEvent | DeltaEvent | FinishEvent | ErrorEvent;

const kindLetter = { started: "s", delta: "d", finish: "f", error: "e" } as const;

export function encodeRelayEvent(event: RelayEvent): string {
  switch (event.kind) {
    case "started":
      return kindLetter.started + JSON.stringify({ worker: event.worker });
    case "delta":
      return kindLetter.delta + event.deltaJson;
    case "finish":
      return kindLetter.finish + JSON.stringify({ finish_reason: event.finishReason, usage: event.usage });
    case "error":
      return (
        kindLetter.error +
        JSON.stringify({ code: event.code, message: event.message, retry_after: event.retryAfterSeconds ?? null })
      );
  }
}

export function encodeDelta(delta: ChunkDelta): string {
  return kindLetter.delta + JSON.stringify(delta);
}

/** Does this frame end its request's answer (a finish or an error event)? */
export function isEndFrame(frame: string): boolean {
  return frame[0] === kindLetter.finish || frame[0] === kindLetter.error;
}

/** Decode a frame; throws on a frame this version does not know (a bug, never user input). */
export function decodeRelayEvent(frame: string): RelayEvent {
  const letter = frame[0];
  const payload = frame.slice(1);
  switch (letter) {
    case "s":
      return { kind: "started", worker: (JSON.parse(payload) as { worker: string }).worker };
    case "d":
      return { kind: "delta", deltaJson: payload };
    case "f": {
      const parsed = JSON.parse(payload) as { finish_reason: FinishReason; usage: Usage | null };
      return { kind: "finish", finishReason: parsed.finish_reason, usage: parsed.usage };
    }
    case "e": {
      const parsed = JSON.parse(payload) as { code: ErrorCode; message: string; retry_after: number | null };
      return parsed.retry_after === null
        ? { kind: "error", code: parsed.code, message: parsed.message }
        : { kind: "error", code: parsed.code, message: parsed.message, retryAfterSeconds: parsed.retry_after };
    }
    default:
      throw new Error(`Unknown relay frame kind ${JSON.stringify(letter)}`);
  }
}

/** Where an event sits in a request's sequence: attempts restart at seq 1. */
export interface EventPosition {
  attempt: number;
  seq: number;
}

export function logEntryId(position: EventPosition): string {
  return `${position.attempt}-${position.seq}`;
}

export function parseLogEntryId(id: string): EventPosition {
  const dash = id.indexOf("-");
  return { attempt: Number(id.slice(0, dash)), seq: Number(id.slice(dash + 1)) };
}

/**
 * Separates the records of one reply message. Frames are a kind letter and JSON, and
 * JSON.stringify escapes every control character, so it never occurs inside a record.
 */
export const replyRecordSeparator = "\x1e";

/**
 * One request's frames of one write, events `position.seq`, `position.seq + 1`, …: one line each
 * (a frame never holds a raw newline). A message of one record is a valid reply message.
 */
export function encodeReplyRecord(requestId: string, position: EventPosition, frames: readonly string[]): string {
  return `${requestId}\t${position.attempt}\t${position.seq}\t${frames.join("\n")}`;
}

/** The reply message carrying these records (each from encodeReplyRecord). */
export function joinReplyRecords(records: readonly string[]): string {
  return records.join(replyRecordSeparator);
}

export interface ReplyRecord extends EventPosition {
  requestId: string;
  /** Events seq, seq + 1, …, in order. */
  frames: string[];
}

/** The records of a reply message, in the order they were written. */
export function decodeReplyMessage(message: string): ReplyRecord[] {
  const records: ReplyRecord[] = [];
  for (let start = 0; start <= message.length; ) {
    let end = message.indexOf(replyRecordSeparator, start);
    if (end === -1) end = message.length;
    const first = message.indexOf("\t", start);
    const second = message.indexOf("\t", first + 1);
    const third = message.indexOf("\t", second + 1);
    records.push({
      requestId: message.slice(start, first),
      attempt: Number(message.slice(first + 1, second)),
      seq: Number(message.slice(second + 1, third)),
      frames: message.slice(third + 1, end).split("\n"),
    });
    start = end + 1;
  }
  return records;
}
