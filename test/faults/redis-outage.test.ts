// Redis outage (behaviour; the figures come from `npm run faults`): with Redis gone,
// requests fail fast and explicitly, /ready turns false, and the stack recovers by itself; a client
// that hung up meanwhile still has its upstream call stopped once Redis answers again.
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { MockRequestRecord } from "@switchboard/mock-upstream";
import { chatBody } from "@switchboard/testing";
import { measureRedisOutage } from "./scenarios/redis-outage.ts";
import { streamChat } from "./support/chat-client.ts";
import { startFaultStack, waitFor, type FaultStack } from "./support/fault-stack.ts";

describe("Redis outage", () => {
  it.each([
    ["answers 503 while Redis is down, ends every request explicitly, and recovers without restarts", "killed"],
    ["does the same when Redis hangs with its connections open", "hung"],
  ] as const)(
    "%s",
    async (_title, mode) => {
      const figures = await measureRedisOutage({ until503s: 20 }, 10, mode);
      expect(figures.unexplained).toBe(0);
      expect(figures.outcomes["http-error:redis_unavailable"]).toBeGreaterThan(0);
      expect(figures.readyFalseAfter).toBeGreaterThan(0);
      expect(figures.recoveredAfter).toBeGreaterThan(0);
      expect(figures.processesRestarted).toBe(0);
    },
    60_000,
  );

  it("stops the upstream call of a client that hung up while Redis hung, once Redis answers again", async () => {
    // 300 tokens 20 ms apart: an answer of about 6 s, so its natural end is far from the cancel.
    const stack = await startFaultStack({ mock: { tokens: 300, tokenDelayMs: 20 } });
    try {
      const url = stack.urls[0] as string;
      const client = new AbortController();
      let hungUp: () => void = () => {};
      const hangUp = new Promise<void>((resolve) => (hungUp = resolve));
      const call = streamChat(url, chatBody({ stream: true }), {
        signal: client.signal,
        onToken: (count) => {
          if (count === 3) hungUp();
        },
      });
      await hangUp;
      // Redis hangs with its connections open; the client hangs up meanwhile, and the ingress's
      // cancel broadcast fails at its command timeout (it is kept to be sent again).
      stack.redis.pause();
      client.abort();
      expect((await call).outcome).toBe("aborted");
      // A readiness check started after the cancel fails after it, on the same connection.
      await untilNotReady(url);
      stack.redis.resume();
      // Nothing reconnected: the cancel written before the timeout runs when Redis resumes, and the
      // worker closes the upstream call long before the answer's end.
      const record = await upstreamCallEnded(stack);
      expect(record?.endedAt).toBeUndefined();
      expect(record?.abortedAt).toBeDefined();
      expect(record?.tokensSent).toBeLessThan(300);
    } finally {
      await stack.stop();
    }
  }, 60_000);

  it("sends a cancel again once its connection is back when the client hung up while it was away", async () => {
    // The upstream is slow to its first token, so the worker has nothing to write meanwhile: only
    // the cancel stops the call. Redis stays up (the job and its lock with it); the ingress's
    // command connection alone is dropped and kept out for a while (Redis at its client limit).
    const stack = await startFaultStack({
      mock: { tokens: 300, tokenDelayMs: 20, firstTokenDelayMs: 2000 },
      workerEnv: { UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "60000" },
    });
    const admin = new Redis(stack.redis.url);
    try {
      const url = stack.urls[0] as string;
      const ingressId = String((stack.ingresses[0] as (typeof stack.ingresses)[number]).readyLine.ingressId);
      const client = new AbortController();
      const call = streamChat(url, chatBody({ stream: true }), { signal: client.signal });
      await waitFor(async () => (await stack.stats()).requests === 1, 10_000, "the upstream call");
      const clients = String(await admin.client("LIST")).split("\n");
      const command = clients.find((line) => line.includes(`name=switchboard:${ingressId}:command`));
      const id = /^id=(\d+)/.exec(command ?? "")?.[1];
      expect(id).toBeDefined();
      await admin.config("SET", "maxclients", String(clients.filter(Boolean).length - 1));
      await admin.client("KILL", "ID", id as string);
      client.abort();
      expect((await call).outcome).toBe("aborted");
      // The ingress saw the hang-up while its connection was refused, so the cancel could not go.
      await untilNotReady(url);
      await admin.config("SET", "maxclients", "10000");
      const record = await upstreamCallEnded(stack);
      expect(record?.endedAt).toBeUndefined();
      expect(record?.tokensSent).toBe(0);
    } finally {
      admin.disconnect();
      await stack.stop();
    }
  }, 60_000);
});

/** Resolves once the ingress at url answers /ready with 503. */
async function untilNotReady(url: string): Promise<void> {
  await waitFor(
    async () => {
      const response = await fetch(url.replace(/\/v1$/, "/ready"));
      await response.arrayBuffer();
      return response.status === 503;
    },
    10_000,
    "/ready to turn false",
  );
}

/** The mock's record of the stack's only upstream call, once that call has ended either way. */
async function upstreamCallEnded(stack: FaultStack): Promise<MockRequestRecord | undefined> {
  let record: MockRequestRecord | undefined;
  await waitFor(
    async () => {
      [record] = (await stack.stats()).recent;
      return record?.abortedAt !== undefined || record?.endedAt !== undefined;
    },
    15_000,
    "the upstream call to end",
  );
  return record;
}
