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

/** The corked sockets, each with what is to run just before it is uncorked. */
const corked = new WeakMap<Corkable, Array<() => void>>();

/**
 * Cork the socket until the end of this event-loop turn's poll phase (no-op if already so).
 * `beforeUncork` runs then, just before the socket is uncorked: what it writes leaves with the rest
 * (it runs even when there is no socket yet, at the same moment). It must not throw.
 */
export function corkUntilNextTurn(socket: Corkable | undefined, beforeUncork?: () => void): void {
  if (!socket) {
    if (beforeUncork) setImmediate(beforeUncork);
    return;
  }
  let runs = corked.get(socket);
  if (!runs) {
    const thisTurn: Array<() => void> = (runs = []);
    corked.set(socket, thisTurn);
    socket.cork();
    setImmediate(() => {
      corked.delete(socket);
      try {
        for (const run of thisTurn) run();
      } finally {
        socket.uncork();
      }
    });
  }
  if (beforeUncork) runs.push(beforeUncork);
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
