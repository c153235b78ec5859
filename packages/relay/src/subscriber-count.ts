// How many connections listen on channels, wherever they are connected. PUBSUB NUMSUB (classic
// channels: the workers' presence channels) and PUBSUB SHARDNUMSUB (sharded channels: the ingresses'
// reply channels) answer for the node they run on. On a Redis Cluster a classic subscriber may sit
// on any node (ioredis picks one at random) and a sharded one on its slot's primary, so the count is
// summed over every node, primaries and replicas. A node that does not answer counts as none; if
// none answers, it throws.
import { Cluster } from "ioredis";
import type { RedisConnection } from "./redis-client.ts";

/** Classic pub/sub (SUBSCRIBE/PUBLISH) or sharded pub/sub (SSUBSCRIBE/SPUBLISH). */
export type ChannelKind = "classic" | "sharded";

const countCommand = { classic: "NUMSUB", sharded: "SHARDNUMSUB" } as const;

/** Subscriber counts of several channels, in one PUBSUB NUMSUB (or SHARDNUMSUB) per node. */
export async function countSubscribersOf(
  redis: RedisConnection,
  channels: string[],
  kind: ChannelKind = "classic",
): Promise<Map<string, number>> {
  const counts = new Map(channels.map((channel) => [channel, 0]));
  if (channels.length === 0) return counts;
  const nodes = redis instanceof Cluster ? redis.nodes("all") : [redis];
  const command = countCommand[kind];
  const replies = await Promise.allSettled(
    nodes.map((node) => (command === "NUMSUB" ? node.pubsub(command, ...channels) : node.pubsub(command, ...channels))),
  );
  const answered = replies.filter((reply) => reply.status === "fulfilled");
  if (answered.length === 0) throw new Error(`no Redis node answered PUBSUB ${command} ${channels.join(" ")}`);
  for (const reply of answered) {
    const pairs = reply.value as Array<string | number>;
    for (let index = 0; index < pairs.length; index += 2) {
      const channel = String(pairs[index]);
      counts.set(channel, (counts.get(channel) ?? 0) + Number(pairs[index + 1]));
    }
  }
  return counts;
}

export async function countSubscribers(
  redis: RedisConnection,
  channel: string,
  kind: ChannelKind = "classic",
): Promise<number> {
  return (await countSubscribersOf(redis, [channel], kind)).get(channel) ?? 0;
}
