// How many connections listen on channels, wherever they are connected. PUBSUB NUMSUB answers for
// the node it runs on; on a Redis Cluster classic pub/sub is broadcast to every node and a
// subscriber may sit on any of them (ioredis picks one at random), so the count is summed over every
// node, masters and replicas. A node that does not answer counts as none; if none answers, it throws.
import { Cluster } from "ioredis";
import type { RedisConnection } from "./redis-client.ts";

/** Subscriber counts of several channels, in one PUBSUB NUMSUB per node. */
export async function countSubscribersOf(redis: RedisConnection, channels: string[]): Promise<Map<string, number>> {
  const counts = new Map(channels.map((channel) => [channel, 0]));
  if (channels.length === 0) return counts;
  const nodes = redis instanceof Cluster ? redis.nodes("all") : [redis];
  const replies = await Promise.allSettled(nodes.map((node) => node.pubsub("NUMSUB", ...channels)));
  const answered = replies.filter((reply) => reply.status === "fulfilled");
  if (answered.length === 0) throw new Error(`no Redis node answered PUBSUB NUMSUB ${channels.join(" ")}`);
  for (const reply of answered) {
    const pairs = reply.value as Array<string | number>;
    for (let index = 0; index < pairs.length; index += 2) {
      const channel = String(pairs[index]);
      counts.set(channel, (counts.get(channel) ?? 0) + Number(pairs[index + 1]));
    }
  }
  return counts;
}

export async function countSubscribers(redis: RedisConnection, channel: string): Promise<number> {
  return (await countSubscribersOf(redis, [channel])).get(channel) ?? 0;
}
