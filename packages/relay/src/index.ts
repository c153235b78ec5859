// @switchboard/relay: how token events travel from a worker to the ingress that owns the request.
export { relayKeys, type RelayKeys } from "./keys.ts";
export { redactUrl } from "@switchboard/protocol";
export {
  createRedisClient,
  redisTopology,
  waitForRedis,
  type RedisConnection,
  type RedisRole,
} from "./redis-client.ts";
export { countSubscribersOf } from "./subscriber-count.ts";
export { RequestRelay, earlierAttemptRelayedOutput } from "./relay-writer.ts";
export { RelayBatcher, defineRelayCommands } from "./relay-batcher.ts";
export { ReplyHub, type ReplySink } from "./reply-hub.ts";
export { CancelBroadcaster, cancelReason, listenForCancels } from "./cancellation.ts";
export { claimConversationTurn, defineSupersessionCommands, listenForSupersessions } from "./supersession.ts";
export {
  appendTimeline,
  readTimeline,
  type AttemptRecord,
  type TimelineRecord,
  type TimelineTurn,
  type TurnRecord,
} from "./timeline.ts";
export { RecentCancels } from "./recent-cancels.ts";
export { TurnQueue } from "./turn-queue.ts";
export { countLiveWorkers, countWorkerSlots, startHeartbeat } from "./presence.ts";
export { corkConnectionUntilNextTurn } from "./turn-cork.ts";
