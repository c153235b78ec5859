// The writes of one event-loop turn, sent in one system call. A worker relays one small command per
// token, and the tokens of its many streams arrive in separate socket reads of one poll phase: with
// the relay socket corked until setImmediate (the check phase, right after the poll phase), they
// leave together in one writev instead of one write each. A lone token waits for nothing: its poll
// phase ends with it. The same holds for the queue's commands: the jobs an ingress adds, and the
// jobs a worker finishes, in one poll phase.
import type { Socket } from "node:net";
import { Cluster, type Redis } from "ioredis";
import type { RedisConnection } from "./redis-client.ts";

type Corkable = Pick<Socket, "cork" | "uncork">;

const corked = new WeakSet<Corkable>();

/** Cork the socket until the end of this event-loop turn's poll phase (no-op if already so). */
export function corkUntilNextTurn(socket: Corkable | undefined): void {
  if (!socket || corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  setImmediate(() => {
    corked.delete(socket);
    socket.uncork();
  });
}

/**
 * Does this connection send a turn's commands together when corked? Not a Cluster's (its node
 * sockets are its own) nor an auto-pipelined one (ioredis batches those itself).
 */
export function corksTurns(redis: RedisConnection): boolean {
  return !(redis instanceof Cluster) && !redis.options.enableAutoPipelining;
}

/** Commands sent on this connection from now to the end of the turn leave in one system call. */
export function corkConnectionUntilNextTurn(redis: RedisConnection): void {
  if (corksTurns(redis)) corkUntilNextTurn((redis as Redis).stream);
}
