// `node test/bench/relay-batching.ts`: CPU per relayed event of the relay alone — the worker's
// writer, Redis, and the ingress's reply hub delivering to sinks — when each event-loop turn carries
// the tokens of 1, 10 or 50 requests, for this checkout and (RELAY_COMPARE_BASE=<another checkout>)
// another, in alternating rounds in one process against a private redis-server. Writer and hub run
// in this process (their CPU is summed, from process.cpuUsage); Redis's CPU is read from /proc. The
// full stack's figures come from `npm run bench:compare`; this one isolates the relay from the
// upstream calls, the queue and HTTP, whose cost swamps it on a shared machine.
//   RELAY_COMPARE_BASE=../base node test/bench/relay-batching.ts
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { startRedis } from "./bench-stack.ts";
import { cpuTimeMs } from "./process-stats.ts";

const streams = 200;
const eventsPerRequest = Number(process.env.RELAY_EVENTS ?? "50");
const rounds = Number(process.env.ROUNDS ?? "5");
const perTurnCases = [1, 10, 50];

/** The relay API of either version: the one this checkout has, or the one before batching. */
interface RelayModule {
  relayKeys(prefix: string): { log(...ids: string[]): string; replyChannel(ingressId: string): string };
  defineRelayCommands(redis: Redis): void;
  RequestRelay: new (options: Record<string, unknown>) => { emit(frame: string): Promise<number> };
  RelayBatcher?: new (options: Record<string, unknown>) => unknown;
  ReplyHub: new (
    options: Record<string, unknown>,
  ) => {
    start(): Promise<void>;
    close(): Promise<void>;
    register(id: string, sink: { onFrame(frame: string): void }): void;
    unregister(id: string): void;
  };
}

const redis = await startRedis();
const sides: Array<{ label: string; relay: RelayModule }> = [
  { label: "head", relay: (await import("@switchboard/relay")) as unknown as RelayModule },
];
if (process.env.RELAY_COMPARE_BASE) {
  const root = resolve(process.env.RELAY_COMPARE_BASE);
  sides.unshift({
    label: "base",
    relay: (await import(join(root, "packages", "relay", "src", "index.ts"))) as RelayModule,
  });
}

/** One measurement: CPU µs per event (this process, Redis). */
async function measure(
  side: { label: string; relay: RelayModule },
  perTurn: number,
  round: number,
): Promise<{ client: number; redis: number }> {
  const { relay } = side;
  const prefix = `sbrelaybatch-${process.pid}-${side.label}-${perTurn}-${round}`;
  const keys = relay.relayKeys(prefix);
  const ingressId = "bench";
  const writer = new Redis(redis.url);
  const subscriber = new Redis(redis.url);
  const reader = new Redis(redis.url);
  relay.defineRelayCommands(writer);
  const hub = new relay.ReplyHub({ subscriber, reader, keys, ingressId, idleRepairMs: 600_000, onError: () => {} });
  await hub.start();
  const channel = keys.replyChannel(ingressId);
  const batcher = relay.RelayBatcher ? new relay.RelayBatcher({ redis: writer, logTtlMs: 60_000 }) : undefined;
  let delivered = 0;
  let allDelivered: () => void = () => {};
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  const total = streams * eventsPerRequest;
  const relays = Array.from({ length: streams }, (_, index) => {
    const requestId = `r${index}`;
    hub.register(requestId, {
      onFrame: () => {
        if (++delivered === total) allDelivered();
      },
    });
    return new relay.RequestRelay(
      batcher
        ? {
            batcher,
            keys,
            requestId,
            ingressId,
            replyChannel: channel,
            attempt: 1,
            onNoListener: () => {},
            noListenerGraceMs: 60_000,
            // As the worker relays: the log's time to live set where it opens and ends (a version
            // without the option sets it with every record).
            deadlineAt: Date.now() + 60_000,
          }
        : {
            redis: writer,
            keys,
            requestId,
            replyChannel: channel,
            attempt: 1,
            logTtlMs: 60_000,
            onNoListener: () => {},
            noListenerGraceMs: 60_000,
          },
    );
  });
  const redisBefore = cpuTimeMs(redis.pid ?? 0);
  const before = process.cpuUsage();
  // Each turn: `perTurn` requests relay one token each, as a worker does when that many upstream
  // reads land in one poll phase; every request relays eventsPerRequest tokens in all.
  for (let event = 0; event < eventsPerRequest; event++) {
    for (let first = 0; first < streams; first += perTurn) {
      const writes = relays
        .slice(first, first + perTurn)
        .map((request) => request.emit(`d{"content":"token ${event} "}`));
      await Promise.all(writes);
    }
  }
  await done;
  const used = process.cpuUsage(before);
  const redisUsed = cpuTimeMs(redis.pid ?? 0) - redisBefore;
  await hub.close();
  for (const client of [writer, subscriber, reader]) client.disconnect();
  return { client: (used.user + used.system) / total, redis: (redisUsed * 1000) / total };
}

const results = new Map<string, Array<{ client: number; redis: number }>>();
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const perTurn of perTurnCases)
      for (const side of order) {
        const figures = await measure(side, perTurn, round);
        const key = `${side.label} ${perTurn}`;
        if (round > 0) results.set(key, [...(results.get(key) ?? []), figures]);
      }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  console.log(
    `relay CPU per event, µs (median of ${rounds - 1} rounds; ${streams} requests x ${eventsPerRequest} events)`,
  );
  console.table(
    [...results].map(([key, values]) => ({
      "side, requests per turn": key,
      "writer + hub": Number(median(values.map((value) => value.client)).toFixed(1)),
      redis: Number(median(values.map((value) => value.redis)).toFixed(1)),
      total: Number(median(values.map((value) => value.client + value.redis)).toFixed(1)),
    })),
  );
} finally {
  await redis.stop();
}
