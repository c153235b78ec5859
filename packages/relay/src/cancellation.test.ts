// Cancels against a real Redis: the cancels of one event-loop turn reach the workers as one message
// that names every request, each request's flag is set before that message leaves, and a lone
// cancel is a message of its own; a reason other than the client leaving (superseded) travels in it.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, inject, it, vi } from "vitest";
import { freePort, removeKeys } from "@switchboard/testing";
import { CancelBroadcaster, cancelReason, listenForCancels } from "./cancellation.ts";
import { relayKeys } from "./keys.ts";

const redisUrl = inject("redisUrl");
const keys = relayKeys(`sbtest-cancel-${randomBytes(4).toString("hex")}`);
let sender: Redis;
let subscriber: Redis;
let raw: Redis;
/** Every message on the cancel channel, as published. */
const messages: string[] = [];
/** Every request id the listener reported, with its reason and its flag's value then (set before the message left). */
const heard: Array<{ requestId: string; reason: string; flagged: Promise<string | undefined> }> = [];

beforeAll(async () => {
  sender = new Redis(redisUrl);
  subscriber = new Redis(redisUrl);
  raw = new Redis(redisUrl);
  const checker = new Redis(redisUrl);
  afterAll(() => checker.disconnect());
  await listenForCancels(subscriber, keys, (requestId, reason) =>
    heard.push({ requestId, reason, flagged: cancelReason(checker, keys, requestId) }),
  );
  raw.on("message", (_channel: string, message: string) => messages.push(message));
  await raw.subscribe(keys.cancelChannel);
});

afterAll(async () => {
  sender.disconnect();
  subscriber.disconnect();
  raw.disconnect();
  await removeKeys(redisUrl, keys.prefix);
});

it("sends the cancels of one turn as one message naming every request, after setting their flags", async () => {
  const broadcaster = new CancelBroadcaster(sender, keys);
  const ids = ["req-a", "req-b", "req-c"];
  await Promise.all(ids.map((id) => broadcaster.cancel(id, "client-gone")));
  // Two subscriber connections: wait until both have heard.
  await vi.waitFor(() => {
    expect(heard.map((entry) => entry.requestId)).toEqual(ids);
    expect(messages).toEqual(["req-a req-b req-c"]);
  });
  expect(await Promise.all(heard.map((entry) => entry.flagged))).toEqual(["client-gone", "client-gone", "client-gone"]);
  const ttl = await sender.pttl(keys.cancelFlag("req-b"));
  expect(ttl).toBeGreaterThan(100_000);
  expect(await sender.get(keys.cancelFlag("req-b"))).toBe("client-gone");
});

it("sends a lone cancel at the end of its turn, as a message of its own", async () => {
  messages.length = 0;
  heard.length = 0;
  const broadcaster = new CancelBroadcaster(sender, keys);
  await broadcaster.cancel("req-alone", "client-gone");
  await broadcaster.cancel("req-next", "client-gone");
  await vi.waitFor(() => {
    expect(heard.map((entry) => entry.requestId)).toEqual(["req-alone", "req-next"]);
    expect(messages).toEqual(["req-alone", "req-next"]);
  });
});

it("names a reason other than the client's leaving in the message, and gives it to the listener", async () => {
  messages.length = 0;
  heard.length = 0;
  const broadcaster = new CancelBroadcaster(sender, keys);
  await Promise.all([
    broadcaster.cancel("req-old-turn", "superseded"),
    broadcaster.cancel("req-older-turn", "superseded"),
    broadcaster.cancel("req-left", "client-gone"),
  ]);
  await vi.waitFor(() => {
    expect(heard).toHaveLength(3);
    expect([...messages].sort()).toEqual(["@superseded req-old-turn req-older-turn", "req-left"]);
  });
  expect(heard.map(({ requestId, reason }) => [requestId, reason]).sort()).toEqual([
    ["req-left", "client-gone"],
    ["req-old-turn", "superseded"],
    ["req-older-turn", "superseded"],
  ]);
  // The flag says why too, for a worker that starts the job without having heard the message.
  expect(await Promise.all(heard.map((entry) => entry.flagged))).toEqual(heard.map((entry) => entry.reason));
  expect(await sender.get(keys.cancelFlag("req-old-turn"))).toBe("superseded");
});

it("rejects every cancel of a turn whose script failed, so the caller can send them again", async () => {
  // Nothing listens on that port: every command fails at once.
  const broken = new Redis({
    port: await freePort(),
    lazyConnect: true,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  broken.on("error", () => {});
  const broadcaster = new CancelBroadcaster(broken, keys);
  const outcomes = await Promise.allSettled([
    broadcaster.cancel("req-x", "client-gone"),
    broadcaster.cancel("req-y", "client-gone"),
  ]);
  expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
  broken.disconnect();
});
