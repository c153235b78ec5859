// Many requests' events in one relay script and one pub/sub message, against a private
// redis-server (its command counts are this test's alone): what each script and message carries,
// gaps repaired per request from its log, one request of a shared batch ending or failing alone.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeReplyMessage,
  encodeDelta,
  encodeRelayEvent,
  replyRecordSeparator,
  type EventPosition,
} from "@switchboard/protocol";
import { freePort, spawnRedisServer } from "@switchboard/testing";
import { relayKeys } from "./keys.ts";
import { RelayBatcher, defineRelayCommands } from "./relay-batcher.ts";
import { RequestRelay } from "./relay-writer.ts";
import { ReplyHub } from "./reply-hub.ts";

const keys = relayKeys("sbtest-batch");
const ingressId = "batch-test";
let server: ChildProcess;
let writer: Redis;
let subscriber: Redis;
let listener: Redis;
let hub: ReplyHub;
const clients: Redis[] = [];
let batcher: RelayBatcher;
/** Every message published on the hub's channel, as a second subscriber heard it. */
const messages: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  server = await spawnRedisServer(["--port", String(port), "--save", "", "--appendonly", "no"]);
  const connect = async () => {
    const client = new Redis({ port, host: "127.0.0.1", retryStrategy: (times) => Math.min(20 * times, 200) });
    await client.ping();
    return client;
  };
  writer = await connect();
  subscriber = await connect();
  listener = await connect();
  const reader = await connect();
  clients.push(writer, subscriber, listener, reader);
  defineRelayCommands(writer);
  batcher = new RelayBatcher({ redis: writer, logTtlMs: 60_000 });
  hub = new ReplyHub({
    subscriber,
    reader,
    keys,
    ingressId,
    // Only gap detection repairs in these tests, not the idle repair.
    idleRepairMs: 600_000,
    onError: (error) => {
      throw error;
    },
  });
  await hub.start();
  listener.on("smessage", (_channel: string, message: string) => messages.push(message));
  await listener.ssubscribe(hub.channel);
  // Both scripts (one request's turn, several requests' turn) are loaded (EVALSHA, then EVAL after
  // NOSCRIPT) before anything is counted.
  await relayOf("warm-up").emit(encodeDelta({ content: "warm" }));
  await Promise.all([relayOf("warm-up-1").emit(delta("warm")), relayOf("warm-up-2").emit(delta("warm"))]);
}, 30_000);
afterAll(async () => {
  await hub?.close();
  for (const client of clients) client.disconnect();
  if (server && server.exitCode === null) {
    server.kill("SIGKILL");
    await once(server, "exit");
  }
});

function relayOf(requestId: string, attempt = 1, relayBatcher = batcher, deadlineAt?: number): RequestRelay {
  return new RequestRelay({
    ...(deadlineAt === undefined ? {} : { deadlineAt }),
    batcher: relayBatcher,
    keys,
    requestId,
    ingressId,
    replyChannel: hub.channel,
    attempt,
    onNoListener: () => {},
    noListenerGraceMs: 60_000,
  });
}

/** A sink per request: its frames as `<seq> <content>`, and a promise for the count it waits for. */
function sinks(requestIds: string[], count: number) {
  const heard = new Map<string, string[]>();
  const done = requestIds.map((requestId) => {
    const frames: string[] = [];
    heard.set(requestId, frames);
    return new Promise<void>((resolve) =>
      hub.register(requestId, {
        onFrame: (frame: string, position: EventPosition) => {
          frames.push(`${position.attempt}-${position.seq} ${frame}`);
          if (frames.length === count) resolve();
        },
      }),
    );
  });
  return { heard, all: Promise.all(done) };
}

/** Scripts Redis has run so far (EVALSHA calls). */
async function scriptsRun(): Promise<number> {
  const stats = (await writer.info("commandstats")) as string;
  return Number(stats.match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
}

/**
 * The messages published for this test's requests (their ids start with `prefix`), once `count`
 * have arrived: the listener may still be hearing an earlier test's messages.
 */
async function messagesOf(prefix: string, count: number): Promise<string[]> {
  const ours = () => messages.filter((message) => message.startsWith(prefix));
  await expect.poll(() => ours().length).toBeGreaterThanOrEqual(count);
  return ours();
}

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);
const delta = (text: string) => encodeDelta({ content: text });

describe("RelayBatcher", () => {
  it("writes the events of 50 requests relayed in one turn as one script and one message", async () => {
    const requestIds = ids("fifty-", 50);
    const { heard, all } = sinks(requestIds, 3);
    const relays = requestIds.map((requestId) => relayOf(requestId));
    const scriptsBefore = await scriptsRun();
    // Turn 1: a token each; turn 2: a token and the end each.
    const first = await Promise.all(relays.map((relay) => relay.emit(delta("a"))));
    const second = await Promise.all(
      relays.flatMap((relay) => [
        relay.emit(delta("b")),
        relay.emit(encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null })),
      ]),
    );
    expect([...first, ...second].every((listeners) => listeners === 2)).toBe(true);
    await all;
    expect((await scriptsRun()) - scriptsBefore).toBe(2);
    const sent = await messagesOf("fifty-", 2);
    expect(sent.map((message) => decodeReplyMessage(message).length)).toEqual([50, 50]);
    expect(decodeReplyMessage(sent[1] as string)[7]).toEqual({
      requestId: "fifty-7",
      attempt: 1,
      seq: 2,
      frames: [delta("b"), 'f{"finish_reason":"stop","usage":null}'],
    });
    for (const requestId of requestIds)
      expect(heard.get(requestId)).toEqual([
        `1-1 ${delta("a")}`,
        `1-2 ${delta("b")}`,
        '1-3 f{"finish_reason":"stop","usage":null}',
      ]);
    const log = (await writer.xrange(keys.log(ingressId, "fifty-49"), "-", "+")) as Array<[string, string[]]>;
    expect(log.map(([id]) => id)).toEqual(["1-1", "1-2", "1-3"]);
  });

  it("publishes a quiet event of a shared turn with the request's next events, and nothing for it before", async () => {
    const { heard, all } = sinks(["quiet-a", "quiet-b"], 2);
    const quiet = relayOf("quiet-a");
    const loud = relayOf("quiet-b");
    const started = encodeRelayEvent({ kind: "started", worker: "w1" });
    expect(await Promise.all([quiet.emitQuietly(started), loud.emit(delta("x"))])).toEqual([-1, 2]);
    expect(await Promise.all([quiet.emit(delta("y")), loud.emit(delta("z"))])).toEqual([2, 2]);
    await all;
    const sent = await messagesOf("quiet-", 2);
    expect(sent.map((message) => decodeReplyMessage(message).map((record) => record.requestId))).toEqual([
      ["quiet-b"],
      ["quiet-a", "quiet-b"],
    ]);
    expect(heard.get("quiet-a")).toEqual([`1-1 ${started}`, `1-2 ${delta("y")}`]);
  });

  it("splits a turn over several scripts when it holds more events than one script may carry", async () => {
    const small = new RelayBatcher({ redis: writer, logTtlMs: 60_000, maxEventsPerScript: 10 });
    const requestIds = ids("bounded-", 25);
    const { heard, all } = sinks(requestIds, 1);
    const scriptsBefore = await scriptsRun();
    await Promise.all(requestIds.map((requestId) => relayOf(requestId, 1, small).emit(delta("only"))));
    await all;
    expect((await scriptsRun()) - scriptsBefore).toBe(3);
    const sent = await messagesOf("bounded-", 3);
    expect(sent.map((message) => message.split(replyRecordSeparator).length)).toEqual([10, 10, 5]);
    expect([...heard.values()].every((frames) => frames.length === 1)).toBe(true);
  });

  it("repairs every request of a lost shared message from its log, exactly once and in order", async () => {
    const requestIds = ids("lost-", 20);
    const { heard, all } = sinks(requestIds, 3);
    const relays = requestIds.map((requestId) => relayOf(requestId));
    await Promise.all(relays.map((relay) => relay.emit(delta("1"))));
    // The hub's subscriber stops listening for one turn: that shared message reaches nobody.
    await subscriber.sunsubscribe(hub.channel);
    expect(new Set(await Promise.all(relays.map((relay) => relay.emit(delta("2")))))).toEqual(new Set([1]));
    await subscriber.ssubscribe(hub.channel);
    // The next message shows every request a gap; each reads its log.
    await Promise.all(relays.map((relay) => relay.emit(delta("3"))));
    await all;
    for (const requestId of requestIds)
      expect(heard.get(requestId)).toEqual([`1-1 ${delta("1")}`, `1-2 ${delta("2")}`, `1-3 ${delta("3")}`]);
  });

  it("keeps relaying the others when one request of a shared batch is cancelled", async () => {
    const requestIds = ids("cancel-", 10);
    const { heard, all } = sinks(
      requestIds.filter((requestId) => requestId !== "cancel-3"),
      5,
    );
    const cancelled = sinks(["cancel-3"], 2);
    const relays = requestIds.map((requestId) => relayOf(requestId));
    for (let turn = 1; turn <= 5; turn++) {
      if (turn === 3) {
        await cancelled.all;
        // The client went away: the ingress forgets the request and its worker stops relaying it.
        hub.unregister("cancel-3");
        relays[3]?.close();
      }
      await Promise.all(
        relays.filter((_, index) => turn < 3 || index !== 3).map((relay) => relay.emit(delta(String(turn)))),
      );
    }
    await all;
    const sent = await messagesOf("cancel-", 5);
    expect(sent.map((message) => decodeReplyMessage(message).length)).toEqual([10, 10, 9, 9, 9]);
    expect(cancelled.heard.get("cancel-3")).toEqual([`1-1 ${delta("1")}`, `1-2 ${delta("2")}`]);
    for (const requestId of requestIds.filter((requestId) => requestId !== "cancel-3"))
      expect(heard.get(requestId)?.map((frame) => frame.split(" ")[0])).toEqual(["1-1", "1-2", "1-3", "1-4", "1-5"]);
  });

  it("fails only the request whose log refuses an event (a superseded attempt), not the others of its script", async () => {
    const { heard, all } = sinks(["fresh", "neighbour"], 1);
    // A second attempt has started the request; the first one's late events are refused by its log.
    await relayOf("stale", 2).emit(encodeRelayEvent({ kind: "started", worker: "w2" }));
    const stale = relayOf("stale", 1);
    const results = await Promise.allSettled([
      stale.emit(delta("late")),
      relayOf("fresh").emit(delta("on time")),
      relayOf("neighbour").emit(delta("on time")),
    ]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/log refused an event/);
    await all;
    expect(heard.get("fresh")).toEqual([`1-1 ${delta("on time")}`]);
    const log = (await writer.xrange(keys.log(ingressId, "stale"), "-", "+")) as Array<[string, string[]]>;
    expect(log.map(([id]) => id)).toEqual(["2-1"]);
  });

  it("sets a log's time to live when an attempt opens it and when the answer ends, not with every event", async () => {
    const log = keys.log(ingressId, "ttl");
    const deadlineAt = Date.now() + 30_000;
    const relay = relayOf("ttl", 1, batcher, deadlineAt);
    // Opened (in a shared turn, and alone): kept the log TTL past the answer's deadline.
    await Promise.all([
      relay.emitQuietly(encodeRelayEvent({ kind: "started", worker: "w" })),
      relayOf("other").emit(delta("x")),
    ]);
    const opened = await writer.pttl(log);
    expect(opened).toBeGreaterThan(60_000 + 25_000);
    expect(opened).toBeLessThanOrEqual(60_000 + 30_000);
    // The events between leave it as it is (here, a mark far below what any write would set).
    await writer.pexpire(log, 5_000);
    await relay.emit(delta("a"));
    await Promise.all([relay.emit(delta("b")), relayOf("neighbour-ttl").emit(delta("y"))]);
    expect(await writer.pttl(log)).toBeLessThanOrEqual(5_000);
    // The end: kept the log TTL from now.
    await relay.emit(encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null }));
    expect(await writer.pttl(log)).toBeGreaterThan(55_000);
    // A later attempt opens it again, past the deadline; without a deadline every write sets the TTL.
    await writer.pexpire(log, 5_000);
    await relayOf("ttl", 2, batcher, deadlineAt).emit(delta("again"));
    expect(await writer.pttl(log)).toBeGreaterThan(60_000 + 25_000);
    const undated = relayOf("undated");
    await undated.emit(delta("a"));
    await writer.pexpire(keys.log(ingressId, "undated"), 5_000);
    await undated.emit(delta("b"));
    expect(await writer.pttl(keys.log(ingressId, "undated"))).toBeGreaterThan(55_000);
  });
});
