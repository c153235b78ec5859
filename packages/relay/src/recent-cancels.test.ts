// When memory may answer for Redis's cancel flag, and when it must not.
import { describe, expect, it } from "vitest";
import { RecentCancels } from "./recent-cancels.ts";

describe("RecentCancels", () => {
  it("cannot tell anything before the subscription is live", () => {
    expect(new RecentCancels(1000).cancelled("a", Date.now(), 1)).toBeUndefined();
  });

  it("answers for first attempts of jobs enqueued while it listened", () => {
    const cancels = new RecentCancels(60_000);
    cancels.listening(10_000);
    cancels.add("gone", "client-gone", 20_000);
    cancels.add("replaced", "superseded", 20_000);
    expect(cancels.cancelled("gone", 15_000, 1)).toBe("client-gone");
    expect(cancels.cancelled("replaced", 15_000, 1)).toBe("superseded");
    expect(cancels.cancelled("live", 15_000, 1)).toBe(false);
    // Older than the subscription (within the clock slack), or a later attempt: ask Redis.
    expect(cancels.cancelled("live", 10_500, 1)).toBeUndefined();
    expect(cancels.cancelled("live", 15_000, 2)).toBeUndefined();
  });

  it("forgets cancels older than keepMs", () => {
    const cancels = new RecentCancels(1000);
    cancels.listening(0);
    cancels.add("old", "client-gone", 5000);
    cancels.add("new", "client-gone", 7000);
    expect(cancels.cancelled("old", 6000, 1)).toBe(false);
    expect(cancels.cancelled("new", 6000, 1)).toBe("client-gone");
  });
});
