// An enqueue the ingress gave up on may still reach Redis: Redis hung (SIGSTOP) with the job's add
// already sent, the ingress answered 503 at its command timeout, and Redis then woke up and ran the
// add. The cancel that goes with the 503 follows it: the job is removed, or, if a worker took it
// first, stopped — its upstream call closed at once instead of running to its end for nobody.
import { describe, expect, it } from "vitest";
import { chatBody } from "@switchboard/testing";
import { startFaultStack, waitFor } from "./support/fault-stack.ts";

const body = (tag: string, tokens: number) => JSON.stringify(chatBody({ mock: { tag, tokens, tokenDelayMs: 20 } }));

describe("an enqueue the ingress gave up on", () => {
  it("is cancelled: its client hears 503, and the upstream call, if one was made, is closed at once", async () => {
    const stack = await startFaultStack({
      ingressEnv: { REDIS_COMMAND_TIMEOUT_MS: "300", REDIS_OUTAGE_GRACE_MS: "5000" },
      workerEnv: { UPSTREAM_RETRIES: "0" },
    });
    try {
      const url = `${stack.urls[0]!}/chat/completions`;
      const post = (tag: string, tokens = 3) =>
        fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: body(tag, tokens) });
      const warm = await post("warm-up");
      expect(warm.status).toBe(200);
      await warm.text();

      stack.redis.pause();
      let answer: Response;
      try {
        // 200 tokens, 20 ms apart: 4 s of answer if nobody stops it.
        answer = await post("abandoned", 200);
      } finally {
        stack.redis.resume();
      }
      expect(answer.status).toBe(503);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("redis_unavailable");

      // Once Redis is back, a new request is answered after any job queued before it.
      let after: Response | undefined;
      for (let attempt = 0; attempt < 50 && after?.status !== 200; attempt++) {
        await after?.text();
        after = await post("after");
      }
      expect(after?.status).toBe(200);
      await after?.text();
      // The abandoned job never reached the upstream, or its call was closed long before its end.
      const abandoned = () => stack.stats().then((stats) => stats.recent.find((call) => call.tag === "abandoned"));
      await waitFor(
        async () => {
          const call = await abandoned();
          return call === undefined || call.abortedAt !== undefined || call.endedAt !== undefined;
        },
        10_000,
        "the abandoned job's upstream call settled",
      );
      const call = await abandoned();
      if (call !== undefined) {
        expect(call.abortedAt).toBeDefined();
        expect(call.tokensSent).toBeLessThan(100);
      }
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
