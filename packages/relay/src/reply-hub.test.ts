// The relay against a real Redis: in-order, exactly-once delivery, whatever pub/sub drops.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import {
  encodeDelta,
  encodeRelayEvent,
  encodeReplyRecord,
  replyRecordSeparator,
  logEntryId,
  type EventPosition,
} from "@switchboard/protocol";
import { relayKeys } from "./keys.ts";
import { createRedisClient, type RedisConnection } from "./redis-client.ts";
import { RelayBatcher, defineRelayCommands } from "./relay-batcher.ts";
import { RequestRelay } from "./relay-writer.ts";
import { ReplyHub } from "./reply-hub.ts";
import { removeKeys, freePort } from "@switchboard/testing";

const keys = relayKeys(`sbtest-hub-${process.pid}-${Date.now()}`);
let writer: Redis;
let subscriber: Redis;
let reader: Redis;
let hub: ReplyHub;
let batcher: RelayBatcher;
const ingressId = "hub-test";

beforeAll(async () => {
  const url = inject("redisUrl");
  writer = new Redis(url);
  subscriber = new Redis(url);
  reader = new Redis(url);
  defineRelayCommands(writer);
  batcher = new RelayBatcher({ redis: writer, logTtlMs: 60_000 });
  hub = new ReplyHub({
    subscriber,
    reader,
    keys,
    ingressId,
    idleRepairMs: 100,
    onError: (error) => {
      throw error;
    },
  });
  await hub.start();
});
afterAll(async () => {
  await hub.close();
  for (const client of [writer, subscriber, reader]) client.disconnect();
  await removeKeys(inject("redisUrl"), keys.prefix);
});

/** A sink that records frames and resolves when it has seen `count` of them. */
function recorder(count: number) {
  const frames: Array<{ frame: string; position: EventPosition }> = [];
  let resolve: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    frames,
    done,
    onFrame: (frame: string, position: EventPosition) => {
      frames.push({ frame, position });
      if (frames.length === count) resolve();
    },
  };
}

/** Write an event to the log without publishing it: what a dropped pub/sub message looks like. */
async function logOnly(requestId: string, position: EventPosition, frame: string): Promise<void> {
  await writer.xadd(keys.log(ingressId, requestId), logEntryId(position), "f", frame);
}

/** A second subscriber on the hub's channel: the records published for one request, as sent. */
async function listenFor(requestId: string) {
  const listener = new Redis(inject("redisUrl"));
  const messages: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  listener.on("smessage", (_channel: string, message: string) => {
    for (const record of message.split(replyRecordSeparator))
      if (record.startsWith(`${requestId}\t`)) messages.push(record);
    for (const waiter of waiters) if (messages.length >= waiter.count) waiter.resolve();
  });
  await listener.ssubscribe(hub.channel);
  const heard = (count: number) =>
    new Promise<void>((resolve) => (messages.length >= count ? resolve() : waiters.push({ count, resolve })));
  return { listener, messages, heard };
}

function relayFor(requestId: string, attempt = 1): RequestRelay {
  return new RequestRelay({
    batcher,
    keys,
    requestId,
    ingressId,
    replyChannel: hub.channel,
    attempt,
    onNoListener: () => {},
    noListenerGraceMs: 500,
  });
}

describe("ReplyHub", () => {
  it("delivers published events once and in order", async () => {
    const sink = recorder(50);
    hub.register("inorder", sink);
    const relay = relayFor("inorder");
    for (let index = 0; index < 50; index++) void relay.emit(encodeDelta({ content: `t${index}` }));
    await sink.done;
    expect(sink.frames.map((entry) => entry.position.seq)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
  });

  it("sends the events of one turn as one message, each logged under its own id, and a lone event at once", async () => {
    const sink = recorder(4);
    hub.register("batched", sink);
    const { listener, messages, heard } = await listenFor("batched");
    try {
      const relay = relayFor("batched");
      // A non-streamed answer and its end come in one turn.
      const written = [
        relay.emit(encodeDelta({ content: "whole\nanswer" })),
        relay.emit(encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null })),
      ];
      expect(await Promise.all(written)).toEqual([2, 2]);
      // A later turn's event is its own message, sent without waiting for another.
      await relay.emit(encodeDelta({ content: "later" }));
      await relay.emit(encodeDelta({ content: "last" }));
      await sink.done;
      expect(sink.frames.map((entry) => `${entry.position.seq} ${entry.frame}`)).toEqual([
        '1 d{"content":"whole\\nanswer"}',
        '2 f{"finish_reason":"stop","usage":null}',
        '3 d{"content":"later"}',
        '4 d{"content":"last"}',
      ]);
      await heard(3);
      expect(messages.map((message) => message.split("\t")[2])).toEqual(["1", "3", "4"]);
      const log = (await reader.xrange(keys.log(ingressId, "batched"), "-", "+")) as Array<[string, string[]]>;
      expect(log.map(([id, fields]) => `${id} ${fields[1]}`)).toEqual(
        sink.frames.map((entry) => `1-${entry.position.seq} ${entry.frame}`),
      );
    } finally {
      listener.disconnect();
    }
  });

  it("logs a quiet event at once and publishes it with the request's next event", async () => {
    const sink = recorder(2);
    hub.register("quiet", sink);
    const { listener, messages, heard } = await listenFor("quiet");
    try {
      const relay = relayFor("quiet");
      expect(await relay.emitQuietly(encodeRelayEvent({ kind: "started", worker: "w1" }))).toBe(-1);
      const log = (await reader.xrange(keys.log(ingressId, "quiet"), "-", "+")) as Array<[string, string[]]>;
      expect(log.map(([id, fields]) => `${id} ${fields[1]}`)).toEqual(['1-1 s{"worker":"w1"}']);
      expect(await relay.emit(encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null }))).toBe(2);
      await sink.done;
      expect(sink.frames.map((entry) => `${entry.position.seq} ${entry.frame[0]}`)).toEqual(["1 s", "2 f"]);
      await heard(1);
      expect(messages).toEqual([`quiet\t1\t1\ts{"worker":"w1"}\nf{"finish_reason":"stop","usage":null}`]);
    } finally {
      listener.disconnect();
    }
  });

  it("repairs a gap before a message that carries several events", async () => {
    const sink = recorder(3);
    hub.register("gap-batch", sink);
    await logOnly("gap-batch", { attempt: 1, seq: 1 }, encodeDelta({ content: "a" }));
    await writer.xadd(keys.log(ingressId, "gap-batch"), "1-2", "f", encodeDelta({ content: "b" }));
    await writer.xadd(keys.log(ingressId, "gap-batch"), "1-3", "f", encodeDelta({ content: "c" }));
    await writer.spublish(
      hub.channel,
      encodeReplyRecord("gap-batch", { attempt: 1, seq: 2 }, [
        encodeDelta({ content: "b" }),
        encodeDelta({ content: "c" }),
      ]),
    );
    await sink.done;
    expect(sink.frames.map((entry) => `${entry.position.seq} ${entry.frame}`)).toEqual([
      '1 d{"content":"a"}',
      '2 d{"content":"b"}',
      '3 d{"content":"c"}',
    ]);
  });

  it("repairs a gap from the log when a later event arrives first", async () => {
    const sink = recorder(3);
    hub.register("gap", sink);
    await logOnly("gap", { attempt: 1, seq: 1 }, encodeDelta({ content: "a" }));
    await logOnly("gap", { attempt: 1, seq: 2 }, encodeDelta({ content: "b" }));
    await writer.xadd(keys.log(ingressId, "gap"), "1-3", "f", encodeDelta({ content: "c" }));
    await writer.spublish(
      hub.channel,
      encodeReplyRecord("gap", { attempt: 1, seq: 3 }, [encodeDelta({ content: "c" })]),
    );
    await sink.done;
    expect(sink.frames.map((entry) => entry.frame)).toEqual([
      'd{"content":"a"}',
      'd{"content":"b"}',
      'd{"content":"c"}',
    ]);
  });

  it("finds a lost last event when the request has been idle", async () => {
    const sink = recorder(1);
    hub.register("idle", sink);
    await logOnly(
      "idle",
      { attempt: 1, seq: 1 },
      encodeRelayEvent({ kind: "finish", finishReason: "stop", usage: null }),
    );
    await sink.done;
    expect(sink.frames[0]!.frame.startsWith("f")).toBe(true);
  });

  it("drops duplicates and events of a superseded attempt, and follows a new attempt", async () => {
    const sink = recorder(3);
    hub.register("attempts", sink);
    const first = relayFor("attempts", 1);
    await first.emit(encodeRelayEvent({ kind: "started", worker: "w1" }));
    await writer.spublish(hub.channel, encodeReplyRecord("attempts", { attempt: 1, seq: 1 }, ['s{"worker":"w1"}']));
    const second = relayFor("attempts", 2);
    await second.emit(encodeRelayEvent({ kind: "started", worker: "w2" }));
    await writer.spublish(
      hub.channel,
      encodeReplyRecord("attempts", { attempt: 1, seq: 2 }, [encodeDelta({ content: "stale" })]),
    );
    await second.emit(encodeDelta({ content: "fresh" }));
    await sink.done;
    expect(sink.frames.map((entry) => `${entry.position.attempt}-${entry.position.seq}`)).toEqual([
      "1-1",
      "2-1",
      "2-2",
    ]);
  });
});

describe("ReplyHub.catchUp", () => {
  /** A hub whose idle repair never runs in a test's time: only catchUp reads the log. */
  async function quietHub(reader: RedisConnection, ingressId: string) {
    const quietSubscriber = new Redis(inject("redisUrl"));
    const quiet = new ReplyHub({
      subscriber: quietSubscriber,
      reader,
      keys,
      ingressId,
      idleRepairMs: 600_000,
      onError: (error) => {
        throw error;
      },
    });
    await quiet.start();
    return {
      hub: quiet,
      close: async () => {
        await quiet.close();
        quietSubscriber.disconnect();
      },
    };
  }

  it("delivers a started event that pub/sub never brought, before it resolves", async () => {
    const { hub: quiet, close } = await quietHub(reader, "hub-catch-up");
    try {
      const sink = recorder(1);
      quiet.register("unheard", sink);
      // Published while nobody listened on the hub's channel: in the log only.
      const relay = new RequestRelay({
        batcher,
        keys,
        requestId: "unheard",
        ingressId: "hub-catch-up",
        replyChannel: `${quiet.channel}:nobody`,
        attempt: 1,
        onNoListener: () => {},
        noListenerGraceMs: 60_000,
      });
      expect(await relay.emit(encodeRelayEvent({ kind: "started", worker: "w1" }))).toBe(0);
      relay.close();
      expect(sink.frames).toHaveLength(0);
      await quiet.catchUp("unheard");
      expect(sink.frames.map((entry) => `${entry.position.attempt}-${entry.position.seq} ${entry.frame[0]}`)).toEqual([
        "1-1 s",
      ]);
      // Nothing twice: a second read finds the event already delivered.
      await quiet.catchUp("unheard");
      expect(sink.frames).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it("rejects at once when Redis cannot be read, so its caller can still answer", async () => {
    const unreachable = createRedisClient(
      `redis://127.0.0.1:${await freePort()}`,
      "command",
      "hub-test-unreachable",
      {},
      { commandTimeoutMs: 750 },
    );
    unreachable.on("error", () => {});
    const { hub: quiet, close } = await quietHub(unreachable, "hub-catch-up-down");
    try {
      quiet.register("down", recorder(1));
      const startedAt = Date.now();
      await expect(quiet.catchUp("down")).rejects.toThrow();
      expect(Date.now() - startedAt).toBeLessThan(750);
    } finally {
      await close();
      unreachable.disconnect();
    }
  });
});
