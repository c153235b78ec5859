// How many connections listen on a channel, wherever they are connected. PUBSUB NUMSUB answers for
// the node it runs on; on a Redis Cluster classic pub/sub is broadcast to every node and a
// subscriber may sit on any of them (ioredis picks one at random), so the count is summed over every
// node, masters and replicas. A node that does not answer counts as none; if none answers, it throws.
import { Cluster } from "ioredis";
import type { RedisConnection } from "./redis-client.ts";

export async function countSubscribers(redis: RedisConnection, channel: string): Promise<number> {
  const nodes = redis instanceof Cluster ? redis.nodes("all") : [redis];
  const replies = await Promise.allSettled(nodes.map((node) => node.pubsub("NUMSUB", channel)));
  const answered = replies.filter((reply) => reply.status === "fulfilled");
  if (answered.length === 0) throw new Error(`no Redis node answered PUBSUB NUMSUB ${channel}`);
  return answered.reduce((sum, reply) => sum + Number((reply.value as [string, number])[1]), 0);
}
