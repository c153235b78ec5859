// When a first attempt writes its "started" event: late enough to ride with the first token, early
// enough to be in the log before the ingress's queue-wait check reads it at start-by, even if this
// worker dies first and the crash reaper hands the job to another.
import { describe, expect, it } from "vitest";
import { startedWriteDelayMs } from "./chat-job-handler.ts";

describe("startedWriteDelayMs", () => {
  const now = 1_000_000;
  const takeoverMs = 1600;

  it("holds a first attempt's started event back for a quarter of the time left to start-by", () => {
    expect(startedWriteDelayMs(now + 3000, 1, takeoverMs, now)).toBe(750);
    expect(startedWriteDelayMs(now + 60_000, 1, takeoverMs, now)).toBe(15_000);
  });

  it("writes it early enough that a takeover after a crash still ends before start-by", () => {
    expect(startedWriteDelayMs(now + 2000, 1, takeoverMs, now)).toBe(400);
    expect(startedWriteDelayMs(now + 1700, 1, takeoverMs, now)).toBe(100);
    expect(startedWriteDelayMs(now + 1605, 1, takeoverMs, now)).toBe(0);
  });

  it("writes it at once for a later attempt, a job without start-by, or one picked up at its start-by", () => {
    expect(startedWriteDelayMs(now + 3000, 2, takeoverMs, now)).toBe(0);
    expect(startedWriteDelayMs(undefined, 1, takeoverMs, now)).toBe(0);
    expect(startedWriteDelayMs(now + 39, 1, 0, now)).toBe(0);
    expect(startedWriteDelayMs(now - 5, 1, takeoverMs, now)).toBe(0);
  });
});
