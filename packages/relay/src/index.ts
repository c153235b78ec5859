// @switchboard/relay: how token events travel from a worker to the ingress that owns the request.
export { relayKeys, type RelayKeys } from "./keys.ts";
export {
  createRedisClient,
  redactUrl,
  redisTopology,
  waitForRedis,
  type RedisClientOptions,
  type RedisConnection,
  type RedisRole,
  type RedisTopology,
} from "./redis-client.ts";
export { countSubscribers, countSubscribersOf, type ChannelKind } from "./subscriber-count.ts";
export { RequestRelay, earlierAttemptRelayedOutput, type RequestRelayOptions } from "./relay-writer.ts";
export { RelayBatcher, defineRelayCommands, type RelayBatcherOptions } from "./relay-batcher.ts";
export { ReplyHub, type ReplyHubOptions, type ReplySink } from "./reply-hub.ts";
export { broadcastCancel, isCancelled, listenForCancels } from "./cancellation.ts";
export { RecentCancels } from "./recent-cancels.ts";
export { TurnQueue, type TurnBudget } from "./turn-queue.ts";
export { countLiveWorkers, startHeartbeat } from "./presence.ts";
export { corkConnectionUntilNextTurn } from "./turn-cork.ts";
