// `node test/bench/relay-overhead.ts`: worker-side CPU per relayed event, on an ioredis
// auto-pipelining connection (a Cluster's: the batch of a turn leaves at setImmediate) vs one corked
// per turn (turn-cork.ts: the batch is written just before the socket is uncorked), in alternating
// rounds within one process against REDIS_URL. Either way the events of one turn are one script
// (relay-batcher.ts). As in a worker, each stream's event is emitted from its own callback
// (a worker gets each token from its own socket read). See docs/performance.md.
import { Redis } from "ioredis";
import { RelayBatcher, RequestRelay, defineRelayCommands, relayKeys } from "@switchboard/relay";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const streams = Number(process.env.STREAMS ?? "200");
const events = 22;
const rounds = Number(process.env.ROUNDS ?? "6");
const keys = relayKeys(`sbrelaybench-${process.pid}`);
// The relay batcher leaves an auto-pipelining connection's socket alone (relay-batcher.ts).
const clients = { "auto-pipelined": new Redis(url, { enableAutoPipelining: true }), "corked per turn": new Redis(url) };
for (const client of Object.values(clients)) defineRelayCommands(client);
const batchers = new Map(
  Object.values(clients).map((redis) => [redis, new RelayBatcher({ redis, logTtlMs: 10_000 })] as const),
);

const results: Record<string, number[]> = {};
for (let round = 0; round < rounds; round++) {
  for (const [variant, [label, redis]] of Object.entries(clients).entries()) {
    const before = process.cpuUsage();
    // Streams interleave as they would in a worker: every stream emits one event per turn, each
    // from its own callback.
    const relays = Array.from(
      { length: streams },
      (_, index) =>
        new RequestRelay({
          batcher: batchers.get(redis) as RelayBatcher,
          keys,
          requestId: `r${round}-${variant}-${index}`,
          ingressId: "nobody",
          replyChannel: keys.replyChannel("nobody"),
          attempt: 1,
          onNoListener: () => {},
          noListenerGraceMs: 60_000,
        }),
    );
    for (let event = 0; event < events; event++) {
      await Promise.all(
        relays.map(
          (relay) =>
            new Promise((resolve) => setImmediate(() => resolve(relay.emit(`d{"content":"token ${event} "}`)))),
        ),
      );
    }
    for (const relay of relays) relay.close();
    const used = process.cpuUsage(before);
    if (round > 0) (results[label] ??= []).push(((used.user + used.system) / 1000 / (streams * events)) * 1000);
  }
}
for (const [label, values] of Object.entries(results)) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(20)} CPU per relayed event: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} µs (${streams} streams x ${events} events, ${values.length} rounds)`,
  );
}
const cleanup = new Redis(url);
for (let round = 0; round < rounds; round++)
  for (let index = 0; index < streams; index++)
    await cleanup.del(...Object.keys(clients).map((_, variant) => keys.log("nobody", `r${round}-${variant}-${index}`)));
cleanup.disconnect();
for (const client of Object.values(clients)) client.disconnect();
