// Every Redis key and channel the relay uses, in one place. A request's log and its ingress's reply
// channel share the hash tag {ingressId}: one relay script writes the logs of many requests of one
// ingress and publishes to it (sharded pub/sub), so on a Redis Cluster it touches one slot, and the
// ingresses spread over the shards. The cancel flag keeps the hash tag {requestId}. The BullMQ queue
// uses the braced prefix {prefix}: every key of one queue must share one slot (one queue = one
// shard), and the braces are harmless on a single Redis, so they are always there.
export interface RelayKeys {
  prefix: string;
  /** The request's event log (a Redis Stream with a TTL), in the slot of its ingress's reply channel. */
  log(ingressId: string, requestId: string): string;
  /** Set when the client went away, so a job that starts late does not call the upstream. */
  cancelFlag(requestId: string): string;
  /** The one (sharded) channel an ingress instance listens on for all its requests. */
  replyChannel(ingressId: string): string;
  /** Broadcast to every worker: "stop this request". */
  cancelChannel: string;
  /** Sorted set of live workers, scored by their last heartbeat (epoch ms). */
  workers: string;
  /** Hash of worker id -> its job slots (WORKER_CONCURRENCY), for the ingress's per-key share. */
  workerSlots: string;
  /** BullMQ's `prefix` option: the key prefix as a hash tag, e.g. `{switchboard}` (keys `{switchboard}:chat:wait`, …). */
  queuePrefix: string;
  /** A channel each worker subscribes to while it lives: no subscriber means the process is gone. */
  workerChannel(workerId: string): string;
  /** The request currently answering a conversation (scope: the caller's key id, or "open"). */
  conversationTurn(scope: string, conversationId: string): string;
  /** Broadcast to every ingress: "end this request, a newer turn replaced it". */
  supersedeChannel: string;
  /** A conversation's timeline: a list of turn and attempt records (timeline.ts). */
  timeline(conversationId: string): string;
}

export function relayKeys(prefix: string): RelayKeys {
  return {
    prefix,
    log: (ingressId, requestId) => `${prefix}:req:{${ingressId}}:${requestId}:log`,
    cancelFlag: (requestId) => `${prefix}:req:{${requestId}}:cancel`,
    replyChannel: (ingressId) => `${prefix}:reply:{${ingressId}}`,
    cancelChannel: `${prefix}:cancel`,
    workers: `${prefix}:workers`,
    workerSlots: `${prefix}:worker-slots`,
    queuePrefix: `{${prefix}}`,
    workerChannel: (workerId) => `${prefix}:worker:${workerId}`,
    conversationTurn: (scope, conversationId) => `${prefix}:conv:{${scope}:${conversationId}}:turn`,
    supersedeChannel: `${prefix}:supersede`,
    timeline: (conversationId) => `${prefix}:conv:{${conversationId}}:timeline`,
  };
}
