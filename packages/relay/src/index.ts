// @switchboard/relay: how token events travel from a worker to the ingress that owns the request.
export { relayKeys, type RelayKeys } from "./keys.ts";
export { createRedisClient, redactUrl, waitForRedis, type RedisRole } from "./redis-client.ts";
export { RequestRelay, defineRelayCommands, earlierAttemptRelayedOutput, type RequestRelayOptions } from "./relay-writer.ts";
export { ReplyHub, type ReplyHubOptions, type ReplySink } from "./reply-hub.ts";
export { broadcastCancel, isCancelled, listenForCancels } from "./cancellation.ts";
export { RecentCancels } from "./recent-cancels.ts";
export { countLiveWorkers, startHeartbeat } from "./presence.ts";
